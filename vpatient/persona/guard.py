"""The guard: every LLM reply is checked before it is spoken; a failed reply is replaced by the persona's words.

Checks: no statement beyond those eligible now; every statement the plan requires is told; no contradiction
of a statement (polarity, numbers, durations, drug names); nothing the persona does not support; nothing out
of character (no "as an AI", no doctor talk, no advice to the doctor); a sensible length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from vpatient.language.acts import sentences
from vpatient.persona.grounding import Grounding

_OUT_OF_CHARACTER = re.compile(
    r"\b(?:as an ai|language model|ai model|assistant|chatbot|i'?m (?:just )?a (?:bot|program|computer)|"
    r"(?:how|what) can i (?:help|do for) you|i'?m here to help|i am here to help|i (?:can(?:not|'t)|am unable to) "
    r"(?:provide|give|offer) (?:medical|a diagnosis)|medical advice|"
    r"(?:please )?consult (?:a|your) (?:doctor|physician)|my answer|(?:this|your|the) question|"
    r"seek (?:medical|professional) (?:help|attention|advice)|healthcare (?:provider|professional)|"
    r"i (?:would )?(?:recommend|suggest|advise)|you should (?:see|consult|try|take|consider)|as your doctor|"
    r"i'?m (?:a|the|your) (?:doctor|nurse|physician|gp)|patient:|doctor:|\[|\]|<\||\|>)",
    re.I,
)
MIN_WORDS = 1
"""Replies shorter or longer than these bounds (in words) fail."""
MAX_WORDS = 70
MAX_SENTENCES = 5


@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    told: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"passed": self.ok, "reasons": self.reasons, "told": self.told}


class Guard:
    def __init__(self, grounding: Grounding):
        self.grounding = grounding

    def check(self, reply: str, *, eligible: Iterable[str], required: Iterable[str]) -> Verdict:
        reasons: list[str] = []
        text = reply.strip()
        words = len(text.split())
        if words < MIN_WORDS:
            return Verdict(False, ["empty reply"])
        if words > MAX_WORDS or len(sentences(text)) > MAX_SENTENCES:
            reasons.append(f"too long ({words} words, {len(sentences(text))} sentences)")
        m = _OUT_OF_CHARACTER.search(text)
        if m:
            reasons.append(f"out of character: {m.group(0)!r}")
        told = self.grounding.told(text)
        allowed = set(eligible)
        leaked = [i for i in told if i not in allowed]
        if leaked:
            reasons.append(f"tells what is not eligible now: {', '.join(leaked)}")
        missing = [i for i in required if i not in told]
        if missing:
            reasons.append(f"leaves out what was asked: {', '.join(missing)}")
        reasons += [
            f"contradicts {c.statement_id or 'the persona'}: {c.reason}" for c in self.grounding.conflicts(text)
        ]
        unsupported = self.grounding.unsupported(text)
        if unsupported:
            reasons.append(f"unsupported: {unsupported[0]!r}")
        return Verdict(not reasons, reasons, told)
