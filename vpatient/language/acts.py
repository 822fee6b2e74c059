"""Dialogue acts in a learner's utterance: questions (open or closed), empathy, greetings, dismissal.

Plain rules, fast and explainable; the grader and the persona engine both use them.
"""

from __future__ import annotations

import re

# Split after . ? ! but not after a title or common abbreviation ("Dr. Patel", "e.g. fever").
_SENT_SPLIT = re.compile(
    r"(?<!\bDr\.)(?<!\bMr\.)(?<!\bMs\.)(?<!\bSt\.)(?<!\bMrs\.)(?<!\bvs\.)(?<!\be\.g\.)(?<!\bi\.e\.)"
    r"(?<=[.?!])\s+|\s*\n+\s*"
)
_AUX = (
    r"do|does|did|have|has|had|are|is|was|were|can|could|would|will|should|may|might|any|anything|"
    r"anyone|anybody|how|what|when|where|which|who|whom|whose|why"
)
_JOINED_Q = re.compile(
    rf"(?:,\s*|\s+)(?:and|or|also|plus)(?:,?\s+(?:um+|uh+|erm+|er|sorry|so|then|just)\b,?)*\s+(?=(?:{_AUX})\b)", re.I
)
"""'..., and, um, have you had your booking appointment?': a second question, past the fillers."""
_Q_START = re.compile(
    rf"^(?:(?:so|and|okay|ok|right|um|uh|erm|well|now|also|then|just)[,\s]+)*(?:{_AUX}|tell me|describe|"
    r"talk me through|explain|walk me through|let me ask|i was wondering|i wonder|could you|can you|"
    r"would you|i'd like to ask|may i ask)\b",
    re.I,
)
_OPEN_START = re.compile(
    r"^(?:(?:so|and|okay|ok|right|um|uh|erm|well|now|also|then|just)[,\s]+)*(?:"
    r"how (?:can|may|might|could) i help|what (?:brings|brought|can i do)|"
    r"tell me|describe|talk me through|walk me through|"
    r"(?:can|could|would) you (?:tell|describe|explain|talk|walk)|"
    r"how (?:are|have|has|is|do|does|did|would|were|was)(?! (?:you )?(?:long|many|much|often|old))|"
    r"what (?:do|did|does|has|have|is|are|was|were|would|happened|else|sort|kind|made|makes|worries|concerns)"
    r"(?! (?:time|day|age|year|date|dose))|"
    r"in what way|why)\b",
    re.I,
)
_EMPATHY = re.compile(
    r"\b(?:sorry to hear|so sorry|(?:i'?m|i am) (?:really |very |truly )?sorry (?:that|you|about|for)|"
    r"that must (?:be|have been)|"
    r"you (?:sound|seem|look) (?:really |very |so |quite |a bit |a little )?(?:worried|guilty|upset|frightened|"
    r"scared|anxious|low|stressed|exhausted|down|fed up|overwhelmed)|"
    r"(?:there are|here are|here'?s|have|some|a) tissues?\b(?! (?:mass|sample|damage|injury))|"
    r"(?:this|that|it) (?:must|sounds?|seems?) (?:be |been )?(?:really |very |so |quite )?"
    r"(?:hard|difficult|tough|frightening|scary|worrying|awful|upsetting|stressful|distressing|painful|"
    r"a (?:shock|lot)|overwhelming|exhausting|frustrating|horrible)|"
    r"i can (?:see|imagine|understand|tell)|i (?:can|could) (?:hear|see|tell) how|"
    r"i understand (?:that|how|why|this|it|your)|understandabl[ey]|"
    r"(?:sounds?|seems?) like (?:a |an )?(?:really |very |so |quite )?(?:hard|difficult|tough|frightening|scary|"
    r"worrying|awful|upsetting|stressful|distressing|horrible|rough|miserable|exhausting|lonely|terrible) "
    r"(?:time|few|week|day|night|year|month|couple|experience|situation|thing|start)|"
    r"(?:it'?s|it is|that'?s) (?:completely |perfectly |totally |absolutely |very )?(?:natural|normal|okay|ok|"
    r"alright|all right|fine|understandable) to (?:feel|be|cry|get)|"
    r"(?:sounds?|seems?|must be|must have been) (?:like )?(?:it'?s |it has |that )?"
    r"[\w' ,]{0,50}?(?:really |very |so |quite )"
    r"(?:hard|difficult|tough|frightening|scary|worrying|awful|upsetting|stressful|distressing|painful|"
    r"overwhelming|exhausting|frustrating|horrible|lonely|isolating)|"
    r"you(?:'re| are|'ve been| have been) (?:carrying|dealing with|coping with|going through|juggling) (?:so much|"
    r"a lot|an awful lot|such a lot)|(?:a lot|so much) on your (?:plate|shoulders)|"
    r"thank you for (?:telling|sharing|being)|that'?s a lot to (?:take in|deal with)|take your time|"
    r"i'?m here (?:for|to)|you'?re not alone|how are you (?:feeling|coping) (?:about|with)|"
    r"i appreciate (?:that|you|how)|that'?s (?:really |very )?(?:hard|difficult|tough|understandable))",
    re.I,
)
_DISMISSIVE = re.compile(
    r"\b(?:calm down|nothing to worry about|it'?s (?:just|only|probably just) (?:stress|anxiety|nothing|in your head)|"
    r"(?<!said )(?<!say )(?<!says )(?<!think )(?<!feel )you'?re (?:over ?reacting|being silly|fine)|"
    r"don'?t be silly|stop worrying|there'?s no need to (?:worry|cry)|"
    r"that'?s (?:nonsense|silly|ridiculous|superstition)|you shouldn'?t (?:believe|think) that)\b",
    re.I,
)
_GREETING = re.compile(r"\b(?:hello|hi|hiya|good (?:morning|afternoon|evening)|hey)\b", re.I)
_INTRO = re.compile(
    r"\b(?:i'?m|i am|my name is|my name'?s)\s+(?:dr\.?|doctor|one of the|a |the |[A-Z][a-z]+)|"
    r"\b(?:medical student|student doctor|one of the (?:gps|doctors))\b",
    re.I,
)
_CLOSING = re.compile(r"\b(?:goodbye|bye|take care|see you|all the best|look after yourself)\b", re.I)
_THANKS = re.compile(r"\b(?:thank you|thanks|cheers)\b", re.I)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(text.strip()) if s and s.strip()]


