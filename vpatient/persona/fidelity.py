"""The fidelity harness: play a question file through an engine and measure what the patient told.

A question file is one consultation, played in order. For each utterance it lists the statements that
must be told in the reply (`discloses`) and those that must not be told yet (`withholds`). Measured:
- disclosure recall: required statements told / required statements;
- leakage: statements told before their tier allows (listed in `withholds`, or of tier `never`);
- contradictions: replies that conflict with a statement (polarity, numbers, drug names), or deny a
  symptom the persona has;
- unsupported claims: reply sentences that claim something no persona text supports (conversational
  sentences such as greetings, thanks, feelings or questions back claim nothing);
- in LLM mode: how replies were made (`llm`: all in the model's own words, each sentence passed the guard;
  `llm-partial`: the model's sentences then the scripted wording for what it left out or got wrong;
  `llm-fallback`: the scripted wording only) and the time per reply.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field

from vpatient.persona.engine import Reply
from vpatient.persona.grounding import Grounding
from vpatient.persona.guard import is_conversational
from vpatient.persona.schema import Persona, Strict, Tier
from vpatient.yamlfile import Loc, load_model


class Question(Strict):
    say: str = Field(min_length=1, description="What the learner says.")
    discloses: list[str] = Field(default_factory=list, description="Statement ids that must be told in the reply.")
    withholds: list[str] = Field(default_factory=list, description="Statement ids that must not be told yet.")


class QuestionFile(Strict):
    persona: str = Field(description="Id of the persona these questions are for.")
    questions: list[Question] = Field(min_length=1, description="The utterances, played in order.")


def load_questions(path: str | Path, persona: Persona) -> QuestionFile:
    ids = {s.id for s in persona.statements()}

    def check(qf: QuestionFile) -> list[tuple[Loc, str]]:
        problems: list[tuple[Loc, str]] = []
        if qf.persona != persona.id:
            problems.append((("persona",), f"is {qf.persona!r} but the persona file is {persona.id!r}"))
        for i, q in enumerate(qf.questions):
            for key in ("discloses", "withholds"):
                for k, ref in enumerate(getattr(q, key)):
                    if ref not in ids:
                        problems.append((("questions", i, key, k), f"unknown statement id {ref!r} in {persona.id}"))
            both = set(q.discloses) & set(q.withholds)
            if both:
                problems.append((("questions", i), f"{sorted(both)} both disclosed and withheld; choose one"))
        return problems

    return load_model(path, QuestionFile, what="question file", check=check)


class Responder(Protocol):
    mode: str

    def respond(self, utterance: str, *, interrupted: bool = False) -> Reply: ...


@dataclass
class TurnResult:
    say: str
    reply: str
    told: list[str]
    missed: list[str]
    leaked: list[str]
    conflicts: list[str]
    unsupported: list[str]
    mode: str = ""
    ms: float = 0.0


@dataclass
class FidelityReport:
    persona: str
    engine: str
    utterances: int
    required: int
    recalled: int
    leaks: int
    contradictions: int
    unsupported: int
    turns: list[TurnResult] = field(default_factory=list)
    modes: dict[str, int] = field(default_factory=dict)
    """How replies were made: scripted, llm (rephrased, passed the guard), llm-fallback (guard/backend failed)."""
    reasons: dict[str, int] = field(default_factory=dict)
    """Why LLM replies fell back or were completed by the scripted wording (first reason of each)."""
    ms: list[float] = field(default_factory=list)
    """Time per reply (milliseconds)."""

    @property
    def recall(self) -> float:
        return self.recalled / self.required if self.required else 1.0

    def summary(self) -> dict[str, Any]:
        return {
            "persona": self.persona,
            "engine": self.engine,
            "utterances": self.utterances,
            "recall": round(self.recall, 4),
            "required": self.required,
            "recalled": self.recalled,
            "leakage": self.leaks,
            "leakage_rate": round(self.leaks / self.utterances, 4) if self.utterances else 0.0,
            "contradictions": self.contradictions,
            "contradiction_rate": round(self.contradictions / self.utterances, 4) if self.utterances else 0.0,
            "unsupported": self.unsupported,
            "unsupported_rate": round(self.unsupported / self.utterances, 4) if self.utterances else 0.0,
            "reply_modes": self.modes,
            "rephrased_rate": round(self.modes.get("llm", 0) / self.utterances, 4) if self.utterances else 0.0,
            "own_words_rate": round((self.modes.get("llm", 0) + self.modes.get("llm-partial", 0)) / self.utterances, 4)
            if self.utterances
            else 0.0,
            "ms_per_reply_mean": round(sum(self.ms) / len(self.ms), 1) if self.ms else 0.0,
            "ms_per_reply_median": round(sorted(self.ms)[len(self.ms) // 2], 1) if self.ms else 0.0,
            "fallback_reasons": dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])[:8]),
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.summary(), "turns": [asdict(t) for t in self.turns]}


def run(
    persona: Persona, questions: QuestionFile, engine: Responder, grounding: Grounding, *, limit: int | None = None
) -> FidelityReport:
    never = {s.id for s in persona.statements() if s.tier == Tier.never}
    positive = {f.id for f in persona.facts if not f.negative}
    denial = persona.unlisted.symptom
    report = FidelityReport(persona.id, engine.mode, 0, 0, 0, 0, 0, 0)
    for q in questions.questions[:limit]:
        t0 = time.perf_counter()
        reply = engine.respond(q.say)
        ms = round((time.perf_counter() - t0) * 1000, 1)
        report.ms.append(ms)
        report.modes[reply.mode] = report.modes.get(reply.mode, 0) + 1
        llm = reply.meta.get("llm", {})
        why = llm.get("fallback") or llm.get("completed")
        if why:
            key = why.split(":")[0] if not why.startswith("guard") else "guard: " + why[7:].split(":")[0].split(" (")[0]
            report.reasons[key] = report.reasons.get(key, 0) + 1
        told = grounding.told(reply.text)
        missed = [i for i in q.discloses if i not in told]
        leaked = [i for i in told if i in set(q.withholds) | never]
        conflicts = [f"{c.statement_id or '-'}: {c.reason}" for c in grounding.conflicts(reply.text)]
        wrongly_denied = [i for i in q.discloses if i in positive and i not in told]
        if denial in reply.text and wrongly_denied:
            conflicts.append(f"denied with {denial!r} though the persona has {', '.join(wrongly_denied)}")
        # conversational sentences (greetings, thanks, feelings, questions back) claim nothing to support
        names = [persona.identity.name]
        unsupported = [u for u in grounding.unsupported(reply.text) if not is_conversational(u, names)]
        report.utterances += 1
        report.required += len(q.discloses)
        report.recalled += len(q.discloses) - len(missed)
        report.leaks += len(leaked)
        report.contradictions += bool(conflicts)
        report.unsupported += bool(unsupported)
        report.turns.append(TurnResult(q.say, reply.text, told, missed, leaked, conflicts, unsupported, reply.mode, ms))
    return report
