"""Whole consultations, judged line by line from the reply text: `vpatient eval conversation`.

A conversation file (eval/conversations/<split>/<persona>-NN.yaml) holds a consultation as a student runs
it, greeting to goodbye, and for each learner line what the reply must do: the statements it must tell
(`tell`), those it must not (`withhold`) and the moves it must make (`moves`: greet, answer, confirm or
correct a summary, react to the news, say goodbye...). The files are written by people who never saw the
engine's rules.

The judge reads only the reply text, never the engine's metadata: a statement counts as told when the
reply says it or closely paraphrases a sentence of it (grounding.Grounding), moves are recognised by
their words, and contradictions are found by grounding.Grounding as for the LLM guard.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from vpatient.language.acts import sentences
from vpatient.language.words import content_words
from vpatient.persona.grounding import Grounding, _norm
from vpatient.persona.schema import Persona, Tier
from vpatient.yamlfile import load_model

ReplyMove = Literal[
    "greet",
    "agree",
    "identity",
    "small_talk",
    "answer",
    "confirm_summary",
    "correct_summary",
    "react_warning",
    "react_news",
    "react_explanation",
    "ask_meaning",
    "respond_plan",
    "thank",
    "acknowledge",
    "ask_question",
    "deny",
    "dont_know",
    "deflect",
    "pardon",
    "goodbye",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Line(_Strict):
    say: str = Field(min_length=1, description="What the learner says.")
    tell: list[str] = Field(default_factory=list, description="Statement ids the reply must tell.")
    withhold: list[str] = Field(default_factory=list, description="Statement ids the reply must not tell.")
    moves: list[ReplyMove] = Field(default_factory=list, description="What the reply must do (all of them).")
    note: str = ""


class Conversation(_Strict):
    persona: str = Field(description="The persona id.")
    learner: str = Field(default="", description="One line on the learner's style.")
    lines: list[Line] = Field(min_length=1)


def load_conversation(path: str | Path) -> Conversation:
    return load_model(path, Conversation, what="conversation file")


_W = re.IGNORECASE
_MOVE_WORDS: dict[str, re.Pattern[str]] = {
    "greet": re.compile(
        r"\b(?:hello|hi|hiya|morning|afternoon|evening|salaam|assalamu|nice to meet|pleased to "
        r"meet|hey)\b",
        _W,
    ),
    "agree": re.compile(
        r"\b(?:yes|yeah|of course|sure|fine|go ahead|okay|ok|no problem|that'?s fine|please do|"
        r"alright|all right|course|please (?:just )?(?:tell|go on|carry on|go ahead)|just tell me)\b",
        _W,
    ),
    "confirm_summary": re.compile(
        r"\b(?:yes|yeah|that'?s right|correct|exactly|that'?s it|spot on|that'?s about "
        r"it|mm-?hm|yep)\b",
        _W,
    ),
    "correct_summary": re.compile(
        r"\b(?:no|not quite|actually|not exactly|not really|it'?s (?:my|the)|it was|"
        r"wasn'?t|isn'?t|left|right|sorry)\b",
        _W,
    ),
    "thank": re.compile(r"\b(?:thank|thanks|cheers|appreciate|kind of you|that helps|means a lot)\b", _W),
    "ask_meaning": re.compile(
        r"\b(?:mean|meaning|what(?:'s| is| are)|what does|don'?t (?:follow|understand)|"
        r"in (?:plain|normal) (?:english|words)|never heard)\b",
        _W,
    ),
    "deny": re.compile(r"\b(?:no|not|never|nothing|none|haven'?t|don'?t|didn'?t|nope|isn'?t|wasn'?t)\b", _W),
    "dont_know": re.compile(
        r"\b(?:don'?t know|not sure|no idea|couldn'?t (?:tell|say)|can'?t (?:remember|say)|"
        r"don'?t remember|can'?t recall|not certain|haven'?t a clue|didn'?t (?:say|tell))\b",
        _W,
    ),
    "pardon": re.compile(
        r"\b(?:sorry|pardon|didn'?t (?:catch|hear)|say (?:that|it) again|what was that|repeat|"
        r"come again)\b",
        _W,
    ),
    "goodbye": re.compile(r"\b(?:bye|goodbye|see you|take care|thank|thanks|cheers|hafiz|ta-ra|ta ra)\b", _W),
    "respond_plan": re.compile(
        r"\b(?:okay|ok|yes|yeah|fine|alright|all right|sounds|what|would|how|not sure|"
        r"rather|if you think|suppose|happy|will|when|do i|i'?ll|that'?s)\b",
        _W,
    ),
    "react_explanation": re.compile(
        r"\b(?:i see|right|okay|ok|makes sense|understand|what|mean|oh|so|yes|"
        r"serious|i think)\b|\?",
        _W,
    ),
}


def _echoes(words: set[str], heard: set[str]) -> bool:
    """Most of a sentence's content words (at least 4) are the learner's."""
    return len(words) >= 4 and len(words & heard) >= 0.7 * len(words)


def _is_question(text: str) -> bool:
    return "?" in text


class Responder(Protocol):
    def respond(self, utterance: str, *, interrupted: bool = False) -> Any: ...


@dataclass
class LineResult:
    say: str
    reply: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    expected_tell: list[str] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    mode: str = ""


@dataclass
class ConversationResult:
    file: str
    persona: str
    lines: list[LineResult]
    recall_expected: int
    recall_told: int
    early: int
    contradictions: int
    seconds: float
    own_words: int = 0
    """Replies that the engine reported as its LLM's own wording (LLM mode only)."""

    @property
    def acceptable(self) -> int:
        return sum(1 for x in self.lines if x.ok)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["acceptable"] = self.acceptable
        return out


