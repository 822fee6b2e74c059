"""Generic evidence matching: acts, regex patterns, phrases, example utterances (MiniLM), detectors, and
where in the consultation the evidence may be."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vpatient.grading.analysis import Analysis, Clause
from vpatient.grading.detectors import DETECTORS, Hit, clause_ok
from vpatient.grading.schema import Act, Evidence

Encode = Callable[[Sequence[str]], np.ndarray]

BORDERLINE_MARGIN = 0.06
"""Semantic matches this close below the threshold are 'borderline' (offered to an optional judge)."""


class CompiledEvidence:
    """An evidence spec with its regexes compiled and its examples embedded (once per rubric)."""

    def __init__(self, ev: Evidence):
        self.ev = ev
        self.patterns = [re.compile(p, re.I) for p in ev.patterns]
        self.phrases = [re.compile(r"(?<!\w)" + re.escape(p) + r"(?!\w)", re.I) for p in ev.phrases]
        self.exclude = [re.compile(p, re.I) for p in ev.exclude]
        self.examples = list(ev.examples)
        self.example_vectors: np.ndarray | None = None

    def embed_examples(self, encode_many: Encode) -> None:
        if self.examples and self.example_vectors is None:
            self.example_vectors = encode_many(self.examples)

    def excluded(self, text: str) -> bool:
        return any(rx.search(text) for rx in self.exclude)

    def literal_match(self, text: str) -> str | None:
        for rx in self.patterns:
            m = rx.search(text)
            if m:
                return m.group(0)
        for rx in self.phrases:
            m = rx.search(text)
            if m:
                return m.group(0)
        return None


@dataclass
class Matches:
    hits: list[Hit]
    borderline: list[Hit]


def _allowed_turns(an: Analysis, ev: Evidence) -> set[int]:
    turns = an.speaker_turns(ev.speaker)
    if ev.first_turns:
        turns = turns[: ev.first_turns]
    if ev.after_fraction:
        cutoff = ev.after_fraction * len(an)
        turns = [t for t in turns if t >= cutoff]
    return set(turns)


def _units(an: Analysis, ev: Evidence, allowed: set[int]) -> list[Clause]:
    if ev.scope == "turn":
        return [
            Clause(turn=t, index=0, text=an.texts[t], role=an.roles[t]) for t in sorted(allowed) if an.texts[t].strip()
        ]
    return [c for c in an.clauses if c.turn in allowed]


def _act(act: Act) -> str:
    return act.value.replace("_", " ")


def _short(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def find(ce: CompiledEvidence, an: Analysis, encode: Encode | None) -> Matches:
    """Every hit of `ce` in the transcript (before ordering constraints), plus borderline semantic near-misses."""
    ev = ce.ev
    allowed = _allowed_turns(an, ev)
    hits: list[Hit] = []
    borderline: list[Hit] = []
    if ev.detector is not None:
        hits += [h for h in DETECTORS[ev.detector](an, ev) if h.turn in allowed and not ce.excluded(h.quote)]
    has_matchers = bool(ce.patterns or ce.phrases or ce.examples or ev.any_acts)
    if not has_matchers and ev.detector is not None:
        return Matches(sorted(set(hits), key=lambda h: h.order), [])
    pending: list[Clause] = []
    for unit in _units(an, ev, allowed):
        if not clause_ok(unit, ev) or ce.excluded(unit.text):
            continue
        if not has_matchers:  # acts alone are the evidence
            hits.append(Hit(unit.turn, unit.index, _short(unit.text), "is " + " and ".join(_act(a) for a in ev.acts)))
            continue
        act = next((a for a in ev.any_acts if unit.has(a)), None)
        if act is not None:
            hits.append(Hit(unit.turn, unit.index, _short(unit.text), _act(act)))
            continue
        literal = ce.literal_match(unit.text)
        if literal is not None:
            hits.append(Hit(unit.turn, unit.index, _short(unit.text), f"says '{literal}'"))
        elif ce.examples:
            pending.append(unit)
    if pending and ce.examples and encode is not None and ce.example_vectors is not None:
        vectors = encode([u.core for u in pending])
        sims = vectors @ ce.example_vectors.T
        best = sims.argmax(axis=1)
        for unit, row, j in zip(pending, sims, best, strict=True):
            score = float(row[j])
            reason = f"close in meaning to '{ce.examples[j]}' ({score:.2f})"
            hit = Hit(unit.turn, unit.index, _short(unit.text), reason, similarity=score)
            if score >= ev.threshold:
                hits.append(hit)
            elif score >= ev.threshold - BORDERLINE_MARGIN:
                borderline.append(hit)
    return Matches(sorted(set(hits), key=lambda h: h.order), sorted(borderline, key=lambda h: h.order))
