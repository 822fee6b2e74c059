"""The grader's one jargon term list, and the one rule for "explained", shared by the communication metric
(Metrics.jargon) and the fault item (detector jargon_unexplained): a turn counted as unexplained jargon by
the metric is exactly a turn the fault item can cite.

The terms are vpatient.language.jargon.JARGON (the patient engine reads the same lexicon with its own rules;
nothing here changes the engine). LAY_TERMS are words most patients know, never counted; a rubric's jargon
item adds its own `terms` and `ignore_terms` to both the metric and the fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from vpatient.grading.analysis import Analysis
from vpatient.language import jargon as lexicon

TERMS: dict[str, str] = lexicon.JARGON
"""Term (regular expression, lower case) -> a plain word for it."""

LAY_TERMS: frozenset[str] = frozenset(
    {"chemotherapy", "radiotherapy", "ct scan", "mri", "ecg", "biopsy", "scan", "x-ray"}
)
"""Medical words most patients know (docs/rubric_items.md: CT, MRI, chemotherapy, radiotherapy are not jargon)."""

_MEANING_Q = re.compile(
    r"\bwhat (?:does|do|is|'s) (?:that|this|it|\w+) (?:mean|means)\b|\bwhat'?s that\b|\bmeaning\b", re.I
)


@dataclass(frozen=True)
class Use:
    turn: int
    term: str
    explained: bool


def _extra(terms: Iterable[str]) -> re.Pattern[str] | None:
    terms = [t for t in terms if t.strip()]
    if not terms:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(t) for t in terms) + r")\b", re.I)


def uses_in_turn(an: Analysis, t: int, extra_terms: Iterable[str] = (), ignore_terms: Iterable[str] = ()) -> list[Use]:
    """Every jargon term (and medical-looking abbreviation) in learner turn t, each once, with whether it was
    explained: in the same turn, by a definition ('X means...'), by the learner's next turn when the patient
    did not have to ask, or because the patient used the word first."""
    text = an.texts[t]
    ignore = LAY_TERMS | {x.lower() for x in ignore_terms}
    found = lexicon.occurrences(text)
    extra = _extra(extra_terms)
    if extra:
        found += [(m.group(1).lower(), m.start(1)) for m in extra.finditer(text)]
    abbrevs = [(w, p) for w, p in lexicon.acronyms(text) if w.lower() not in ignore]
    if not found and not abbrevs:
        return []
    patient_before = an.said_before(t, "patient").lower()
    nxt = an.next(t, "learner")
    between = " ".join(an.texts[t + 1 : nxt]) if nxt is not None else ""
    follow = an.texts[nxt] if nxt is not None and not _MEANING_Q.search(between) else ""
    out: dict[str, bool] = {}
    for term, pos in found:
        if term in ignore or out.get(term):
            continue
        ok = (
            bool(re.search(r"\b" + re.escape(term) + r"\b", patient_before))  # the patient used the word first
            or lexicon.explained_at(text, term, pos)
            or _defined(text, term, pos)
            or bool(follow and (lexicon.explained(follow, term) or _plain_word_in(term, follow)))
        )
        out[term] = out.get(term, False) or ok
    for word, pos in abbrevs:
        if out.get(word):
            continue
        ok = (
            bool(re.search(r"\b" + re.escape(word.lower()) + r"\b", patient_before))
            or lexicon.acronym_explained(text, word, pos)
            or _defined(text, word, pos)
            or lexicon.spelled_out(an.said_before(t, "learner"), word)  # spelled out earlier
            or bool(follow and lexicon.acronym_explained(follow + " " + word, word, len(follow) + 1))
        )
        out[word] = out.get(word, False) or ok
    return [Use(t, term, ok) for term, ok in out.items()]


def uses(an: Analysis, extra_terms: Iterable[str] = (), ignore_terms: Iterable[str] = ()) -> list[Use]:
    """Every jargon use of the learner in the consultation (see uses_in_turn)."""
    extra, ignore = list(extra_terms), list(ignore_terms)
    out: list[Use] = []
    for t, role in enumerate(an.roles):
        if role == "learner":
            out += uses_in_turn(an, t, extra, ignore)
    return out


def _defined(text: str, term: str, pos: int) -> bool:
    """'X means...', 'X is when...', or naming a plainly described thing: 'the medicines are called X'."""
    after = re.compile(
        re.escape(term)
        + r"\W+(?:\w+\W+){0,2}(?:means?|is when|is where|refers to|describes|is the (?:name|word|term))\b",
        re.I,
    )
    if after.search(text):
        return True
    return bool(re.search(r"\b(?:called|known as|we call|termed|named)\W*$", text[max(0, pos - 30) : pos], re.I))


def _plain_word_in(term: str, text: str) -> bool:
    low = text.lower()
    for pattern, plain in TERMS.items():
        if re.fullmatch(pattern, term):
            return plain.lower() in low
    return False