class Judge:
    """Judges one reply from its text, against the persona and what the line expects."""

    def __init__(self, persona: Persona, grounding: Grounding):
        self.persona = persona
        self.grounding = grounding
        self.by_id = {s.id: s for s in persona.statements()}
        st = persona.small_talk
        un = persona.unlisted
        self.fallbacks = {_norm(t) for t in (st.unclear, un.unknown, un.clarify) if t}
        self.denial = _norm(un.symptom)
        self.covers = {_norm(s.cover_story) for s in persona.statements() if s.cover_story}
        ident = persona.identity
        self.identity_values = [str(ident.age), ident.name.split()[0], *re.findall(r"\d{4}", ident.date_of_birth)]
        if ident.preferred_name:
            self.identity_values.append(ident.preferred_name)
        self._told_cache: dict[str, list[str]] = {}

    def _told(self, text: str) -> list[str]:
        """grounding.told, once per distinct text (earlier replies are checked again on every later line)."""
        if text not in self._told_cache:
            self._told_cache[text] = self.grounding.told(text)
        return self._told_cache[text]

    def judge(
        self, line: Line, reply: str, earlier: list[str], told_before: set[str], heard: Sequence[str] = ()
    ) -> LineResult:
        """`heard`: the learner's earlier lines. A sentence that says back the learner's own words (teach-back) claims
        nothing about the case and is not checked for contradictions."""
        problems: list[str] = []
        told = self._told(reply) if reply.strip() else []
        told_set = set(told)
        for sid in line.tell:
            if sid not in told_set:
                problems.append(f"missed {sid}")
        for sid in line.withhold:
            if sid in told_set:
                problems.append(f"EARLY {sid}")
        for sid in told_set - set(line.tell) - set(line.withhold) - told_before:
            s = self.by_id.get(sid)
            if s is not None and s.tier == Tier.never:
                problems.append(f"EARLY {sid} (tier never)")
        heard_words = content_words(" ".join(heard))
        own = " ".join(
            x for x in sentences(reply) if not _echoes(content_words(x), heard_words)
        )  # the patient's own claims
        for c in self.grounding.conflicts(own) if own.strip() else []:
            problems.append(f"CONTRADICTS {c.statement_id or ''}: {c.reason}")
        norm_reply = _norm(reply)
        reply_sents = {_norm(x) for x in sentences(reply)}
        generic = bool(reply_sents) and reply_sents <= (self.fallbacks | {self.denial})
        for move in line.moves:
            if not self._move(move, reply, norm_reply, generic, line):
                problems.append(f"move {move} not made")
        if not reply.strip():
            problems.append("empty reply")
        if (
            line.tell or set(line.moves) - {"deny", "dont_know", "pardon", "ask_meaning"}
        ) and reply_sents & self.fallbacks:
            problems.append("fallback answer ('what do you mean' / 'I couldn't tell you')")
        for prev in earlier:
            if _norm(prev) in self.fallbacks or {_norm(x) for x in sentences(prev)} <= self.fallbacks:
                continue  # asking again what a word means is not repeating a paragraph
            if len(sentences(prev)) >= 2 and _norm(prev) and _norm(prev) in norm_reply and self._told(prev):
                problems.append("repeats a whole earlier reply")
                break
        return LineResult(line.say, reply, not problems, problems, list(line.tell), told)

    def _move(self, move: str, reply: str, norm: str, generic: bool, line: Line) -> bool:
        if move == "answer":
            return bool(reply.strip()) and (not generic or not line.tell)
        if move in ("deny",):
            return bool(_MOVE_WORDS["deny"].search(reply))
        if move == "dont_know":
            return bool(_MOVE_WORDS["dont_know"].search(reply)) or _norm(self.persona.unlisted.unknown) in norm
        if generic:
            return False
        if move == "identity":
            return any(v and v.lower() in reply.lower() for v in self.identity_values)
        if move == "deflect":
            return any(c and c in norm for c in self.covers) or not any(
                sid in self._told(reply) for sid in line.withhold
            )
        if move == "ask_question":
            return _is_question(reply)
        if move in ("small_talk", "acknowledge", "react_warning", "react_news"):
            return len(norm) > 0
        pattern = _MOVE_WORDS.get(move)
        return bool(pattern.search(reply)) if pattern else True


