"""Train the learned part of the grader (vpatient.grading.learned) from labelled DEVELOPMENT transcripts only.

Examples are turns: the evidence turns of transcripts an assessor marked 1 are positives, every learner turn of
transcripts marked 0 is a negative (the other turns of a transcript marked 1 are left out: they are neither).
A transcript's score for an item is its best learner turn's probability. The regularisation, the threshold and
the policy (rules / learned / either) are chosen per item by cross-validation on the development transcripts,
folded by transcript; the learned part is kept only when it beats the rules by a margin. The cross-validated
figures are reported twice: with choices made on the same folds (optimistic) and nested (the choice made inside
each outer fold's training part only; the honest estimate).
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vpatient.grading.agreement import cohen_kappa, gwet_ac1
from vpatient.grading.grader import Grader
from vpatient.grading.learned import (
    TURN_FEATURES_VERSION,
    ItemModel,
    RubricModel,
    fit_logistic,
    item_hash,
    select,
)
from vpatient.grading.schema import Rubric
from vpatient.transcript import Transcript

L2_GRIDS: dict[str, tuple[float, ...]] = {"compact": (1.0, 10.0, 100.0), "embedding": (30.0, 150.0)}
"""Per feature set, the regularisation tried (on standardised features): strong for the ~20 named features,
stronger for the ~400 with the turn's embedding."""
THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.2, 0.96, 0.05))
FOLDS = 5
MARGIN = 0.03
"""The learned part must beat the rules' cross-validated kappa by this much to be used."""


@dataclass
class Example:
    """One labelled transcript, prepared: per item its learner-turn features and its rules' verdict."""

    id: str
    turns: list[int]
    x: dict[str, np.ndarray]
    rule_met: dict[str, bool]
    label: dict[str, int]
    evidence: dict[str, list[int]]


@dataclass
class ItemReport:
    item: str
    policy: str
    l2: float
    threshold: float
    rules: dict[str, Any]
    cv: dict[str, Any]
    nested: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    predictions: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per transcript: the human label, the rules' verdict and the nested cross-validated verdict."""


def _code_key() -> str:
    """The source of the rules (detectors, matching, the language modules): a change to it invalidates the
    cached rule matches as a change to the rubric does."""
    import vpatient

    root = Path(vpatient.__file__).parent
    rules = ("analysis", "detectors", "grader", "jargon", "matching", "rubric", "schema")
    files = sorted([*(root / "language").glob("*.py"), *(root / "grading" / f"{n}.py" for n in rules)])
    files.append(root / "patterns.py")
    h = hashlib.sha256()
    for f in files:
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def prepare(
    grader: Grader,
    transcripts: dict[str, Transcript],
    labels: dict[str, dict[str, Any]],
    ids: Sequence[str],
    cache: Path | None = None,
) -> list[Example]:
    """The examples of `ids`; the rules' matches and the turn features (the slow part) are kept in `cache`
    (a folder) keyed by the rubric's content and the transcript's text, so a re-run only redoes the fitting."""
    out: list[Example] = []
    items = [i.id for i in grader.rubric.items()]
    rubric_key = hashlib.sha256((grader.rubric.model_dump_json() + _code_key()).encode()).hexdigest()[:12]
    for tid in ids:
        t = transcripts[tid]
        key = hashlib.sha256(
            (rubric_key + str(TURN_FEATURES_VERSION) + json.dumps(t.to_json(), sort_keys=True)).encode()
        ).hexdigest()[:20]
        path = cache / f"{key}.pkl" if cache else None
        if path is not None and path.is_file():
            tf, rule_turns = pickle.loads(path.read_bytes())
        else:
            rules = grader.rule_matches(t)
            tf = grader.turn_features(rules)
            rule_turns = {i: {h.turn for h in rules.raw[i].hits} for i in items}
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(pickle.dumps((tf, rule_turns)))
        lab = labels[tid]
        out.append(
            Example(
                id=tid,
                turns=tf.turns,
                x={i: grader.features_for(tf, rule_turns[i], i) for i in items},
                rule_met={i: bool(rule_turns[i]) for i in items},
                label={i: int(lab[i]["label"]) for i in items if i in lab},
                evidence={i: [int(x) for x in lab[i].get("turns", [])] for i in items if i in lab},
            )
        )
    return out