def clauses(text: str) -> list[str]:
    """Split an utterance into clauses, separating questions joined by 'and'/'or' ("Do you smoke and drink?")."""
    out: list[str] = []
    for sentence in sentences(text):
        parts = [p.strip(" ,;") for p in _JOINED_Q.split(sentence)]
        parts = [p for p in parts if len(p) > 1]
        if sentence.endswith("?"):  # every part of a question is a question
            parts = [p if p.endswith("?") else p + "?" for p in parts]
        out += parts
    return out


# A question after a greeting or preamble, as speech recognition often writes it without "?":
# "Hello, I'm Dr. Patel, what brings you in today."
_Q_AFTER_COMMA = re.compile(
    r",\s*(?:so\s+|and\s+)?(?:what|how|when|where|why|which|who|do you|does it|did you|have you|has it|are you|"
    r"is there|is it|can you|could you|would you|any)\b[^,]*$",
    re.I,
)


def is_question(clause: str) -> bool:
    c = clause.strip()
    return c.endswith("?") or bool(_Q_START.match(c)) or bool(_Q_AFTER_COMMA.search(c))


def is_open_question(clause: str) -> bool:
    c = clause.strip()
    return bool(_OPEN_START.match(c)) and is_question(c)


def is_empathic(text: str) -> bool:
    return bool(_EMPATHY.search(text))


def is_dismissive(text: str) -> bool:
    return bool(_DISMISSIVE.search(text))


def is_greeting(text: str) -> bool:
    return bool(_GREETING.search(text))


def is_introduction(text: str) -> bool:
    return bool(_INTRO.search(text))


def is_closing(text: str) -> bool:
    return bool(_CLOSING.search(text))


def is_thanks(text: str) -> bool:
    return bool(_THANKS.search(text))
