"""Everyday and regional words for the body and symptoms, in plain clinical English.

Learners talk the way patients do ("have you been poorly?", "any trouble with your waterworks?",
"are you puffed out?"), leave out auxiliaries when English is not their first language ("what you think?"),
and wrap questions in polite frames ("I'd be interested to know..."); the persona's example questions are
usually plainer. The matcher reads a question both as said and in these plain words (`plain`), so either
wording finds the statement. `spelt_out` writes spoken contractions out ("d'you", "wanna") before a turn is
read at all.
"""

from __future__ import annotations

import re

from vpatient.language.moves import TO_ASK, TO_HEAR, WOULD_LIKE

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
    r"owt": "anything",
    r"nowt": "nothing",
    r"playing on your mind|on your mind": "worrying you",
    r"(?:(?:it )?is |does it )?travel(?:s|l?ing)?(?: also)? to (?:some |any )?(?:other|another|different) "
    r"(?:places?|parts?|areas?)": "does it go anywhere",
}
_RE = re.compile(r"\b(?:" + "|".join(f"(?P<g{i}>{k})" for i, k in enumerate(_PLAIN)) + r")\b", re.I)
_VALUES = list(_PLAIN.values())


_AUX = (
    r"(?:am|are|is|was|were|have|has|had|will|would|can|could|should|shall|may|might|must|does|did|don'?t|"
    r"didn'?t|'re|'ve|'d|'ll|also|really|just|still|ever|never|always)"
)
_GRAMMAR: list[tuple[re.Pattern[str], str]] = [
    # "what you think?", "what you do so that it goes away?" (the auxiliary left out)
    (
        re.compile(
            rf"\b(what|how|when|where|why|which)( (?:else|often|much|many|long))? (you|we|they) (?!{_AUX}\b)(\w+)", re.I
        ),
        r"\1\2 do \3 \4",
    ),
    (re.compile(r"\bwhat'?s up\b", re.I), "what's the problem"),
    # "I'd be interested to know what you'd hoped for": the question without its polite frame
    (
        re.compile(
            rf"^(?:\W*(?:and|so|sorry|okay|ok)\b,?\s*)*{WOULD_LIKE}(?:{TO_HEAR}|{TO_ASK})\s+|"
            r"^(?:\W*(?:and|so|sorry|okay|ok)\b,?\s*)*i(?: was|'m| am)? (?:just )?(?:wondering|asking|wondered)\s+",
            re.I,
        ),
        "",
    ),
    # "Is happen other times?", "it happen before?"
    (re.compile(r"\b(?:is|it|is it) happen(?:ing|s)?\b", re.I), "does it happen"),
]
"""The plain reading of a question's form: auxiliaries put back, "what's up?" as "what's the problem?", the polite
frame of an indirect question left out."""


def plain(text: str) -> str:
    """The text with everyday words replaced by plain ones, and the auxiliaries a learner speaking English as
    another language leaves out put back; unchanged when it has none."""
    text = _RE.sub(lambda m: _VALUES[int(next(k for k, v in m.groupdict().items() if v)[1:])], text)
    for pattern, repl in _GRAMMAR:
        text = pattern.sub(repl, text)
    return text


_SPOKEN: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bd'(?:you|ya)\b", re.I), "do you"),  # "What d'you think it is?"
    (re.compile(r"\bwanna\b", re.I), "want to"),
    (re.compile(r"\bgonna\b", re.I), "going to"),
    (re.compile(r"\bdunno\b", re.I), "don't know"),
]


def spelt_out(text: str) -> str:
    """Spoken contractions written out ("What d'you think it is?" -> "What do you think it is?"), so that a
    question reads as one."""
    for pattern, repl in _SPOKEN:
        text = pattern.sub(repl, text)
    return text
