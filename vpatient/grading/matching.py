"""Generic evidence matching: acts, phrases, example and counter-example utterances (MiniLM), faculty
regular expressions (checked, time-bounded: vpatient.patterns), detectors, and where in the consultation
the evidence may be."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from vpatient.grading.analysis import MAX_WORDS_EMBEDDED, Analysis, Clause
from vpatient.grading.detectors import DETECTORS, Hit, clause_ok
from vpatient.grading.schema import Act, Evidence
from vpatient.patterns import FacultyPattern, compile_pattern

Encode = Callable[[Sequence[str]], np.ndarray]

MIN_OPENING_TURNS = 6
"""before_fraction never cuts a consultation shorter than this many turns (short ones keep their opening)."""

MIN_WORDS_FOR_MEANING = 3
"""Clauses shorter than this ('OK.', 'Right, yes.') are not matched by meaning."""

BORDERLINE_MARGIN = 0.06
"""Semantic matches this close below the threshold are 'borderline' (offered to an optional judge)."""


class CompiledEvidence:
    """An evidence spec with its patterns compiled and its examples embedded (once per rubric)."""

    def __init__(self, ev: Evidence):
        self.ev = ev
        self.patterns: list[FacultyPattern] = [compile_pattern(p) for p in ev.patterns]
        self.phrases: list[FacultyPattern] = [compile_pattern(p, literal=True) for p in ev.phrases]
        self.exclude: list[FacultyPattern] = [compile_pattern(p) for p in ev.exclude]
        self.examples = list(ev.examples)
        self.counter_examples = list(ev.counter_examples)
        self.example_vectors: np.ndarray | None = None
        self.counter_vectors: np.ndarray | None = None

    def embed_examples(self, encode_many: Encode) -> None:
        if self.examples and self.example_vectors is None:
            self.example_vectors = encode_many(self.examples)
        if self.counter_examples and self.counter_vectors is None:
            self.counter_vectors = encode_many(self.counter_examples)

    @property
    def by_meaning(self) -> bool:
        return bool(self.examples or self.counter_examples)

    def closest(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per row: best example similarity and index, best counter-example similarity and index."""
        n = vectors.shape[0]
        if self.example_vectors is not None:
            sims = vectors @ self.example_vectors.T
            ex, ex_i = sims.max(axis=1), sims.argmax(axis=1)
        else:
            ex, ex_i = np.full(n, -1.0), np.zeros(n, dtype=int)
        if self.counter_vectors is not None:
            sims = vectors @ self.counter_vectors.T
            cx, cx_i = sims.max(axis=1), sims.argmax(axis=1)
        else:
            cx, cx_i = np.full(n, -1.0), np.zeros(n, dtype=int)
        return ex, ex_i, cx, cx_i

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
    vetoed: list[Hit] = field(default_factory=list)
    """Rule hits rejected because they are closer in meaning to a counter-example."""


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
    window, and borderline near-misses by meaning. Hits found by rule (acts, phrases, patterns, detector) are
    vetoed when they are at least as close in meaning to a counter-example as to every example; matching by
    meaning is done only inside the window and only when the rules have not already found the item."""
    ev = ce.ev
    allowed = _allowed_turns(an, ev)
    meaning = encode is not None and ce.by_meaning

    def inside(order: Order) -> bool:
        return (after is None or order > after) and (before is None or order < before)

    hits: list[Hit] = []
    texts: list[str] = []  # what each rule hit is compared by meaning with
    borderline: list[Hit] = []
    vetoed: list[Hit] = []
    if ev.detector is not None:
        for h in DETECTORS[ev.detector](an, ev):
            if h.turn in allowed and not ce.excluded(h.quote):
                hits.append(h)
                texts.append(" ".join(h.quote.split()[:MAX_WORDS_EMBEDDED]))
    has_matchers = bool(ce.patterns or ce.phrases or ce.examples or ev.any_acts)
    pending: list[Clause] = []
    for unit in _units(an, ev, allowed) if (has_matchers or ev.detector is None) else []:
        if not clause_ok(unit, ev) or ce.excluded(unit.text):
            continue
        if not has_matchers:  # acts alone are the evidence
            hits.append(Hit(unit.turn, unit.index, _short(unit.text), "is " + " and ".join(_act(a) for a in ev.acts)))
            texts.append(unit.core)
            continue
        act = next((a for a in ev.any_acts if unit.has(a)), None)
        literal = None if act is not None else ce.literal_match(unit.text)
        if act is not None:
            hits.append(Hit(unit.turn, unit.index, _short(unit.text), _act(act)))
            texts.append(unit.core)
        elif literal is not None:
            hits.append(Hit(unit.turn, unit.index, _short(unit.text), f"says '{literal}'"))
            texts.append(unit.core)
        elif ce.examples and len(unit.core.split()) >= MIN_WORDS_FOR_MEANING and inside(unit.order):
            pending.append(unit)
    if meaning and hits and encode is not None:
        ex, ex_i, cx, cx_i = ce.closest(encode(texts))
        kept: list[Hit] = []
        for h, e, c, ci in zip(hits, ex, cx, cx_i, strict=True):
            if c >= ev.threshold and c >= e:
                why = f"closer in meaning to the counter-example '{ce.counter_examples[int(ci)]}' ({float(c):.2f})"
                vetoed.append(replace(h, reason=why, similarity=float(c)))
            else:
                kept.append(replace(h, similarity=float(e)) if ce.examples else h)
        hits = kept
    if any(inside(h.order) for h in hits):
        pending = []  # already met by rule; matching by meaning would only add evidence (and cost time)
    if pending and ce.examples and encode is not None:
        ex, ex_i, cx, cx_i = ce.closest(encode([u.core for u in pending]))
        for unit, e, ei, c in zip(pending, ex, ex_i, cx, strict=True):
            score = float(e)
            reason = f"close in meaning to '{ce.examples[int(ei)]}' ({score:.2f})"
            hit = Hit(unit.turn, unit.index, _short(unit.text), reason, similarity=score)
            if c >= score and c >= ev.threshold - BORDERLINE_MARGIN:
                continue  # nearer a counter-example: not even borderline
            if score >= ev.threshold:
                hits.append(hit)
            elif score >= ev.threshold - BORDERLINE_MARGIN:
                borderline.append(hit)
    out = _split(hits, borderline, inside)
    out.vetoed = sorted(vetoed, key=lambda h: h.order)
    return out


def _split(hits: list[Hit], borderline: list[Hit], inside: Callable[[Order], bool]) -> Matches:
    ordered = sorted(set(hits), key=lambda h: h.order)
    return Matches(
        [h for h in ordered if inside(h.order)],
        sorted(borderline, key=lambda h: h.order),
        [h for h in ordered if not inside(h.order)],
    )
