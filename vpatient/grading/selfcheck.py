"""Does each rubric item recognise its own examples and reject its own counter-examples?

`vpatient rubric validate` runs this after the file has loaded: every example is put, alone, in a
one-turn consultation (a learner turn after a neutral patient turn) and matched against the item's
evidence (ordering constraints ignored); an example that does not trigger its item, or a
counter-example that does, is reported as a warning (the rubric still loads). Items decided by a
detector that needs the consultation around the turn (summary, greeting, jargon...) are checked only
when they list examples or counter-examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vpatient.embeddings import Embedder
from vpatient.grading.analysis import Analysis
from vpatient.grading.matching import CompiledEvidence, find
from vpatient.grading.schema import Rubric
from vpatient.transcript import Transcript, Turn

NEUTRAL_PATIENT = "Yes."


@dataclass(frozen=True)
class ExampleWarning:
    item: str
    field: str
    index: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"{self.item}: {self.field}[{self.index}] {self.text!r}: {self.message}"


def _one_turn(text: str) -> Analysis:
    return Analysis(Transcript(id="example", turns=[Turn("patient", NEUTRAL_PATIENT), Turn("learner", text)]))


def check_examples(rubric: Rubric, embedder: Embedder) -> list[ExampleWarning]:
    cache: dict[str, np.ndarray] = {}

    def encode(texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            for t, v in zip(missing, embedder.encode(missing), strict=True):
                cache[t] = v
        return np.stack([cache[t] for t in texts])

    out: list[ExampleWarning] = []
    for item in rubric.items():
        ce = CompiledEvidence(item.evidence)
        if not ce.by_meaning:
            continue
        ce.embed_examples(embedder.encode_many)
        for i, text in enumerate(item.evidence.examples):
            if not find(ce, _one_turn(text), encode).hits:
                out.append(
                    ExampleWarning(item.id, "examples", i, text, "does not trigger its own item (check acts/exclude)")
                )
        for i, text in enumerate(item.evidence.counter_examples):
            found = find(ce, _one_turn(text), encode).hits
            if found:
                why = found[0].reason
                out.append(ExampleWarning(item.id, "counter_examples", i, text, f"still triggers the item ({why})"))
    return out
