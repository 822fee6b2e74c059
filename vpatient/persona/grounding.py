"""Check a reply against the persona: which statements it tells, what it contradicts, what it invents.

Used by the fidelity harness (any engine) and by the guard of the LLM mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from vpatient.embeddings import Embedder
from vpatient.language.acts import sentences
from vpatient.persona import stock
from vpatient.persona.schema import Persona, Statement

_NEG = re.compile(r"\b(?:no|not|never|none|nothing|nor|neither|without|n't)\b|n't\b", re.I)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "half": 0.5,
    "once": 1,
    "twice": 2,
    "a couple": 2,
    "a few": 3,
}
_NUM_RE = re.compile(r"\b(\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b", re.I)
_DRUG_RE = re.compile(
    r"\b[a-z]+(?:pine|olol|pril|sartan|statin|formin|azole|cillin|mycin|prazole|oxetine|aline|azepam|"
    r"profen|amol|tidine|mab|nib|lukast|phylline|terol|sone|olone|parin|xaban|gatran|gliptin|glitazone|"
    r"zide|semide|mide|triptan|codone|morphine|caine|dronate|tropium|ipramine|triptyline)\b|"
    r"\b(?:aspirin|paracetamol|ibuprofen|insulin|warfarin|metformin|gliclazide|codeine|tramadol|"
    r"levothyroxine|salbutamol|gtn|nitroglycerin|clopidogrel|digoxin|lithium|sertraline|citalopram)\b",
    re.I,
)
STOCK = stock.LINES


def numbers(text: str) -> set[float]:
    out: set[float] = set()
    for m in _NUM_RE.finditer(text):
        tok = m.group(1).lower()
        out.add(float(tok) if tok[0].isdigit() else float(_NUMBER_WORDS[tok]))
    return out


def negated(text: str) -> bool:
    return bool(_NEG.search(text))


def drugs(text: str) -> set[str]:
    return {m.group(0).lower() for m in _DRUG_RE.finditer(text)}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]+", "", text.lower()).strip()


@dataclass(frozen=True)
class Conflict:
    sentence: str
    statement_id: str
    reason: str


class Grounding:
    TOLD = 0.80
    """A reply sentence this close to a statement sentence tells that statement."""
    NEAR = 0.60
    """A reply sentence this close to a statement is about it (checked for contradictions)."""
    SUPPORTED = 0.62
    """A reply sentence at least this close to some persona text is supported by it."""

    def __init__(self, persona: Persona, embedder: Embedder):
        self.persona = persona
        self.embedder = embedder
        self.statements = persona.statements()
        self._units: list[tuple[Statement, str]] = [(s, sent) for s in self.statements for sent in sentences(s.says)]
        self._unit_vecs = embedder.encode_many([u for _, u in self._units])
        other = [
            persona.opening_line,
            persona.presenting_complaint,
            *persona.unlisted.model_dump().values(),
            *persona.small_talk.model_dump().values(),
            *STOCK,
            *stock.persona_lines(persona),
        ]
        other += [s.cover_story for s in self.statements if s.cover_story]
        if persona.bad_news:
            r = persona.bad_news.reactions
            other += [r.to_warning_shot, r.to_news, r.to_jargon, r.to_empathy, *r.later_questions]
        self._other = [sent for text in other if text for sent in sentences(text)]
        self._other_vecs = embedder.encode_many(self._other)
        self._known_drugs = drugs(" ".join([s.says for s in self.statements] + self._other))
        self._says_norm = {s.id: _norm(s.says) for s in self.statements}
        self._other_norm = {_norm(t) for t in self._other}

    def told(self, reply: str) -> list[str]:
        """Ids of the statements the reply tells (verbatim, or a sentence of it closely paraphrased)."""
        low = _norm(reply)
        found = [s.id for s in self.statements if self._says_norm[s.id] and self._says_norm[s.id] in low]
        sents = [x for x in sentences(reply) if _norm(x)]
        if sents:
            sims = self.embedder.encode(sents) @ self._unit_vecs.T
            for i in range(len(sents)):
                j = int(sims[i].argmax())
                if sims[i, j] >= self.TOLD and self._units[j][0].id not in found:
                    found.append(self._units[j][0].id)
        order = {s.id: k for k, s in enumerate(self.statements)}
        return sorted(found, key=order.__getitem__)

    def conflicts(self, reply: str) -> list[Conflict]:
        """Sentences that contradict a statement: polarity, numbers, durations or drug names."""
        out: list[Conflict] = []
        sents = [x for x in sentences(reply) if _norm(x)]
        if not sents:
            return out
        sims = self.embedder.encode(sents) @ self._unit_vecs.T
        for i, sent in enumerate(sents):
            for d in sorted(drugs(sent) - self._known_drugs):
                out.append(Conflict(sent, "", f"names a drug the persona does not take: {d}"))
            j = int(sims[i].argmax())
            if sims[i, j] < self.NEAR:
                continue
            stmt, unit = self._units[j]
            if _norm(sent) == _norm(unit) or _norm(sent) in self._other_norm:
                continue  # the persona's own words (generic answers are checked against the question instead)
            if negated(sent) != negated(unit):
                out.append(Conflict(sent, stmt.id, f"polarity differs from {stmt.id!r}: {unit!r}"))
            extra = numbers(sent) - numbers(stmt.says)
            if extra:
                shown = ", ".join(f"{n:g}" for n in sorted(extra))
                out.append(Conflict(sent, stmt.id, f"number(s) {shown} not in {stmt.id!r}: {stmt.says!r}"))
        return out

    def unsupported(self, reply: str) -> list[str]:
        """Reply sentences that no persona text supports."""
        sents = [x for x in sentences(reply) if _norm(x)]
        if not sents:
            return []
        vecs = self.embedder.encode(sents)
        best = np.maximum((vecs @ self._unit_vecs.T).max(axis=1), (vecs @ self._other_vecs.T).max(axis=1))
        known = self._other_norm | {_norm(u) for _, u in self._units}
        return [s for s, b in zip(sents, best, strict=True) if b < self.SUPPORTED and _norm(s) not in known]

    def nearest(self, sentence: str) -> tuple[Statement | None, float]:
        """The statement a sentence is closest to, and how close (cosine)."""
        if not _norm(sentence) or not self._units:
            return None, 0.0
        sims = self.embedder.encode([sentence]) @ self._unit_vecs.T
        j = int(sims[0].argmax())
        return self._units[j][0], float(sims[0, j])

    def similarity(self, a: list[str], b: list[str]) -> np.ndarray:
        """Cosine similarities between two lists of sentences (len(a) x len(b))."""
        if not a or not b:
            return np.zeros((len(a), len(b)))
        return np.asarray(self.embedder.encode(a) @ self.embedder.encode(b).T)
