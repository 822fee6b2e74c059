"""Teach-back: asked to say back what it has been told, the patient puts the learner's own information in its
own words ("So it's very likely a cancer, and I'll have a scan and a camera test. Is that right?").

What a patient can say back is only what it heard: the learner's explanations, news and plans, turned from
the clinician's point of view to the patient's ('you'll have' -> 'I'll have', 'I'll ring' -> 'you'll ring').
A clause that still holds a term the patient never had explained is left out: it did not take that in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vpatient.language.words import lower_first

_LEAD = re.compile(r"^(?:(?:so|okay|ok|right|well|and|but|um+|uh+|erm+|er|sorry|now|basically|look)\b[,.]?\s*)+", re.I)
_OBJECT_BEFORE = frozenset(
    [
        "to",
        "with",
        "for",
        "give",
        "tell",
        "see",
        "help",
        "ring",
        "call",
        "show",
        "send",
        "let",
        "ask",
        "contact",
        "phone",
        "offer",
        "book",
        "refer",
        "about",
        "at",
        "from",
        "on",
        "support",
        "keep",
        "meet",
        "bring",
        "get",
        "gives",
        "tells",
        "sees",
        "helps",
        "rings",
        "calls",
        "shows",
        "sends",
        "lets",
        "asks",
        "contacts",
        "phones",
        "offers",
        "books",
        "refers",
        "supports",
        "keeps",
        "meets",
        "brings",
        "gets",
        "after",
    ]
)
# The clinician's words about the clinician and about the patient, swapped in one pass.
_PAIRS = {
    "you're": "I'm",
    "you've": "I've",
    "you'll": "I'll",
    "you'd": "I'd",
    "your": "my",
    "yours": "mine",
    "yourself": "myself",
    "i'm": "you're",
    "i've": "you've",
    "i'll": "you'll",
    "i'd": "you'd",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "me": "you",
}
_TOKEN = re.compile(r"\b(?:you|i)(?:'re|'ve|'ll|'d|'m)?\b|\b(?:your|yours|yourself|my|mine|myself|me)\b", re.I)
_IMPERATIVE = re.compile(
    r"(^|[,:;]|\bthen)(\s*)(don'?t |do not )?(call|phone|ring|come|go|seek|contact|get|take|stop|start|book|make|"
    r"tell|let|keep|wait|try|use|check|eat|drink|rest)\b",
    re.I,
)
"""Advice in the imperative ('if it gets worse, call 999') said back as the patient's own ('I should call')."""
_AGREE = [
    (re.compile(r"\bI are\b"), "I am"),
    (re.compile(r"\bI were\b"), "I was"),
    (re.compile(r"\byou am\b"), "you are"),
    (re.compile(r"\byou was\b"), "you were"),
]


def _advice(m: re.Match[str]) -> str:
    should = "I shouldn't" if m.group(3) else "I should"
    return f"{m.group(1)}{m.group(2)}{should} {m.group(4).lower()}"


def patient_view(clause: str) -> str:
    """The clinician's clause as the patient would say it: first and second person swapped."""

    def swap(m: re.Match[str]) -> str:
        word = m.group(0)
        low = word.lower()
        if low == "you":
            before = clause[: m.start()].split()
            prev = re.sub(r"\W", "", before[-1].lower()) if before else ""
            return "me" if prev in _OBJECT_BEFORE else "I"
        if low == "i":
            return "you"
        return _PAIRS.get(low, word)

    text = _TOKEN.sub(swap, re.sub(r"\byou (both|two|all)\b", r"we \1", clause, flags=re.I))
    text = _IMPERATIVE.sub(_advice, text)
    for pattern, fixed in _AGREE:
        text = pattern.sub(fixed, text)
    return text


_PLAN_ASKED = re.compile(r"\b(?:next|plan|agreed|happens?|going to|we'?(?:re|ll)|decided|do now)\b", re.I)


def asks_for_plan(request: str) -> bool:
    """'...what happens next?', '...what we've agreed?': the plans are what to say back."""
    return bool(_PLAN_ASKED.search(request))


def restate(
    heard: Sequence[tuple[str, bool]],
    *,
    news: re.Pattern[str] | None,
    not_understood: set[str],
    limit: int = 3,
    plans_first: bool = False,
    names: set[str],
) -> str:
    """What the patient says back from the clauses it heard (oldest first, each with whether it was a plan): the
    news, if there was any, and the latest explanations and plans (only the plans when those are asked for);
    '' when there is nothing it took in. One sentence a point, ending with a check ('Is that right?'). `names`:
    the names the patient uses, kept capitalised at the start of a point."""
    usable: list[tuple[str, bool]] = []
    for clause, is_plan in heard:
        text = _LEAD.sub("", clause).strip().rstrip(".!")
        if not text or any(re.search(rf"\b{re.escape(t)}\b", text, re.I) for t in not_understood):
            continue
        usable.append((text, is_plan))
    if plans_first and any(is_plan for _, is_plan in usable):
        points = [text for text, is_plan in usable if is_plan][-limit:]
    else:
        texts = [text for text, _ in usable]
        first_news = [c for c in texts if news is not None and news.search(c)][:1]
        points = first_news + [c for c in texts if c not in first_news][-(limit - len(first_news)) :]
    kept: list[str] = []
    words = 0
    for c in points:
        words += len(c.split())
        if kept and words > 60:
            break
        kept.append(c)
    if not kept:
        return ""
    said = [patient_view(c) for c in kept]
    said[0] = "So " + lower_first(said[0], names)
    said[1:] = ["And " + lower_first(c, names) for c in said[1:]]
    return " ".join(c + "." for c in said) + " Is that right?"
