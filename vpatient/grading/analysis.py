"""A transcript prepared for grading: cleaned turns, clauses, dialogue acts (computed once, on demand)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from vpatient.grading.schema import Act, Speaker
from vpatient.language import acts as A
from vpatient.language import culture, moves
from vpatient.transcript import Transcript

MAX_WORDS_EMBEDDED = 32
"""Clauses are cut to this many words before embedding (meaning is in the first words; speed matters)."""

ACT_TESTS: dict[Act, Callable[[str], bool]] = {
    Act.question: moves.is_asking,
    Act.open_question: lambda c: moves.is_asking(c) and A.is_open_question(c),
    Act.closed_question: lambda c: moves.is_asking(c) and not A.is_open_question(c),
    Act.statement: lambda c: not moves.is_asking(c),
    Act.empathy: A.is_empathic,
    Act.greeting: A.is_greeting,
    Act.introduction: A.is_introduction,
    Act.dismissal: lambda c: A.is_dismissive(c) or moves.dismisses_belief(c),
    Act.invites_questions: moves.invites_questions,
    Act.checks_understanding: moves.checks_understanding,
    Act.safety_netting: moves.safety_netting,
    Act.warning_shot: moves.warning_shot,
    Act.summary_marker: moves.summary_marker,
    Act.stereotyping: culture.is_stereotyping,
    Act.respect: moves.is_respectful,
    Act.explanation: moves.is_explanation,
}


@dataclass
class Clause:
    """One clause of one turn (a sentence, or one of several questions joined by 'and')."""

    turn: int
    index: int
    text: str
    role: str
    _acts: dict[Act, bool] = field(default_factory=dict, repr=False)

    @property
    def order(self) -> tuple[int, int]:
        return (self.turn, self.index)

    def has(self, act: Act) -> bool:
        if act not in self._acts:
            self._acts[act] = ACT_TESTS[act](self.text)
        return self._acts[act]

    @cached_property
    def core(self) -> str:
        """The clause without leading fillers, for matching by meaning."""
        words = moves.strip_fillers(self.text).split()
        return " ".join(words[:MAX_WORDS_EMBEDDED])


class Analysis:
    """Everything the detectors need about one transcript, computed once."""

    def __init__(self, transcript: Transcript):
        self.transcript = transcript
        self.texts = [moves.clean(t.text) for t in transcript.turns]
        self.roles = [t.role for t in transcript.turns]
        self.clauses: list[Clause] = []
        self.by_turn: dict[int, list[Clause]] = {}
        for i, (text, role) in enumerate(zip(self.texts, self.roles, strict=True)):
            parts = A.clauses(text) if text else []
            cl = [Clause(turn=i, index=j, text=p, role=role) for j, p in enumerate(parts)]
            self.by_turn[i] = cl
            self.clauses += cl
        self._turn_numbers = {
            role: [i for i, r in enumerate(self.roles) if r == role] for role in ("learner", "patient")
        }

    def __len__(self) -> int:
        return len(self.texts)

    def speaker_turns(self, speaker: Speaker) -> list[int]:
        if speaker == Speaker.any:
            return list(range(len(self.texts)))
        return self._turn_numbers[speaker.value]

    def clauses_of(self, speaker: Speaker) -> list[Clause]:
        if speaker == Speaker.any:
            return self.clauses
        return [c for c in self.clauses if c.role == speaker.value]

    def said_before(self, turn: int, role: str = "patient") -> str:
        """Everything `role` said before `turn`, joined."""
        return " ".join(t for t, r in zip(self.texts[:turn], self.roles[:turn], strict=True) if r == role)

    def previous(self, turn: int, role: str) -> int | None:
        for i in range(turn - 1, -1, -1):
            if self.roles[i] == role:
                return i
        return None

    def next(self, turn: int, role: str) -> int | None:
        for i in range(turn + 1, len(self.roles)):
            if self.roles[i] == role:
                return i
        return None
