"""Content words: what a sentence is about, without function words, lightly stemmed.

Shared by the grader (does a summary restate what the patient said?) and the persona engine (does a
question share a word with the nearest statement?).
"""

from __future__ import annotations

import re

WORD = re.compile(r"[a-z][a-z']+|\d+")
STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        """
    a about above after again against all also am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
    during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself
    let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves
    out over own same shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this those through
    to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when when's
    where where's which while who who's whom why why's with won't would wouldn't you you'd you'll you're
    you've your yours yourself yourselves yeah yes okay ok um uh erm er mm hmm right well just like really
    quite bit kind sort actually basically mentioned mention said say saying told tell telling recap
    summarise summarize summary resummarize resummarise know think thought get got getting going gone go
    thing things feel feeling felt time lot little much many also anything something everything nothing one
    way sure good fine great doctor sir madam mister miss thank thanks please see seems seem sounds sound
    looks look want wanted today now still ever since already even back make made let describe described
    noticed notice been having
    """,
    )
)


def stem(word: str) -> str:
    """A crude stem: the first five letters ('smoking', 'smoker' -> 'smoki', 'smoke')."""
    return word[:5]


def content_stems(text: str) -> set[str]:
    return {stem(w) for w in WORD.findall(text.lower()) if w not in STOPWORDS and (len(w) >= 3 or w.isdigit())}


_QUESTION_FILLER = frozenset(stem(w) for w in ("problems", "issues", "trouble", "lately", "recently", "experienced"))


def content_words(text: str) -> set[str]:
    """content_stems without the filler of symptom questions ("any problems lately?"), for the engine."""
    return content_stems(text) - _QUESTION_FILLER


_MID_SENTENCE_CAPITAL = re.compile(r"(?<=[a-z0-9,;:)] )([A-Z][a-z]+)\b")


def proper_names(texts: list[str]) -> set[str]:
    """Capitalised words seen inside sentences ('my brother Ravi', 'in Lagos'): names of people and places."""
    return {m.group(1) for t in texts for m in _MID_SENTENCE_CAPITAL.finditer(t)} - {"I", "English"}


def lower_first(text: str, names: set[str]) -> str:
    """'Sean's started...' stays as it is after 'Well, '; 'It started...' becomes 'it started...'."""
    first = re.match(r"[A-Za-z]+", text)
    if not first or first.group(0) in names or first.group(0) == "I":
        return text
    return text[:1].lower() + text[1:]