def _training_set(exs: Sequence[Example], item: str, features: str = "compact") -> tuple[np.ndarray, np.ndarray]:
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for e in exs:
        if item not in e.label or e.x[item].shape[0] == 0:
            continue
        if e.label[item] == 1:
            keep = [k for k, t in enumerate(e.turns) if t in set(e.evidence[item])]
            if keep:
                xs.append(select(e.x[item], features)[keep])
                ys.append(np.ones(len(keep)))
        else:
            xs.append(select(e.x[item], features))
            ys.append(np.zeros(len(e.turns)))
    if not xs:
        return np.zeros((0, 0)), np.zeros(0)
    return np.vstack(xs).astype(np.float64), np.concatenate(ys)


def _fit(exs: Sequence[Example], item: str, l2: float, features: str = "compact") -> ItemModel | None:
    x, y = _training_set(exs, item, features)
    if len(y) == 0 or y.min() == y.max():
        return None
    pos = y.sum()
    weight = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * (len(y) - pos)))
    w, b, mean, scale = fit_logistic(x, y, l2, weight)
    return ItemModel(item=item, policy="learned", weights=w, bias=b, mean=mean, scale=scale, features=features)


def _score(model: ItemModel | None, e: Example, item: str) -> float:
    if model is None or e.x[item].shape[0] == 0:
        return 0.0
    return float(model.probabilities(e.x[item].astype(np.float64)).max())


def folds_of(ids: Sequence[str], k: int = FOLDS) -> list[int]:
    """Deterministic folds by transcript: sorted ids dealt round-robin."""
    order = sorted(ids)
    return [order.index(i) % k for i in ids]


def _oof_scores(exs: Sequence[Example], item: str, l2: float, k: int = FOLDS, features: str = "compact") -> np.ndarray:
    fold = folds_of([e.id for e in exs], k)
    scores = np.zeros(len(exs))
    for f in range(k):
        train = [e for e, g in zip(exs, fold, strict=True) if g != f]
        model = _fit(train, item, l2, features)
        for j, (e, g) in enumerate(zip(exs, fold, strict=True)):
            if g == f:
                scores[j] = _score(model, e, item)
    return scores


def _kappa(h: Sequence[int], m: Sequence[int]) -> float:
    k = cohen_kappa(list(h), list(m))
    return -1.0 if k is None else k


def figures(h: Sequence[int], m: Sequence[int]) -> dict[str, Any]:
    pairs = list(zip(h, m, strict=True))
    k = cohen_kappa(list(h), list(m))
    a = gwet_ac1(list(h), list(m))
    return {
        "n": len(pairs),
        "kappa": None if k is None else round(k, 3),
        "ac1": None if a is None else round(a, 3),
        "tp": pairs.count((1, 1)),
        "fp": pairs.count((0, 1)),
        "fn": pairs.count((1, 0)),
        "tn": pairs.count((0, 0)),
    }


@dataclass
class Choice:
    policy: str
    l2: float
    threshold: float
    kappa: float
    features: str = "compact"


def _decide(policy: str, rule: bool | int, score: float, thr: float) -> int:
    if policy == "rules":
        return int(rule)
    if policy == "learned":
        return int(score >= thr)
    return int(rule or score >= thr)


