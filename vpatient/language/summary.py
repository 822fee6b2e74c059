"""Summaries: does a learner's turn restate at least two things the patient said?

A summary opens with a marker ('just to recap', 'so you've had...', 'you mentioned...') and goes on to
restate at least two facts, so that 'you mentioned the pain; where is it?' stays a follow-up question.
Each comma/'and'-separated
segment of the summarising sentences counts as a restated fact when it shares a content word with what
the patient said before; examination findings ('your chest sounds clear') and the clinician's
conclusions ('I think it's a virus') are not restated facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vpatient.language.acts import sentences
from vpatient.language.moves import clean, summary_marker_span

_WORD = re.compile(r"[a-z][a-z']+|\d+")
_STOP = frozenset(
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
_EXAM = re.compile(
    r"\b(?:examin\w*|on examination|i(?:'ve| have)? (?:looked|listened|checked|felt|had a look)|having "
    r"(?:looked|listened|"
    r"examined)|sounds? (?:clear|normal|fine)|(?:temperature|blood pressure|pulse|heart rate|oxygen|sats|"
    r"saturations|"
    r"observations|obs|results?|tests?) (?:is|was|are|were|showed?|came back))\b",
    re.I,
)
_CONCLUSION = re.compile(
    r"^(?:\W*(?:so|and|um|uh|okay|ok|well|now)\W+)*(?:i (?:think|wonder|suspect|believe|feel|reckon)|it "
    r"(?:sounds|seems|looks) "
    r"like|(?:this|that|it) (?:could|might|may) be|my (?:impression|diagnosis|feeling)|normally at this "
    r"(?:stage|point)|"
    r"what i(?:'d| would)? (?:like|suggest|recommend))",
    re.I,
)
_ADVICE = re.compile(
    r"^\W*(?:(?:so|and|but|um|uh|then)\W+)*(?:if|unless|you should|you can|you could|try|make sure|i(?:'d| "
    r"would)|"
    r"we(?:'ll| will| can)|take|keep|carry on)\b",
    re.I,
)
"""Advice ('if you increase the puffs...') restates nothing the patient said."""
_Q_OPEN = re.compile(
    r"^\W*(?:(?:so|and|okay|ok|um|uh|right|also|then)\W+)*(?:do|does|did|have|has|had|are|is|was|were|can|"
    r"could|would|will|"
    r"any|anything|how|what|when|where|which|who|why)\b",
    re.I,
)


def _stem(word: str) -> str:
    return word[:5]


def content_stems(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and (len(w) >= 3 or w.isdigit())}


@dataclass(frozen=True)
class SummaryEvidence:
    quote: str
    facts: list[str]
    """The segments that restate something the patient said."""


def find_summary(text: str, patient_said: str) -> SummaryEvidence | None:
    """A summary in `text` restating enough of `patient_said` (the patient's earlier words), or None."""
    body = clean(text)
    span = summary_marker_span(body)
    if span is None:
        return None
    sents = sentences(body)
    # the sentence holding the marker, and up to three sentences after it, until a conclusion starts
    pos = 0
    start_i = 0
    for i, sent in enumerate(sents):
        found = body.find(sent, pos)
        if found >= 0:
            pos = found
        if found <= span[0] < found + len(sent) + 1:
            start_i = i
            break
    chosen: list[str] = []
    for sent in sents[start_i : start_i + 4]:
        if chosen and _CONCLUSION.match(sent):
            break
        chosen.append(sent)
    patient = content_stems(patient_said)
    if not patient:
        return None
    facts: list[str] = []
    used: set[str] = set()
    for sent in chosen:
        if _Q_OPEN.match(sent) and sent.rstrip().endswith("?"):
            continue  # a new question, not a restatement
        for segment in re.split(r"[,;:]|\band\b|\bbut\b|\bas well as\b|\bplus\b", sent):
            if _EXAM.search(segment) or _CONCLUSION.match(segment.strip()) or _ADVICE.match(segment.strip()):
                continue
            shared = (content_stems(segment) & patient) - used
            if shared:
                used |= shared
                facts.append(segment.strip(" .?!"))
    if len(facts) < 2:
        return None
    return SummaryEvidence(quote=" ".join(chosen), facts=facts)
