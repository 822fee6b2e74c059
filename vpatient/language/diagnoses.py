"""Naming a diagnosis: plain disease words a patient understands, and whether a mention is hedged."""

from __future__ import annotations

import re

PLAIN_DIAGNOSES = (
    r"cancers?|cancerous|tumou?rs?|leuka?emia|lymphoma|(?:\w+ )?disease|(?:kidney|heart|liver|lung|renal|"
    r"organ) failure|"
    r"hiv|aids|diabetes|dementia|alzheimer'?s|parkinson'?s|multiple sclerosis|\bms\b|motor neurone|"
    r"huntington'?s|"
    r"stroke|heart attack|miscarriage|miscarried|no heartbeat|heartbeat has stopped|heart has stopped "
    r"beating|"
    r"stopped (?:growing|developing)|lost the baby|hepatitis|tuberculosis|\btb\b|cirrhosis|epilepsy|lupus|"
    r"arthritis|copd|emphysema|fibrosis|syndrome|infection|blood clot|"
    # a death is news named plainly too ('he died this morning'), unlike 'we lost him'
    r"(?:has |had )?died|is dead"
)
_PLAIN = re.compile(r"\b(" + PLAIN_DIAGNOSES + r")\b", re.I)
_HEDGED = re.compile(
    r"\b(?:not|isn'?t|wasn'?t|aren'?t|no sign of|no evidence of|rule out|ruled out|exclude|excluded|whether|"
    r"if it(?:'s| is| was)|"
    r"worr\w* (?:about|that|it)|concerned (?:about|that)|afraid of|scared of|check(?:ing)? (?:for|whether|"
    r"if)|"
    r"test(?:ing|s|ed)? for|look(?:ing|ed)? for|screen(?:ing|ed)? for|might|could|may|possible|possibility|"
    r"risk of|family history of|your \w+ had|who had|died of)\b[^.?!]{0,30}$",
    re.I,
)


_NAME_PART = re.compile(
    r"^\s*(?:team|clinic|unit|ward|service|department|nurses?|specialists?|centre|center|doctors?|consultants?|"
    r"charity|support|society|research|registrar|surgeons?)\b",
    re.I,
)
_GENERIC = re.compile(r"\b(?:the|this|that|your|a|any|some|of) disease$", re.I)


def plain_diagnosis(text: str, extra: re.Pattern[str] | None = None) -> str | None:
    """The first plain diagnosis word named (not hedged or negated) in a statement, or None. A word that is
    part of a team's or clinic's name ('the tumour team') or a bare 'the disease' names nothing."""
    for rx in (_PLAIN, extra):
        if rx is None:
            continue
        for m in rx.finditer(text):
            if _HEDGED.search(text[: m.start()]) or _NAME_PART.match(text[m.end() :]):
                continue
            if _GENERIC.search(m.group(1)):
                continue
            return m.group(1)
    return None


_ASKS_NAME = re.compile(
    r"\b(?:is (?:it|that|this)|are you (?:saying|telling me)|have i (?:got|have)|do i have|has (?:he|she) got|"
    r"does (?:he|she|that|it) (?:have|mean))\b[^.?!]{0,40}?\b(" + PLAIN_DIAGNOSES + r")\b[^.!]{0,30}\?",
    re.I,
)
_ANSWERS = re.compile(
    r"^\W*(?:(?:um+|er+|erm|well|so|sadly|unfortunately|i'?m (?:so )?sorry|look)[,.\s]+)*(?:yes|yeah|yep|"
    r"i'?m afraid (?:so|it is|it does|that'?s right|you have)|it is|it does|that'?s (?:right|correct)|"
    r"correct|no|not|it'?s not|it isn'?t)\b",
    re.I,
)


def asks_whether_diagnosis(text: str) -> str | None:
    """The diagnosis a question asks about outright ('Is it cancer?', 'Are you saying I've got cancer?')."""
    m = _ASKS_NAME.search(text)
    return m.group(1) if m else None


def answers_outright(text: str, asked: str | None = None) -> bool:
    """An answer that says yes or no to such a question, or names the illness asked about (`asked`, e.g.
    'cancer') in a statement (or any illness when `asked` is None)."""
    if _ANSWERS.search(text):
        return True
    named = plain_diagnosis(text)
    if named is None:
        return False
    return asked is None or asked.lower().rstrip("s") in text.lower()
