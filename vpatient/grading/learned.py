"""Turn-level learned evidence: a small logistic regression per item over a handful of features of a learner
turn: how close it is in meaning (MiniLM) to the item's examples and counter-examples, how close what the
patient had just said is to them, whether the item's rules match the turn, and the structure of the talk
(question or not, position in the consultation, before/after the rubric's events, what the patient had just
said). The turn's raw embedding is not a feature (feature version 3): with a few dozen development transcripts,
384 free weights learned the development transcripts' wording instead of the item (dev/held-out gap), while
these features say what the item's definition and examples say and little else.

The weights are package data (vpatient/data/grader/<rubric>.json) written by `scripts/train_grader.py`
from the development split only; each item records how it is decided (its `policy`):
- "rules": the rubric's definitions, examples and patterns alone (the learned part is not used);
- "learned": met when the best learner turn's probability reaches the item's threshold;
- "either": met by the rules or by the learned model.
An item whose definition or evidence has been edited since training (content hash differs) falls back to its
rules with a warning, so faculty edits always take effect. The grade cites the learner turns that scored
highest: the evidence is still the turn that shows the behaviour.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vpatient.grading.analysis import Analysis
from vpatient.grading.schema import Item, Speaker
from vpatient.language import moves

FEATURE_VERSION = 3
TURN_FEATURES_VERSION = 2
"""The version of TurnFeatures (the item-independent part, cached by training); unchanged by version 3."""
MAX_WORDS = 160
"""A turn is cut to this many words before embedding (MiniLM reads about 200)."""

POLICIES = ("rules", "learned", "either")

Encode = Callable[[Sequence[str]], np.ndarray]


def models_dir() -> Path:
    from vpatient.shipped import DATA

    return DATA / "grader"


def item_hash(item: Item) -> str:
    """What the learned part of an item depends on: its definition and its evidence spec."""
    blob = json.dumps(
        {"description": item.description, "evidence": item.evidence.model_dump(mode="json")}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _cut(text: str) -> str:
    words = text.split()
    return " ".join(words[:MAX_WORDS])


@dataclass
class TurnFeatures:
    """Item-independent features of every learner turn of one transcript."""

    turns: list[int]
    turn_vectors: np.ndarray
    """(n, dim) the learner turn's meaning."""
    context_vectors: np.ndarray
    """(n, dim) the patient turn just before it (zeros when there is none)."""
    structure: np.ndarray
    """(n, k) question, position, length, after each event, patient just asked a question."""


def structure_names(events: Sequence[str]) -> list[str]:
    return [
        "is_question",
        "position",
        "position_squared",
        "length",
        "early",
        "patient_asked",
        "patient_words",
        "like_patient",
        *[f"after_{e}" for e in events],
    ]


def transcript_features(an: Analysis, encode: Encode, events: dict[str, int | None]) -> TurnFeatures:
    """Features of the learner turns of `an`; `events` maps each rubric event to its first turn (or None)."""
    turns = [t for t in an.speaker_turns(Speaker.learner) if an.texts[t].strip()]
    n = len(turns)
    if n == 0:
        return TurnFeatures([], np.zeros((0, 384), np.float32), np.zeros((0, 384), np.float32), np.zeros((0, 0)))
    texts = [_cut(an.texts[t]) for t in turns]
    prev = [an.previous(t, "patient") for t in turns]
    prev = [p if p is not None and p == t - 1 else None for p, t in zip(prev, turns, strict=True)]
    ctx_texts = [_cut(an.texts[p]) for p in prev if p is not None and an.texts[p].strip()]
    vectors = encode(texts + ctx_texts)
    tv = np.asarray(vectors[:n], dtype=np.float32)
    cv = np.zeros_like(tv)
    j = n
    for i, p in enumerate(prev):
        if p is not None and an.texts[p].strip():
            cv[i] = vectors[j]
            j += 1
    total = max(1, len(an))
    rows = []
    for k, t in enumerate(turns):
        clauses = an.by_turn.get(t, [])
        question = any(moves.is_asking(c.text) for c in clauses) or "?" in an.texts[t]
        pos = t / total
        p = prev[k]
        asked = p is not None and "?" in an.texts[p]
        row = [
            float(question),
            pos,
            pos * pos,
            math.log1p(len(an.texts[t].split())) / 5.0,
            float(k < 3),
            float(asked),
            math.log1p(len(an.texts[p].split())) / 5.0 if p is not None else 0.0,
            float(tv[k] @ cv[k]),
        ]
        for first in events.values():
            row.append(float(first is not None and t > first))
        rows.append(row)
    return TurnFeatures(turns, tv, cv, np.asarray(rows, dtype=np.float32))


EMBEDDING_DIM = 384
FEATURE_SETS = ("compact", "embedding")
"""compact: the named features only; embedding: the named features and the turn's embedding."""

ITEM_FEATURES = ("rule_hit", "rules_met", "example", "counter_example", "example_margin", "patient_example")
"""The item-specific features, after the structure ones (structure_names)."""


def feature_names(events: Sequence[str]) -> list[str]:
    """The names of an item's feature columns, in order."""
    return [*structure_names(events), *ITEM_FEATURES]


