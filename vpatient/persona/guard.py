"""The guard: every LLM reply is checked before it is spoken; a failed reply is replaced by the persona's words.

`check` judges a whole reply: no statement beyond those eligible now; every statement the plan requires is
told; no contradiction of a statement (polarity, numbers, durations, drug names); nothing the persona does
not support; nothing out of character (no "as an AI", no doctor talk, no advice to the doctor); a sensible
length.

`check_sentence` judges one sentence of a streamed reply before it is spoken. A sentence that claims a
fact must tell only eligible statements (or ones already told), contradict none, come no closer than
Grounding.NEAR to a statement that is not eligible, and be supported by persona text. A conversational
sentence that claims no fact (a greeting, thanks, "I see", a feeling, "I'm not sure", a question back to
the doctor) passes without support, as long as it is in character and near nothing hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from vpatient.language.acts import sentences
from vpatient.persona.grounding import Grounding, negated

_OUT_OF_CHARACTER = re.compile(
    r"\b(?:as an ai|language model|ai model|assistant|chatbot|i'?m (?:just )?a (?:bot|program|computer)|"
    r"(?:how|what) can i (?:help|do for) you|i'?m here to help|i am here to help|i (?:can(?:not|'t)|am unable to) "
    r"(?:provide|give|offer) (?:medical|a diagnosis)|medical advice|"
    r"(?:please )?consult (?:a|your) (?:doctor|physician)|my answer|(?:this|your|the) question|"
    r"seek (?:medical|professional) (?:help|attention|advice)|healthcare (?:provider|professional)|"
    r"i (?:would )?(?:recommend|suggest|advise)|you should (?:see|consult|try|take|consider)|as your doctor|"
    r"i'?m (?:a|the|your) (?:doctor|nurse|physician|gp)|the patient|patient:|doctor:|\[|\]|<\||\|>|"
    r"\bhe (?:says|said|replies|answers)|\bshe (?:says|said|replies|answers))",
    re.I,
)
MIN_WORDS = 1
"""Replies shorter or longer than these bounds (in words) fail."""
MAX_WORDS = 70
MAX_SENTENCES = 5


_FEELING = (
    r"(?:a bit |a little |very |really |so |quite |rather |just |getting |feeling )*"
    r"(?:worried|nervous|scared|frightened|afraid|anxious|upset|relieved|glad|pleased|happy|confused|shocked|"
    r"surprised|sad|angry|annoyed|frustrated|embarrassed|overwhelmed|grateful|lost|terrified)"
)
_CONVERSATIONAL_PHRASES = re.compile(
    r"\b(?:(?:thank you|thanks) for (?:asking|that|explaining|listening|your time|seeing me|having me)|"
    r"(?:sure|yes|yeah|of course|okay|ok),? (?:i can|you can|go ahead|ask away|fire away)|go ahead|ask away|"
    r"no problem|no worries|"
    r"oh|ah|aah|ahh|well|um|umm|erm|er|hmm|mm|right|okay|ok|alright|sure|of course|sorry|pardon|"
    r"thanks|thank you(?: (?:so|very) much)?|cheers|"
    r"hello|hi|hey|good (?:morning|afternoon|evening|day)|bye|goodbye|see you|take care|please|"
    r"nice to meet you|pleased to meet you|you too|me too|i see|i understand|i know|got it|fair enough|"
    r"that'?s (?:fine|okay|ok|alright|good|great|kind(?: of you)?|a relief|reassuring|nice|helpful|"
    r"good to (?:know|hear)|hard|a lot to take in)|"
    r"(?:i'?m|i am) not (?:sure|certain|too sure|really sure)|i'?m not sure|"
    r"i (?:do ?n[o']?t|don'?t|can'?t|cannot) (?:really )?(?:know|remember|recall|say|tell|think so)|"
    r"i (?:think|guess|suppose|hope) so|i hope not|not really|i don'?t think so|go on|what do you mean|"
    r"(?:i'?m|i am|i feel|i'?ve been|that makes me(?: feel)?|it makes me(?: feel)?) " + _FEELING + r"|"
    r"to be honest|honestly|actually|really|i must say|if i'?m honest|you know|i mean|"
    r"how (?:are|about) you|and you|doctor|dr|doc|love|dear|mate|then|now|just|so|yes|yeah|yep|no|nope)\b",
    re.I,
)
_YES = re.compile(r"^(?:yes|yeah|yep|yes please|that'?s right|correct)\b", re.I)
_NO = re.compile(r"^(?:no|nope|not really|i don'?t think so)\b", re.I)
_NUMBERS_OR_DRUGS = re.compile(r"\d")


def is_conversational(sentence: str, names: Iterable[str] = ()) -> bool:
    """A sentence that claims no fact: greeting, thanks, acknowledgement, a feeling, not knowing, or a
    question back to the doctor (checked against hidden statements by the caller)."""
    text = sentence.strip()
    if not text or _NUMBERS_OR_DRUGS.search(text):
        return False
    if text.endswith("?"):
        return True
    rest = _CONVERSATIONAL_PHRASES.sub(" ", text.lower())
    for name in names:
        for part in name.lower().split():
            rest = re.sub(rf"\b{re.escape(part)}\b", " ", rest)
    return not re.search(r"[a-z0-9]", rest)


@dataclass
class Verdict:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    claims: bool = True
    """False for a conversational sentence that claims no fact."""

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

    def check_sentence(self, sentence: str, *, eligible: Iterable[str], plan_text: str = "") -> Verdict:
        """One sentence of a streamed reply, before it is spoken (see the module docstring)."""
        text = sentence.strip()
        if not text:
            return Verdict(False, ["empty sentence"])
        if len(text.split()) > MAX_WORDS // 2:
            return Verdict(False, [f"sentence too long ({len(text.split())} words)"])
        m = _OUT_OF_CHARACTER.search(text)
        if m:
            return Verdict(False, [f"out of character: {m.group(0)!r}"])
        words = re.findall(r"[a-z']+", text.lower())
        if words and max(words.count(w) for w in set(words)) > 3:
            return Verdict(False, ["repeats itself"])
        allowed = set(eligible)
        told = self.grounding.told(text)
        reasons = [f"tells what is not eligible now: {i}" for i in told if i not in allowed]
        reasons += [
            f"contradicts {c.statement_id or 'the persona'}: {c.reason}" for c in self.grounding.conflicts(text)
        ]
        near, sim = self.grounding.nearest(text)
        if near is not None and near.id not in allowed and sim >= self.grounding.NEAR:
            reasons.append(f"too close to {near.id}, not eligible now ({sim:.2f})")
        if reasons:
            return Verdict(False, reasons, told)
        if told:
            return Verdict(True, [], told)
        ident = self.grounding.persona.identity
        if is_conversational(text, [ident.name]):
            plan = plan_text.strip()
            disagrees = (_YES.match(text) and _NO.match(plan)) or (_NO.match(text) and plan and not negated(plan))
            if disagrees and not text.endswith("?"):
                return Verdict(False, [f"yes/no disagrees with the plan: {text!r} vs {plan!r}"], claims=False)
            return Verdict(True, [], [], claims=False)
        if self.grounding.unsupported(text) and not self._in_plan(text, plan_text):
            return Verdict(False, [f"unsupported: {text!r}"])
        return Verdict(True, [], [])

    def _in_plan(self, sentence: str, plan_text: str) -> bool:
        """Close to the scripted wording of this reply (which is persona text)."""
        plan = sentences(plan_text)
        if not plan:
            return False
        return bool(self.grounding.similarity([sentence], plan).max() >= self.grounding.SUPPORTED)