def choose(exs: Sequence[Example], item: str, k: int = FOLDS) -> Choice:
    """The best (policy, l2, threshold) by cross-validated kappa; the rules unless learned beats them by MARGIN.
    A threshold's kappa is averaged with its neighbours' so that a lucky single threshold is not chosen."""
    exs = [e for e in exs if item in e.label]
    h = [e.label[item] for e in exs]
    rules = [int(e.rule_met[item]) for e in exs]
    best = Choice("rules", 0.0, 0.5, _kappa(h, rules))
    if len(set(h)) < 2:
        return best
    top = best
    for features, grid in L2_GRIDS.items():
        for l2 in grid:
            scores = _oof_scores(exs, item, l2, k, features)
            for policy in ("learned", "either"):
                ks = [
                    _kappa(h, [_decide(policy, r, s, thr) for r, s in zip(rules, scores, strict=True)])
                    for thr in THRESHOLDS
                ]
                smooth = [float(np.mean(ks[max(0, i - 1) : i + 2])) for i in range(len(ks))]
                i = int(np.argmax(smooth))
                if smooth[i] > top.kappa + (MARGIN if top.policy == "rules" else 0.0):
                    top = Choice(policy, l2, THRESHOLDS[i], smooth[i], features)
    return top


def train_item(exs: Sequence[Example], item: str, nested: bool = True) -> tuple[ItemModel, ItemReport]:
    mine = [e for e in exs if item in e.label]
    h = [e.label[item] for e in mine]
    rules = [int(e.rule_met[item]) for e in mine]
    c = choose(mine, item)
    notes: list[str] = []
    if c.policy == "rules":
        model = ItemModel(item=item, policy="rules")
        cv_pred = rules
    else:
        fitted = _fit(mine, item, c.l2, c.features)
        if fitted is None:
            model, cv_pred = ItemModel(item=item, policy="rules"), rules
            notes.append("no positive or no negative turns: rules only")
        else:
            model = fitted
            model.policy, model.threshold = c.policy, c.threshold
            scores = _oof_scores(mine, item, c.l2, features=c.features)
            cv_pred = [_decide(c.policy, r, s, c.threshold) for r, s in zip(rules, scores, strict=True)]
    nested_pred = list(rules)
    if nested and len(set(h)) > 1:
        fold = folds_of([e.id for e in mine])
        for f in range(FOLDS):
            train = [e for e, g in zip(mine, fold, strict=True) if g != f]
            inner = choose(train, item, k=FOLDS - 1)
            m = _fit(train, item, inner.l2, inner.features) if inner.policy != "rules" else None
            for j, (e, g) in enumerate(zip(mine, fold, strict=True)):
                if g == f:
                    s = _score(m, e, item)
                    nested_pred[j] = _decide(inner.policy, e.rule_met[item], s, inner.threshold)
    if model.policy != "rules" and nested and len(set(h)) > 1:
        gain = _kappa(h, nested_pred) - _kappa(h, rules)
        if gain < MARGIN:  # the honest (nested) estimate does not beat the rules clearly: keep the rules
            notes.append(f"learned {model.policy} dropped: nested kappa does not beat the rules ({gain:+.3f})")
            model = ItemModel(item=item, policy="rules")
    report = ItemReport(
        item=item,
        policy=model.policy,
        l2=c.l2,
        threshold=c.threshold,
        rules=figures(h, rules),
        cv=figures(h, cv_pred),
        nested=figures(h, nested_pred),
        notes=notes,
        predictions={
            e.id: {"human": a, "rules": b, "nested": c} for e, a, b, c in zip(mine, h, rules, nested_pred, strict=True)
        },
    )
    model.cv = {
        "rules": report.rules,
        "cv": report.cv,
        "nested_cv": report.nested,
        "l2": c.l2,
        "features": c.features,
    }
    return model, report


def train(
    rubric: Rubric,
    grader: Grader,
    examples: Sequence[Example],
    nested: bool = True,
) -> tuple[RubricModel, list[ItemReport]]:
    items: dict[str, ItemModel] = {}
    reports: list[ItemReport] = []
    for item in rubric.items():
        model, report = train_item(examples, item.id, nested=nested)
        model.item_hash = item_hash(item)
        items[item.id] = model
        reports.append(report)
    rm = RubricModel(
        rubric=rubric.id,
        embedder=grader.embedder.name,
        events=[e.id for e in rubric.events],
        items=items,
        trained_on=len(examples),
        note="trained by scripts/train_grader.py on the development split of eval/splits.yaml only",
    )
    return rm, reports
