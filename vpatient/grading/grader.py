"""The deterministic rubric grader and its result types (the grade JSON contract, design.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vpatient.embeddings import Embedder
from vpatient.grading.analysis import Analysis
from vpatient.grading.detectors import Hit
from vpatient.grading.judge import Judge
from vpatient.grading.learned import (
    RubricModel,
    TurnFeatures,
    item_features,
    item_hash,
    load_model,
    transcript_features,
)
from vpatient.grading.matching import CompiledEvidence, Matches, find
from vpatient.grading.metrics import Metrics, compute
from vpatient.grading.schema import Detector, Evidence, Item, Kind, Rubric, Speaker
from vpatient.grading.totals import section_total, weighted_percent
from vpatient.transcript import Transcript

MAX_EVIDENCE = 3
"""Evidence turns cited per item (the earliest ones)."""


@dataclass
class EvidenceTurn:
    turn: int
    quote: str

    def to_json(self) -> dict[str, Any]:
        return {"turn": self.turn, "quote": self.quote}


@dataclass
class ItemGrade:
    id: str
    kind: str
    met: bool
    score: float
    max: float
    evidence: list[EvidenceTurn]
    rationale: str
    title: str = ""
    section: str = ""
    feedback: str = ""
    reasons: list[str] = field(default_factory=list)
    """Why each evidence turn counts (parallel to `evidence`)."""
    judged_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "met": self.met,
            "score": self.score,
            "max": self.max,
            "evidence": [e.to_json() for e in self.evidence],
            "rationale": self.rationale,
            "title": self.title,
            "section": self.section,
            "feedback": self.feedback,
        }
        if self.judged_by:
            out["judged_by"] = self.judged_by
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ItemGrade:
        return cls(
            id=d["id"],
            kind=d["kind"],
            met=bool(d["met"]),
            score=float(d["score"]),
            max=float(d["max"]),
            evidence=[EvidenceTurn(int(e["turn"]), str(e["quote"])) for e in d.get("evidence", [])],
            rationale=d.get("rationale", ""),
            title=d.get("title", ""),
            section=d.get("section", ""),
            feedback=d.get("feedback", ""),
            judged_by=d.get("judged_by"),
        )


@dataclass
class SectionGrade:
    """A section's marks: `earned` by its behaviour items, minus `deducted` for its faults, never below zero,
    is its `score` out of `max`; the grade's score is the sum of its sections' scores."""

    id: str
    title: str
    weight: float
    score: float
    max: float
    percent: float | None
    earned: float = 0.0
    deducted: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Grade:
    """A graded transcript. `to_json()` is the grade JSON contract (plus extra fields)."""

    rubric: str
    transcript: str
    score: float
    max_score: float
    items: list[ItemGrade]
    sections: list[SectionGrade] = field(default_factory=list)
    percent: float = 0.0
    passed: bool = False
    pass_mark: float = 0.0
    rubric_title: str = ""
    warnings: list[str] = field(default_factory=list)
    metrics: Metrics = field(default_factory=Metrics)

    def item(self, item_id: str) -> ItemGrade:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "rubric": self.rubric,
            "transcript": self.transcript,
            "score": self.score,
            "max_score": self.max_score,
            "items": [i.to_json() for i in self.items],
            "rubric_title": self.rubric_title,
            "percent": self.percent,
            "passed": self.passed,
            "pass_mark": self.pass_mark,
            "sections": [s.to_json() for s in self.sections],
            "warnings": list(self.warnings),
            "metrics": self.metrics.to_json(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Grade:
        """Rebuild a Grade from its JSON (e.g. as stored); unknown extra fields are ignored."""
        return cls(
            rubric=d["rubric"],
            transcript=d["transcript"],
            score=float(d["score"]),
            max_score=float(d["max_score"]),
            items=[ItemGrade.from_json(i) for i in d["items"]],
            sections=[SectionGrade(**s) for s in d.get("sections", [])],
            percent=float(d.get("percent", 0.0)),
            passed=bool(d.get("passed", False)),
            pass_mark=float(d.get("pass_mark", 0.0)),
            rubric_title=d.get("rubric_title", ""),
            warnings=list(d.get("warnings", [])),
            metrics=Metrics.from_json(d.get("metrics", {})),
        )


@dataclass
class RuleMatches:
    """What a rubric's rules found in one transcript: per event and item the matches, why a match was
    dropped (ordering), and the first turn of each event."""

    analysis: Analysis
    raw: dict[str, Matches]
    dropped: dict[str, str]
    events: dict[str, int | None]


def _turn_quote(an: Analysis, turn: int, limit: int = 300) -> str:
    text = an.texts[turn].strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class Grader:
    """Grades transcripts against one rubric. Build once (regexes compiled, examples embedded), reuse."""

    def __init__(
        self,
        rubric: Rubric,
        embedder: Embedder | None = None,
        judge: Judge | None = None,
        *,
        learned: bool = True,
    ):
        self.rubric = rubric
        self.judge = judge
        self._embedder = embedder
        self._compiled: dict[str, CompiledEvidence] = {e.id: CompiledEvidence(e.evidence) for e in rubric.events}
        self._compiled.update({i.id: CompiledEvidence(i.evidence) for i in rubric.items()})
        self._needs_embeddings = any(c.by_meaning for c in self._compiled.values())
        self._ready = False
        self._cache: dict[str, np.ndarray] = {}
        jargon_items = [i.evidence for i in rubric.items() if i.evidence.detector == Detector.jargon_unexplained]
        self._jargon_terms: tuple[list[str], list[str]] = (
            [t for ev in jargon_items for t in ev.terms],
            [t for ev in jargon_items for t in ev.ignore_terms],
        )
        self._active: list[str] = []
        self._model_warnings: list[str] = []
        self.model: RubricModel | None = None
        if learned:
            try:
                self.model = load_model(rubric.id)
            except ValueError as exc:  # weights of another feature version: the rules decide until retrained
                self._model_warnings.append(
                    f"the learned weights of {rubric.id} are unusable ({exc}); every item graded by its rules only "
                    "(retrain: scripts/train_grader.py)"
                )
        if self.model is not None:
            for item in rubric.items():
                m = self.model.items.get(item.id)
                if m is None or m.policy == "rules":
                    continue
                if m.item_hash != item_hash(item):
                    self._model_warnings.append(
                        f"{item.id}: the learned weights were trained for another version of this item; "
                        "graded by its rules only (retrain: scripts/train_grader.py)"
                    )
                    continue
                self._active.append(item.id)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from vpatient.embeddings import default_embedder

            self._embedder = default_embedder()
        return self._embedder

    def prepare(self) -> None:
        """Load the embedding model and embed the rubric's examples (done on first grade otherwise)."""
        if self._ready:
            return
        if self._needs_embeddings:
            for ce in self._compiled.values():
                ce.embed_examples(self.embedder.encode_many)
        self._ready = True

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    def grade(self, transcript: Transcript) -> Grade:
        self.prepare()
        rules = self.rule_matches(transcript)
        an = rules.analysis
        warnings: list[str] = list(self._model_warnings)
        if not transcript.turns:
            warnings.append("the transcript has no turns: nothing can be met")
        elif not any(an.texts[t].strip() for t in an.speaker_turns(Speaker.learner)):
            warnings.append("the transcript has no learner speech: nothing can be met")
        learned = self._learned_hits(rules)
        items: list[ItemGrade] = []
        for section in self.rubric.sections:
            for item in section.items:
                found = rules.raw[item.id]
                hits = list(found.hits)
                extra = learned.get(item.id)
                if extra is not None:
                    policy = self.model.items[item.id].policy if self.model else "rules"
                    if policy == "learned" or (policy == "either" and not hits):
                        hits = extra
                dropped = rules.dropped.get(item.id) if not hits else None
                items.append(self._item_grade(item, section.id, hits, found, dropped, transcript))
        return self._total(transcript, items, warnings, compute(an, *self._jargon_terms))

    def rule_matches(self, transcript: Transcript) -> RuleMatches:
        """What the rubric's own rules (acts, phrases, patterns, examples, detectors, ordering) find, per
        event and item, before any learned weights are applied."""
        self.prepare()
        an = Analysis(transcript)
        raw: dict[str, Matches] = {}
        dropped: dict[str, str] = {}
        cache = self._cache

        def encode_cached(texts: Sequence[str]) -> np.ndarray:
            missing = list(dict.fromkeys(t for t in texts if t not in cache))
            if missing:
                for text, vector in zip(missing, self._encode(missing), strict=True):
                    cache[text] = vector
            return np.stack([cache[t] for t in texts])

        encode = encode_cached if self._needs_embeddings else None
        resolving: set[str] = set()

        def first(key: str) -> tuple[int, int] | None:
            hits = resolve(key).hits
            return hits[0].order if hits else None

        def resolve(key: str) -> Matches:
            if key in raw:
                return raw[key]
            if not transcript.turns:
                raw[key] = Matches([], [])
                return raw[key]
            if key in resolving:  # cycles are refused by the rubric check anyway
                return Matches([], [])
            resolving.add(key)
            ev: Evidence = self._compiled[key].ev
            before = first(ev.before) if ev.before else None
            after = first(ev.after) if ev.after else None
            if ev.after and after is None:
                found = find(self._compiled[key], an, None)  # rules only: to say what was found
                if found.hits:
                    dropped[key] = f"found at turn {found.hits[0].turn}, but {ev.after} never happened"
                raw[key] = Matches([], [])
            else:
                raw[key] = found = find(self._compiled[key], an, encode, after=after, before=before)
                if found.outside and not found.hits:
                    h = found.outside[0]
                    where = f"before {ev.before}" if ev.before and before is not None and h.order >= before else ""
                    where = where or (f"after {ev.after}" if ev.after and after is not None else "inside its window")
                    limit = before if where.startswith("before") else after
                    dropped[key] = f"found at turn {h.turn}, but not {where} (turn {limit[0] if limit else '?'})"
            resolving.discard(key)
            return raw[key]

        for event in self.rubric.events:
            resolve(event.id)
        for item in self.rubric.items():
            resolve(item.id)
        if len(cache) > 20000:
            cache.clear()
        events = {e.id: (raw[e.id].hits[0].turn if raw[e.id].hits else None) for e in self.rubric.events}
        return RuleMatches(an, raw, dropped, events)

    def turn_features(self, rules: RuleMatches) -> TurnFeatures:
        """The item-independent learned features of every learner turn (see vpatient.grading.learned)."""
        return transcript_features(rules.analysis, self._encode_turns, rules.events)

    def item_features(self, rules: RuleMatches, tf: TurnFeatures, item_id: str) -> np.ndarray:
        return self.features_for(tf, {h.turn for h in rules.raw[item_id].hits}, item_id)

    def features_for(self, tf: TurnFeatures, rule_turns: set[int], item_id: str) -> np.ndarray:
        """The learned features of one item, given the turns its rules matched."""
        ce = self._compiled[item_id]
        if ce.by_meaning and ce.example_vectors is None:
            ce.embed_examples(self.embedder.encode_many)
        return item_features(tf, rule_turns, ce.example_vectors, ce.counter_vectors)

    def _encode_turns(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return self.embedder.encode(texts)

    def _learned_hits(self, rules: RuleMatches) -> dict[str, list[Hit]]:
        """Per item decided (partly) by learned weights: the learner turns at or above its threshold, best
        first (empty list when none)."""
        if self.model is None or not self._active:
            return {}
        tf = self.turn_features(rules)
        out: dict[str, list[Hit]] = {}
        for item_id in self._active:
            m = self.model.items[item_id]
            if not tf.turns:
                out[item_id] = []
                continue
            try:
                p = m.probabilities(self.item_features(rules, tf, item_id))
            except ValueError as exc:
                # the rubric's events changed since training (another feature count): the rules decide
                self._model_warnings.append(f"{exc}; graded by its rules only (retrain: scripts/train_grader.py)")
                continue
            order = np.argsort(-p, kind="stable")
            hits: list[Hit] = []
            for k in order:
                if p[k] < m.threshold:
                    break
                t = tf.turns[int(k)]
                reason = f"reads like the item's evidence in the assessors' examples (learned, p={float(p[k]):.2f})"
                hits.append(Hit(t, 0, _turn_quote(rules.analysis, t), reason, similarity=float(p[k])))
            # the evidence is the turn that shows the behaviour: where the item's own rules also matched some
            # of these turns, those are cited (the met decision is the model's either way)
            ruled = {h.turn for h in rules.raw[item_id].hits}
            if any(h.turn in ruled for h in hits):
                hits = [h for h in hits if h.turn in ruled]
            out[item_id] = hits
        return out

    def _item_grade(
        self,
        item: Item,
        section: str,
        hits: list[Hit],
        raw: Matches,
        dropped: str | None,
        transcript: Transcript,
    ) -> ItemGrade:
        judged_by = None
        if not hits and raw.borderline and self.judge is not None and not dropped:
            verdict = self.judge.settle(item, transcript, raw.borderline)
            if verdict is not None and verdict.met:
                quote = next(
                    (h.quote for h in raw.borderline if h.turn == verdict.turn),
                    transcript.turns[verdict.turn].text,
                )
                hits = [Hit(verdict.turn, 0, quote, verdict.rationale)]
                judged_by = self.judge.name
        met = bool(hits)
        cited: list[Hit] = []
        # the clearest evidence first: closest in meaning to the item's examples, then the earliest
        for h in sorted(hits, key=lambda h: (-(h.similarity or 0.0), h.order)):
            if all(c.turn != h.turn for c in cited):
                cited.append(h)
            if len(cited) == MAX_EVIDENCE:
                break
        fault = item.kind == Kind.fault
        if met:
            more = sorted({h.turn for h in hits} - {c.turn for c in cited})
            also = f" (also turns {', '.join(map(str, more[:5]))}{'...' if len(more) > 5 else ''})" if more else ""
            lead = "Happened" if fault else "Done"
            rationale = f"{lead} at turn {cited[0].turn}: {cited[0].reason}{also}."
        elif dropped:
            rationale = f"Not met: {dropped}."
        else:
            rationale = "Not found in any learner turn." if not fault else "Did not happen in any learner turn."
            if raw.vetoed:
                v = raw.vetoed[0]
                rationale += f" Turn {v.turn} looked like it but is {v.reason}."
            if raw.borderline:
                b = max(raw.borderline, key=lambda h: h.similarity or 0.0)
                rationale += f" Closest: turn {b.turn}, {b.reason}."
        if fault:
            score, top = (-item.marks if met else 0.0), 0.0
            feedback = item.feedback.met if met else item.feedback.missed
        else:
            score, top = (item.marks if met else 0.0), item.marks
            feedback = item.feedback.met if met else item.feedback.missed
        return ItemGrade(
            id=item.id,
            kind=item.kind.value,
            met=met,
            score=float(score),
            max=float(top),
            evidence=[EvidenceTurn(h.turn, h.quote) for h in cited],
            rationale=rationale,
            title=item.label,
            section=section,
            feedback=feedback,
            reasons=[h.reason for h in cited],
            judged_by=judged_by,
        )

    def _total(self, transcript: Transcript, items: list[ItemGrade], warnings: list[str], metrics: Metrics) -> Grade:
        sections: list[SectionGrade] = []
        for section in self.rubric.sections:
            mine = [i for i in items if i.section == section.id]
            t = section_total([i.score for i in mine], [i.max for i in mine])
            sections.append(
                SectionGrade(section.id, section.title, section.weight, t.score, t.top, t.percent, t.earned, t.deducted)
            )
        percent = weighted_percent([(s.weight, s.percent) for s in sections])
        return Grade(
            rubric=self.rubric.id,
            transcript=transcript.id,
            score=float(sum(s.score for s in sections)),
            max_score=float(sum(s.max for s in sections)),
            items=items,
            sections=sections,
            percent=percent,
            passed=percent >= self.rubric.pass_mark,
            pass_mark=self.rubric.pass_mark,
            rubric_title=self.rubric.title,
            warnings=warnings,
            metrics=metrics,
        )


_graders: dict[int, Grader] = {}


def grade(transcript: Transcript, rubric: Rubric, *, embedder: Embedder | None = None) -> Grade:
    """Grade one transcript (the Grader for `rubric` is built once and reused)."""
    grader = _graders.get(id(rubric))
    if grader is None or grader.rubric is not rubric or (embedder is not None and grader._embedder is not embedder):
        grader = Grader(rubric, embedder=embedder)
        _graders[id(rubric)] = grader
    return grader.grade(transcript)


def grade_json(transcript: Transcript, rubric: Rubric) -> dict[str, Any]:
    """The grade JSON contract for one transcript (store-friendly)."""
    return grade(transcript, rubric).to_json()