def run_conversation(
    conv: Conversation,
    engine: Responder,
    judge: Judge,
    *,
    file: str = "",
    on_line: Callable[[LineResult], None] | None = None,
) -> ConversationResult:
    results: list[LineResult] = []
    earlier: list[str] = []
    told_before: set[str] = set()
    expected = told_n = early = conflicts = own = 0
    t0 = time.perf_counter()
    for line in conv.lines:
        reply = engine.respond(line.say)
        text = getattr(reply, "text", str(reply))
        r = judge.judge(line, text, earlier, told_before, [x.say for x in conv.lines[: len(results)]])
        r.mode = getattr(reply, "mode", "")
        if r.mode == "llm":
            own += 1
        expected += len(line.tell)
        told_n += sum(1 for sid in line.tell if sid in r.told)
        early += sum(1 for p in r.problems if p.startswith("EARLY"))
        conflicts += sum(1 for p in r.problems if p.startswith("CONTRADICTS"))
        # A fact the learner has said ('there's no heartbeat') is no disclosure when the patient says it back.
        told_before |= set(r.told) | set(judge._told(line.say))
        earlier.append(text)
        results.append(r)
        if on_line:
            on_line(r)
    return ConversationResult(
        file, conv.persona, results, expected, told_n, early, conflicts, time.perf_counter() - t0, own
    )


def summarise(results: list[ConversationResult]) -> dict[str, Any]:
    lines = sum(len(r.lines) for r in results)
    ok = sum(r.acceptable for r in results)
    expected = sum(r.recall_expected for r in results)
    told = sum(r.recall_told for r in results)
    seconds = sum(r.seconds for r in results)
    return {
        "conversations": len(results),
        "lines": lines,
        "acceptable": ok,
        "acceptable_rate": round(ok / lines, 4) if lines else 0.0,
        "fact_recall": round(told / expected, 4) if expected else 1.0,
        "early_disclosures": sum(r.early for r in results),
        "contradictions": sum(r.contradictions for r in results),
        "own_words_rate": round(sum(r.own_words for r in results) / lines, 4) if lines else 0.0,
        "seconds_per_reply": round(seconds / lines, 3) if lines else 0.0,
    }
