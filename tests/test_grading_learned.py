"""The learned part of the grader (vpatient.grading.learned), the one jargon term list, section scores that add
up and the CSV's fault column. Uses the real MiniLM model."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np

from tests.conftest import ROOT
from vpatient.grading import Grader, Rubric, load_rubric
from vpatient.grading.learned import ItemModel, RubricModel, fit_logistic, load_model
from vpatient.grading.report import csv_report
from vpatient.transcript import Transcript, Turn

BBN = [
    ("learner", "Hello Mrs Lee, please take a seat. What have you been told about the scan so far?"),
    ("patient", "Only that they saw something on my lung."),
    ("learner", "I'm afraid the scan has shown something serious. It's a malignant neoplasm."),
    ("patient", "What does that mean?"),
    ("learner", "It means cancer. I can see this is a real shock."),
    ("patient", "I don't know what to say."),
    ("learner", "The next step is to refer you to the lung cancer team, who will talk through treatment."),
    ("patient", "OK."),
]


def _transcript(turns: list[tuple[str, str]]) -> Transcript:
    return Transcript("t", [Turn(r, t) for r, t in turns])  # type: ignore[arg-type]


def test_every_met_item_cites_learner_turns_with_their_words(embedder) -> None:  # type: ignore[no-untyped-def]
    for rid in ("breaking_bad_news", "cultural_competence", "history_taking"):
        g = Grader(load_rubric(rid), embedder=embedder).grade(_transcript(BBN))
        for item in g.items:
            if item.met:
                assert item.evidence, item.id
            for ev in item.evidence:
                assert BBN[ev.turn][0] == "learner", (rid, item.id)
                assert ev.quote.rstrip("…").strip() in BBN[ev.turn][1], (rid, item.id)


def test_a_learned_item_of_an_edited_rubric_falls_back_to_its_rules(embedder) -> None:  # type: ignore[no-untyped-def]
    rubric = load_rubric("breaking_bad_news")
    model = load_model(rubric.id)
    active = [i for i, m in (model.items.items() if model else []) if m.policy != "rules"]
    if not active:
        return  # nothing learned is shipped for this rubric
    data = rubric.model_dump(mode="json")
    for section in data["sections"]:
        for item in section["items"]:
            if item["id"] == active[0]:
                item["description"] += " (edited by faculty)"
    edited = Rubric.model_validate(data)
    g = Grader(edited, embedder=embedder).grade(_transcript(BBN))
    assert any(w.startswith(f"{active[0]}: the learned weights were trained for another version") for w in g.warnings)


def test_shipped_weights_match_their_rubrics() -> None:
    from vpatient.grading.learned import item_hash

    for rid in ("breaking_bad_news", "cultural_competence", "history_taking"):
        model = load_model(rid)
        if model is None:
            continue
        rubric = load_rubric(rid)
        for item in rubric.items():
            m = model.items.get(item.id)
            if m is not None and m.policy != "rules":
                assert m.item_hash == item_hash(item), f"{rid}.{item.id}: retrain (scripts/train_grader.py)"


def test_logistic_regression_separates_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(1.0, 1.0, (40, 3)), rng.normal(-1.0, 1.0, (40, 3))])
    y = np.array([1.0] * 40 + [0.0] * 40)
    w, b, mean, scale = fit_logistic(x, y, l2=1.0)
    m = ItemModel("x", "learned", 0.5, w, b, mean, scale, "h")
    p = m.probabilities(x)
    assert (p[:40] > 0.5).mean() > 0.8 and (p[40:] < 0.5).mean() > 0.8
    RubricModel("r", "e", [], {"x": m}).save(tmp_path / "r.json")
    again = load_model("r", tmp_path)
    assert again is not None and np.allclose(again.items["x"].probabilities(x), p, atol=1e-3)


def test_jargon_metric_and_fault_use_one_term_list(embedder) -> None:  # type: ignore[no-untyped-def]
    g = Grader(load_rubric("breaking_bad_news"), embedder=embedder).grade(
        _transcript(
            [
                ("learner", "The biopsy shows a carcinoma, with metastases in the liver."),
                ("patient", "Right."),
                ("learner", "It's palliative, which means care focused on comfort."),
            ]
        )
    )
    unexplained = {(j.turn, j.term) for j in g.metrics.jargon if not j.explained}
    assert unexplained == {(0, "carcinoma"), (0, "metastases")}
    assert {(j.turn, j.term) for j in g.metrics.jargon if j.explained} == {(2, "palliative")}
    fault = g.item("uses_jargon_unexplained")
    assert fault.met and [e.turn for e in fault.evidence] == [0]
    assert not any(j.term == "biopsy" for j in g.metrics.jargon)  # a lay term for the metric too


def test_section_scores_add_up_and_csv_says_which_way_one_reads(embedder) -> None:  # type: ignore[no-untyped-def]
    rubric = load_rubric("breaking_bad_news")
    g = Grader(rubric, embedder=embedder).grade(_transcript(BBN))
    assert g.score == sum(s.score for s in g.sections)
    assert g.max_score == sum(s.max for s in g.sections)
    for s in g.sections:
        assert s.score == max(0.0, s.earned - s.deducted)
        mine = [i for i in g.items if i.section == s.id]
        assert s.earned - s.deducted == sum(i.score for i in mine)
    rows = list(csv.DictReader(csv_report([g], rubric).splitlines()))
    assert "uses_jargon_unexplained" in rows[0]["one_means"] and "fault happened" in rows[0]["one_means"]
    assert sum(float(rows[0][f"section:{s.id}"]) for s in rubric.sections) == float(rows[0]["score"])


def test_training_reads_only_the_ids_it_is_given(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("train_grader", ROOT / "scripts" / "train_grader.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    f = tmp_path / "l.json"
    f.write_text(json.dumps({"a": {"x": {"label": 1, "turns": [0]}}, "b": {"x": {"label": 0, "turns": []}}}))
    assert mod._labels([f], {"a"}) == {"a": {"x": {"label": 1, "turns": [0]}}}


def test_item_features_are_the_named_few_not_the_raw_embedding(embedder) -> None:  # type: ignore[no-untyped-def]
    """Feature version 3: a learned item sees how close a turn is to its examples and counter-examples, its rules
    and the structure of the talk; the turn's 384 embedding dimensions (which can memorise the development
    transcripts' wording) only when nested cross-validation chose them for that item."""
    from vpatient.grading.learned import EMBEDDING_DIM, FEATURE_VERSION, feature_names, select

    rubric = load_rubric("breaking_bad_news")
    g = Grader(rubric, embedder=embedder, learned=False)
    rules = g.rule_matches(_transcript(BBN))
    tf = g.turn_features(rules)
    names = feature_names([e.id for e in rubric.events])
    assert FEATURE_VERSION == 3 and len(names) < 30
    for item in rubric.items():
        x = g.item_features(rules, tf, item.id)
        assert x.shape == (len(tf.turns), len(names) + EMBEDDING_DIM), item.id
        assert select(x, "compact").shape == (len(tf.turns), len(names))
    x = select(g.item_features(rules, tf, "acknowledges_emotion"), "compact")
    row = {t: dict(zip(names, x[k], strict=True)) for k, t in enumerate(tf.turns)}
    # 'I can see this is a real shock' is nearer the item's examples than the referral is
    assert row[4]["example"] > row[6]["example"]
    assert row[4]["rule_hit"] == 1.0 and row[0]["rule_hit"] == 0.0


def test_every_shipped_model_uses_the_current_features_and_says_how_it_was_chosen() -> None:
    from vpatient.grading.learned import EMBEDDING_DIM, FEATURE_VERSION, feature_names

    for rid in ("breaking_bad_news", "cultural_competence", "history_taking"):
        model = load_model(rid)
        assert model is not None, rid
        rubric = load_rubric(rid)
        width = len(feature_names([e.id for e in rubric.events]))
        for item_id, m in model.items.items():
            assert {"rules", "cv", "nested_cv"} <= set(m.cv), (rid, item_id)
            if m.policy != "rules":
                extra = EMBEDDING_DIM if m.features == "embedding" else 0
                assert m.weights is not None and m.weights.shape == (width + extra,), (rid, item_id)
                # kept only when the honest (nested) estimate beats the rules
                assert m.cv["nested_cv"]["kappa"] > (m.cv["rules"]["kappa"] or -1.0), (rid, item_id)
    assert FEATURE_VERSION == 3