def item_features(
    tf: TurnFeatures,
    rule_turns: set[int],
    example_vectors: np.ndarray | None,
    counter_vectors: np.ndarray | None,
) -> np.ndarray:
    """The feature matrix of one item: first the named features (feature_names: the turn's structure, and the
    item's own rules and examples: rule hit in this turn, rules met anywhere, nearest example and
    counter-example to the turn and their difference, nearest example to what the patient had just said), then
    the turn's embedding (EMBEDDING_DIM columns), which only an item whose model uses the "embedding" feature
    set reads."""
    n = len(tf.turns)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    hit = np.array([[float(t in rule_turns)] for t in tf.turns], dtype=np.float32)
    met = np.full((n, 1), float(bool(rule_turns)), dtype=np.float32)
    zero = np.zeros((n, 1), np.float32)
    ex = (tf.turn_vectors @ example_vectors.T).max(axis=1, keepdims=True) if example_vectors is not None else zero
    cx = (tf.turn_vectors @ counter_vectors.T).max(axis=1, keepdims=True) if counter_vectors is not None else zero
    margin = ex - cx if example_vectors is not None and counter_vectors is not None else zero
    px = (tf.context_vectors @ example_vectors.T).max(axis=1, keepdims=True) if example_vectors is not None else zero
    return np.hstack([tf.structure, hit, met, ex, cx, margin, px, tf.turn_vectors]).astype(np.float32)


def select(x: np.ndarray, features: str) -> np.ndarray:
    """The columns of an item feature matrix that a feature set reads."""
    if features == "compact" and x.ndim == 2 and x.shape[1] > EMBEDDING_DIM:
        return x[:, : x.shape[1] - EMBEDDING_DIM]
    return x


@dataclass
class ItemModel:
    item: str
    policy: str
    threshold: float = 0.5
    weights: np.ndarray | None = None
    bias: float = 0.0
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None
    item_hash: str = ""
    cv: dict[str, Any] = field(default_factory=dict)
    features: str = "compact"

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        if self.weights is None or self.mean is None or self.scale is None or x.shape[0] == 0:
            return np.zeros(x.shape[0])
        x = select(x, self.features)
        if x.shape[1] != self.weights.shape[0]:
            raise ValueError(f"{self.item}: {x.shape[1]} features, the model has {self.weights.shape[0]}")
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.policy, "item_hash": self.item_hash, "cv": self.cv}
        if self.policy != "rules" and self.weights is not None and self.mean is not None and self.scale is not None:
            out.update(
                features=self.features,
                threshold=round(self.threshold, 4),
                bias=float(np.float32(self.bias)),
                weights=[float(f"{w:.5g}") for w in self.weights],
                mean=[float(f"{w:.5g}") for w in self.mean],
                scale=[float(f"{w:.5g}") for w in self.scale],
            )
        return out

    @classmethod
    def from_json(cls, item: str, d: dict[str, Any]) -> ItemModel:
        def arr(key: str) -> np.ndarray | None:
            return np.asarray(d[key], dtype=np.float64) if key in d else None

        policy = d.get("policy", "rules")
        if policy not in POLICIES:
            raise ValueError(f"{item}: unknown policy {policy!r}; use one of {', '.join(POLICIES)}")
        features = d.get("features", "compact")
        if features not in FEATURE_SETS:
            raise ValueError(f"{item}: unknown feature set {features!r}; use one of {', '.join(FEATURE_SETS)}")
        return cls(
            item=item,
            policy=policy,
            threshold=float(d.get("threshold", 0.5)),
            weights=arr("weights"),
            bias=float(d.get("bias", 0.0)),
            mean=arr("mean"),
            scale=arr("scale"),
            item_hash=d.get("item_hash", ""),
            cv=d.get("cv", {}),
            features=features,
        )


@dataclass
class RubricModel:
    rubric: str
    embedder: str
    events: list[str]
    items: dict[str, ItemModel]
    trained_on: int = 0
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "rubric": self.rubric,
            "feature_version": FEATURE_VERSION,
            "embedder": self.embedder,
            "events": self.events,
            "trained_on_transcripts": self.trained_on,
            "note": self.note,
            "items": {k: v.to_json() for k, v in self.items.items()},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RubricModel:
        if d.get("feature_version") != FEATURE_VERSION:
            raise ValueError(f"feature version {d.get('feature_version')} (this grader reads {FEATURE_VERSION})")
        return cls(
            rubric=d["rubric"],
            embedder=d.get("embedder", ""),
            events=list(d.get("events", [])),
            items={k: ItemModel.from_json(k, v) for k, v in d.get("items", {}).items()},
            trained_on=int(d.get("trained_on_transcripts", 0)),
            note=d.get("note", ""),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")


def load_model(rubric_id: str, folder: Path | None = None) -> RubricModel | None:
    """The shipped learned weights of a rubric, or None (then every item is decided by its rules)."""
    path = (folder or models_dir()) / f"{rubric_id}.json"
    if not path.is_file():
        return None
    return RubricModel.from_json(json.loads(path.read_text(encoding="utf-8")))


# --- training (numpy only: L2-regularised logistic regression by Newton's method) -------------------------


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float, weight: np.ndarray | None = None, iterations: int = 30
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Weights, bias, feature means and scales (the features are standardised first). Deterministic."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (x - mean) / scale
    n, d = z.shape
    a = np.hstack([z, np.ones((n, 1))])
    sw = np.ones(n) if weight is None else weight
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ w, -30, 30)))
        grad = a.T @ (sw * (p - y)) + reg * w
        r = sw * p * (1 - p)
        if d + 1 <= n:
            hess = (a * r[:, None]).T @ a + np.diag(reg + 1e-9)
            step = np.linalg.solve(hess, grad)
        else:  # fewer samples than features: solve in the sample space (Woodbury)
            inv = 1.0 / (reg + 1e-9)
            ai = a * inv
            inner = np.diag(1.0 / np.maximum(r, 1e-12)) + ai @ a.T
            step = inv * grad - ai.T @ np.linalg.solve(inner, ai @ grad)
        w -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return w[:-1], float(w[-1]), mean, scale
