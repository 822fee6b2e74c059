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
from vpatient.language.words import content_stems

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
