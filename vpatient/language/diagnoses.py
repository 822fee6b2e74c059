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
    r"arthritis|copd|emphysema|fibrosis|syndrome|infection|blood clot"
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


def plain_diagnosis(text: str, extra: re.Pattern[str] | None = None) -> str | None:
    """The first plain diagnosis word named (not hedged or negated) in a statement, or None."""
    for rx in (_PLAIN, extra):
        if rx is None:
            continue
        for m in rx.finditer(text):
            if not _HEDGED.search(text[: m.start()]):
                return m.group(1)
    return None
