"""Communication metrics for the assessor: question types, talk time, interruptions, jargon, empathy."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from vpatient.grading import jargon as grading_jargon
from vpatient.grading.analysis import Analysis
from vpatient.language import acts as A
from vpatient.language import moves

OVERLAP_TOLERANCE = 0.5
"""Seconds of overlap ignored (transcription timing jitter)."""


@dataclass
class JargonUse:
    turn: int
    term: str
    explained: bool


@dataclass
class Metrics:
    learner_turns: int = 0
    patient_turns: int = 0
    learner_words: int = 0
    patient_words: int = 0
    questions: int = 0
    open_questions: int = 0
    closed_questions: int = 0
    empathic_statements: int = 0
    timed: bool = False
    """Whether every turn has start and end times (the talk-time and interruption figures need them)."""
    learner_seconds: float | None = None
    patient_seconds: float | None = None
    talk_time_ratio: float | None = None
    """The learner's share of the talk time, 0 to 1 (None without times)."""
    word_ratio: float | None = None
    """The learner's share of the words, 0 to 1 (None for an empty transcript)."""
    overlaps: int | None = None
    """Turns that start before the other speaker's turn has ended."""
    interruptions_by_learner: int | None = None
    """Learner turns that start while the patient is talking and carry on after the patient stops."""
    interruptions_by_patient: int | None = None
    jargon: list[JargonUse] = field(default_factory=list)

    @property
    def open_question_ratio(self) -> float | None:
        return self.open_questions / self.questions if self.questions else None

    @property
    def jargon_unexplained(self) -> int:
        return sum(1 for j in self.jargon if not j.explained)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["open_question_ratio"] = self.open_question_ratio
        out["jargon_unexplained"] = self.jargon_unexplained
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Metrics:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "jargon"}
        return cls(**known, jargon=[JargonUse(**j) for j in data.get("jargon", [])])


def compute(an: Analysis, extra_terms: Iterable[str] = (), ignore_terms: Iterable[str] = ()) -> Metrics:
    """The metrics of one consultation; jargon by the grader's one term list (vpatient.grading.jargon), with a
    rubric's jargon item's own extra and ignored terms."""
    m = Metrics()
    m.jargon = [JargonUse(u.turn, u.term, u.explained) for u in grading_jargon.uses(an, extra_terms, ignore_terms)]
    turns = an.transcript.turns
    for i, turn in enumerate(turns):
        words = len(an.texts[i].split())
        if turn.role == "learner":
            m.learner_turns += 1
            m.learner_words += words
            for clause in an.by_turn[i]:
                if moves.is_asking(clause.text):
                    m.questions += 1
                    if A.is_open_question(clause.text):
                        m.open_questions += 1
                    else:
                        m.closed_questions += 1
                if A.is_empathic(clause.text):
                    m.empathic_statements += 1
        else:
            m.patient_turns += 1
            m.patient_words += words
    total_words = m.learner_words + m.patient_words
    m.word_ratio = round(m.learner_words / total_words, 3) if total_words else None
    m.timed = bool(turns) and all(t.start is not None and t.end is not None for t in turns)
    if m.timed:
        spans = [(t.role, float(t.start or 0.0), float(t.end or 0.0)) for t in turns]
        m.learner_seconds = round(sum(e - s for r, s, e in spans if r == "learner"), 2)
        m.patient_seconds = round(sum(e - s for r, s, e in spans if r == "patient"), 2)
        talk = m.learner_seconds + m.patient_seconds
        m.talk_time_ratio = round(m.learner_seconds / talk, 3) if talk > 0 else None
        m.overlaps = m.interruptions_by_learner = m.interruptions_by_patient = 0
        for (prev_role, _ps, prev_end), (role, start, end) in itertools.pairwise(spans):
            if role == prev_role or start >= prev_end - OVERLAP_TOLERANCE:
                continue
            m.overlaps += 1
            if end > prev_end + OVERLAP_TOLERANCE:  # took the floor, rather than a backchannel
                if role == "learner":
                    m.interruptions_by_learner += 1
                else:
                    m.interruptions_by_patient += 1
    return m
