"""Generic evidence matching: acts, regex patterns, phrases, example utterances (MiniLM), detectors, and
where in the consultation the evidence may be."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from vpatient.grading.analysis import Analysis, Clause
from vpatient.grading.detectors import DETECTORS, Hit, clause_ok
from vpatient.grading.schema import Act, Evidence

Encode = Callable[[Sequence[str]], np.ndarray]

MIN_OPENING_TURNS = 6
"""before_fraction never cuts a consultation shorter than this many turns (short ones keep their opening)."""

MIN_WORDS_FOR_MEANING = 3
"""Clauses shorter than this ('OK.', 'Right, yes.') are not matched by meaning."""

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
    outside: list[Hit] = field(default_factory=list)
    """Hits that fell outside the ordering window (before/after constraints)."""


Order = tuple[int, int]


def _allowed_turns(an: Analysis, ev: Evidence) -> set[int]:
    turns = an.speaker_turns(ev.speaker)
    if ev.first_turns:
        turns = turns[: ev.first_turns]
    if ev.after_fraction:
        cutoff = ev.after_fraction * len(an)
        turns = [t for t in turns if t >= cutoff]
    if ev.before_fraction < 1.0:
        limit = max(MIN_OPENING_TURNS, ev.before_fraction * len(an))
        turns = [t for t in turns if t < limit]
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


def find(
    ce: CompiledEvidence,
    an: Analysis,
    encode: Encode | None,
    after: Order | None = None,
    before: Order | None = None,
) -> Matches:
    """Every hit of `ce` strictly between `after` and `before` (turn, clause) positions, the hits outside that
    window, and borderline near-misses by meaning. Matching by meaning is done only inside the window and only
    when the rules have not already found the item."""
    ev = ce.ev
    allowed = _allowed_turns(an, ev)

    def inside(order: Order) -> bool:
        return (after is None or order > after) and (before is None or order < before)

    hits: list[Hit] = []
    borderline: list[Hit] = []
    if ev.detector is not None:
        hits += [h for h in DETECTORS[ev.detector](an, ev) if h.turn in allowed and not ce.excluded(h.quote)]
    has_matchers = bool(ce.patterns or ce.phrases or ce.examples or ev.any_acts)
    if not has_matchers and ev.detector is not None:
        return _split(hits, [], inside)
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
        elif ce.examples and len(unit.core.split()) >= MIN_WORDS_FOR_MEANING and inside(unit.order):
            pending.append(unit)
    if any(inside(h.order) for h in hits):
        pending = []  # already met by rule; matching by meaning would only add evidence (and cost time)
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
    return _split(hits, borderline, inside)


def _split(hits: list[Hit], borderline: list[Hit], inside: Callable[[Order], bool]) -> Matches:
    ordered = sorted(set(hits), key=lambda h: h.order)
    return Matches(
        [h for h in ordered if inside(h.order)],
        sorted(borderline, key=lambda h: h.order),
        [h for h in ordered if not inside(h.order)],
    )
