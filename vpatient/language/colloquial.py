"""Everyday and regional words for the body and symptoms, in plain clinical English.

Learners talk the way patients do ("have you been poorly?", "any trouble with your waterworks?",
"are you puffed out?"); the persona's example questions are usually plainer. The matcher reads a question
both as said and in these plain words, so either wording finds the statement.
"""

from __future__ import annotations

import re

_PLAIN: dict[str, str] = {
    r"poorly|under the weather|off colou?r": "ill",
    r"tumm(?:y|ies)|belly|guts?": "stomach",
    r"puffed(?: out)?|out of puff|winded|short of puff": "short of breath",
    r"the runs|runny (?:poo|stools?)|loose (?:bowels|motions)": "diarrhoea",
    r"throw(?:ing|n)? up|threw up|chuck(?:ing|ed)? up|being sick|been sick|sicky|queasy": "vomiting or nausea",
    r"waterworks|wee(?:ing)?|pee(?:ing)?|passing water": "urine",
    r"poo(?:s|ing)?|number twos?|motions": "stools",
    r"ticker": "heart",
    r"fags?|ciggies?|cigs?|smokes": "cigarettes",
    r"booze|bevvies|pints": "alcohol",
    r"knackered|shattered|wiped out|worn out|run down": "tired",
    r"kip|shut-?eye": "sleep",
    r"drop(?:ping)? off|nod(?:ding)? off|get(?:ting)? off to sleep": "fall asleep",
    r"up in the night|up at night|waking in the night": "awake at night",
    r"spirits": "mood",
    r"fed up|down in the dumps": "low",
    r"grub|scran": "food",
    r"pills|tablets|meds": "medicines",
    r"jabs?": "injection",
    r"mum|mam|mom": "mother",
    r"dad|da": "father",
    r"hubby|other half": "husband or partner",
    r"bloke|fella": "man",
    r"telly": "television",
    r"dizzy spells?|woozy|light-?headed": "dizziness",
    r"achy|aching|sore": "pain",
    r"folks": "family",
}
_RE = re.compile(r"\b(?:" + "|".join(f"(?P<g{i}>{k})" for i, k in enumerate(_PLAIN)) + r")\b", re.I)
_VALUES = list(_PLAIN.values())


def plain(text: str) -> str:
    """The text with everyday words replaced by plain ones; unchanged when it has none."""
    return _RE.sub(lambda m: _VALUES[int(next(k for k, v in m.groupdict().items() if v)[1:])], text)
