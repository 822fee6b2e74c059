"""The optional LLM judge seam: settles borderline items. Interface only; the default path never uses it.

A judge is offered an item that the rules did not find met but where some utterance came close in
meaning (a borderline semantic match). It answers with a Verdict, or None to leave the item as it is.
An implementation through the inference core can live beside the LLM backends; the grader only needs
this protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vpatient.grading.detectors import Hit
from vpatient.grading.schema import Item
from vpatient.transcript import Transcript


@dataclass(frozen=True)
class Verdict:
    met: bool
    turn: int
    """The transcript turn the verdict rests on."""
    rationale: str


class Judge(Protocol):
    name: str

    def settle(self, item: Item, transcript: Transcript, candidates: list[Hit]) -> Verdict | None:
        """Decide a borderline item from its candidate turns; None = no opinion (the rules stand)."""
        ...
