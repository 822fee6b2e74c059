"""The optional LLM judge: checked evidence, the combination policies, the grader's borderline hook, the
rules/judge/combined agreement report, and `eval grader --judge` through the real packaged llama.cpp model.

The fast tests answer through `ask=` (a function standing in for the model); the last one uses the real
packaged SmolLM2-135M, which rarely writes JSON: its answers must become "no verdict", never a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from vpatient.grading.grader import Grader
from vpatient.grading.llm_judge import (
    SYSTEM,
    JudgeVerdict,
    LLMJudge,
    combine,
    judge_agreement,
    judge_table,
    parse,
    prompt,
)
from vpatient.grading.rubric import load_rubric_file
from vpatient.transcript import from_json

RUBRIC = """\
schema_version: 1
id: mini
title: Mini history
pass_mark: 50
sections:
  - id: main
    title: Main
    items:
      - id: smoking
        description: Asks about smoking.
        evidence:
          acts: [question]
          phrases: [smoke]
      - id: medications
        title: Medications
        description: Asks about regular and over-the-counter medicines.
        evidence:
          acts: [question]
          phrases: [medication, medications]
          counter_examples: ["Are you using any contraception?"]
"""

TRANSCRIPT = from_json(
    {
        "id": "a",
        "turns": [
            {"role": "learner", "text": "Do you smoke?"},
            {"role": "patient", "text": "No, never. I only take ramipril."},
            {"role": "learner", "text": "Are you on any tablets at the moment?"},
            {"role": "patient", "text": "Just the ramipril."},
        ],
    }
)


@pytest.fixture
def rubric(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "mini.yaml"
    path.write_text(RUBRIC)
    return load_rubric_file(path)


def _item(rubric, item_id: str):  # type: ignore[no-untyped-def]
    return next(i for i in rubric.items() if i.id == item_id)


def test_a_met_verdict_counts_only_with_evidence_that_checks_out(rubric) -> None:  # type: ignore[no-untyped-def]
    meds = _item(rubric, "medications")
    ok = parse(
        'Sure! {"met": true, "turn": 2, "quote": "any tablets", "reason": "asks about tablets"}', meds, TRANSCRIPT
    )
    assert (ok.met, ok.turn, ok.quote, ok.problem) == (True, 2, "any tablets", "")
    cases = {
        '{"met": true, "turn": 3, "quote": "Just the ramipril."}': "a patient turn",
        '{"met": true, "turn": 9}': "cites no turn",
        '{"met": true, "turn": 2, "quote": "any regular medicines"}': "the quote is not in turn 2",
        "The item is met.": "no JSON verdict",
        '{"met": "yes", "turn": 2}': "no JSON verdict",
    }
    for reply, problem in cases.items():
        verdict = parse(reply, meds, TRANSCRIPT)
        assert verdict.met is None and problem in verdict.problem, reply
    assert parse('{"met": false, "turn": null}', meds, TRANSCRIPT).met is False
    text = prompt(meds, TRANSCRIPT)
    assert "[2] Learner: Are you on any tablets at the moment?" in text
    assert "Does NOT count, for example: Are you using any contraception?" in text


def test_the_combination_policies() -> None:
    met, not_met, none = JudgeVerdict("x", True, 2), JudgeVerdict("x", False), JudgeVerdict("x", None, problem="?")
    table = {
        "either": [(False, met, True), (True, not_met, True), (False, not_met, False)],
        "both": [(False, met, False), (True, not_met, False), (True, met, True)],
        "judge": [(False, met, True), (True, not_met, False)],
    }
    for policy, rows in table.items():
        for rules, verdict, expected in rows:
            assert combine(rules, verdict, policy) is expected, (policy, rules, verdict)
        assert combine(True, none, policy) is True and combine(False, None, policy) is False  # no verdict: rules
    with pytest.raises(ValueError, match="unknown judge policy"):
        combine(True, met, "majority")


def test_the_judge_settles_a_borderline_item_for_the_grader(rubric, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []

    def ask(system: str, user: str) -> str:
        asked.append(user)
        assert system == SYSTEM
        return '{"met": true, "turn": 2, "quote": "Are you on any tablets", "reason": "tablets are medicines"}'

    judge = LLMJudge(name="fake", ask=ask)
    verdict = judge.settle(_item(rubric, "medications"), TRANSCRIPT, [])
    assert verdict is not None and verdict.met and verdict.turn == 2 and "judged by fake" in verdict.rationale
    # through the grader: a borderline match by meaning is offered to the judge, which credits it with evidence
    ex = tmp_path / "ex.yaml"
    ex.write_text(
        RUBRIC.replace(
            "phrases: [medication, medications]",
            'examples: ["Do you take any regular medications?"]\n          threshold: 0.5',
        )
    )
    misheard = from_json(
        {"id": "m", "turns": [{"role": "learner", "text": "Do you smoke?"}, {"role": "patient", "text": "No."},
                              {"role": "learner", "text": "Do you take any regular medic nations?"}]}
    )  # fmt: skip
    plain = Grader(load_rubric_file(ex), embedder=embedder).grade(misheard).item("medications")
    assert not plain.met and "Closest: turn 2" in plain.rationale
    judged = LLMJudge(name="fake", ask=lambda s, u: '{"met": true, "turn": 2, "quote": "regular medic nations"}')
    item = Grader(load_rubric_file(ex), embedder=embedder, judge=judged).grade(misheard).item("medications")
    assert item.met and item.judged_by == "fake" and item.evidence[0].turn == 2
    failing = LLMJudge(name="down", ask=lambda s, u: (_ for _ in ()).throw(TimeoutError("no reply in 60 s")))
    v = failing.judge_item(_item(rubric, "medications"), TRANSCRIPT)
    assert v.met is None and "no reply in 60 s" in v.problem
    assert failing.settle(_item(rubric, "medications"), TRANSCRIPT, []) is None


def test_agreement_reports_rules_judge_and_combined(rubric) -> None:  # type: ignore[no-untyped-def]
    b = from_json(
        {"id": "b", "turns": [{"role": "learner", "text": "Any medications?"}, {"role": "patient", "text": "No."}]}
    )
    transcripts = {"a": TRANSCRIPT, "b": b}
    labels = {"a": {"smoking": 1, "medications": 1}, "b": {"smoking": 0, "medications": 1}}

    def ask(system: str, user: str) -> str:  # a judge that credits tablets, and has nothing to say on smoking
        if "Item: Medications" in user and "any tablets" in user:
            return '{"met": true, "turn": 2, "quote": "any tablets"}'
        if "Item: Medications" in user:
            return '{"met": true, "turn": 0, "quote": "Any medications?"}'
        return "I cannot tell."

    report = judge_agreement(rubric, transcripts, labels, Grader(rubric), LLMJudge(name="fake", ask=ask), "either")
    rows = {r["item"]: r for r in report["items"]}
    meds = rows["medications"]
    assert meds["rules"]["accuracy"] == 0.5  # the rules miss "any tablets"
    assert meds["judge"]["accuracy"] == 1.0 and meds["combined"]["accuracy"] == 1.0
    smoking = rows["smoking"]
    assert smoking["judge_no_verdict"] == 2 and smoking["judge"]["accuracy"] == 0.5  # no verdict = not met
    assert smoking["rules"]["kappa"] == 1.0 and smoking["combined"]["kappa"] == 1.0  # ... but the rules stand
    assert len(report["problems"]) == 2
    table = judge_table(report)
    assert "judge fake, policy either" in table and "medications" in table and "MEAN" in table


EVAL_SCRIPT = """
import argparse, sys
from vpatient.cli.eval_grader_cmd import register_grader
p = argparse.ArgumentParser(); sub = p.add_subparsers(); register_grader(sub)
args = p.parse_args(sys.argv[1:]); sys.exit(args.handler(args))
"""


@pytest.mark.slow
def test_eval_grader_judge_with_the_packaged_model(rubric, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("xllamacpp", reason="needs the llm extra (llama.cpp)")
    (tmp_path / "mini.yaml").write_text(RUBRIC)
    folder = tmp_path / "ts"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(TRANSCRIPT.to_json()))
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"a": {"smoking": {"label": 1}, "medications": {"label": 1}}}))
    args = ["grader", "--rubric", str(tmp_path / "mini.yaml"), "--transcripts", str(folder), "--labels", str(labels)]
    res = subprocess.run(
        [sys.executable, "-c", EVAL_SCRIPT, *args, "--judge", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads(res.stdout)["judge"]["dev"]
    assert report["policy"] == "either" and report["judge"].startswith("llamacpp:")
    rows = {r["item"]: r for r in report["items"]}
    assert set(rows) == {"smoking", "medications"}
    for row in rows.values():  # whatever the small model answers, the rules' credit stands under "either"
        assert row["combined"]["accuracy"] >= row["rules"]["accuracy"]
        assert 0 <= row["judge_no_verdict"] <= 1
    assert rows["smoking"]["rules"]["accuracy"] == 1.0


def test_a_judged_grade_under_each_policy_is_stored_with_the_verdicts(rubric, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vpatient.grading.llm_judge import apply
    from vpatient.grading.stored import SessionGrader, load
    from vpatient.store import Store

    def ask(system: str, user: str) -> str:  # credits the tablets question, denies smoking
        if "Item: Medications" in user:
            return '{"met": true, "turn": 2, "quote": "any tablets", "reason": "tablets are medicines"}'
        return '{"met": false, "reason": "no smoking question"}'

    grader = Grader(rubric)
    rules = grader.grade(TRANSCRIPT)
    assert (rules.item("smoking").met, rules.item("medications").met, rules.percent) == (True, False, 50.0)
    judge = LLMJudge(name="fake", ask=ask)
    either, record = apply(rules, grader, TRANSCRIPT, judge, "either")
    meds = either.item("medications")
    assert meds.met and meds.judged_by == "fake" and meds.evidence[0].to_json() == {"turn": 2, "quote": "any tablets"}
    assert "Judged done by fake at turn 2: tablets are medicines" in meds.rationale
    assert either.item("smoking").met and either.item("smoking").judged_by is None  # the judge cannot remove it
    assert (either.score, either.percent, either.passed) == (2.0, 100.0, True)
    assert record["policy"] == "either" and [v["met"] for v in record["verdicts"]] == [False, True]
    both, _ = apply(rules, grader, TRANSCRIPT, judge, "both")
    assert not both.item("smoking").met and both.item("smoking").judged_by == "fake"
    assert not both.item("medications").met and (both.score, both.percent) == (0.0, 0.0)
    assert rules.item("smoking").met  # the rules' grade is untouched

    store = Store(f"sqlite:///{tmp_path / 'j.db'}")
    sid = store.start_session(persona_id="p", persona_hash="h")
    for turn in TRANSCRIPT.turns:
        store.add_turn(sid, turn.role, turn.text)
    store.end_session(sid)
    graded = SessionGrader(store, judge=judge).grade_session(sid, load(tmp_path / "mini.yaml").path)
    [stored] = store.grades(sid)
    assert stored.grade["judge"]["name"] == "fake" and stored.score == graded.grade.score == 2.0
    assert next(i for i in stored.grade["items"] if i["id"] == "medications")["judged_by"] == "fake"
