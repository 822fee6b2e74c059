"""`vpatient grade`, `rubric`, `eval grader` and `bench grader` through subprocesses; agreement maths.

The subprocess tests use a small rubric without example utterances, so no model is loaded in them.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from vpatient.grading.agreement import LabelsError, cohen_kappa, evaluate, load_labels
from vpatient.grading.grader import Grader
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
          patterns: ['\\bsmok']
        feedback:
          missed: Ask about smoking.
      - id: alcohol
        description: Asks about alcohol.
        evidence:
          acts: [question]
          patterns: ['\\balcohol']
      - id: jargon
        kind: fault
        description: Uses unexplained jargon.
        evidence:
          detector: jargon_unexplained
"""


def vp(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vpatient", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        cwd=cwd,
    )


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rubric = tmp_path / "mini.yaml"
    rubric.write_text(RUBRIC)
    a = write(
        tmp_path / "a.json",
        {
            "id": "a",
            "turns": [
                {"role": "learner", "text": "Do you smoke?", "start": 0.0, "end": 1.0},
                {"role": "patient", "text": "No.", "start": 1.1, "end": 1.5},
                {"role": "learner", "text": "You may have angina.", "start": 1.6, "end": 3.0},
            ],
        },
    )
    b = write(
        tmp_path / "b.json",
        {
            "id": "b",
            "turns": [
                {"role": "learner", "text": "How much alcohol do you drink?"},
                {"role": "patient", "text": "None."},
            ],
        },
    )
    bad = write(tmp_path / "bad.json", {"id": "bad", "turns": [{"role": "learner", "text": "Hi"}, {"role": "doctor"}]})
    return {"rubric": rubric, "a": a, "b": b, "bad": bad}


def test_grade_json_for_one_transcript(files: dict[str, Path]) -> None:
    res = vp("grade", str(files["a"]), "--rubric", str(files["rubric"]), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["rubric"] == "mini" and data["transcript"] == "a"
    items = {i["id"]: i for i in data["items"]}
    assert items["smoking"]["met"] and items["smoking"]["evidence"] == [{"turn": 0, "quote": "Do you smoke?"}]
    assert not items["alcohol"]["met"] and items["alcohol"]["evidence"] == []
    assert items["jargon"]["met"] and items["jargon"]["score"] == -1.0
    assert data["score"] == 0.0 and data["max_score"] == 2.0


def test_grade_several_to_csv_and_html(files: dict[str, Path], tmp_path: Path) -> None:
    out_csv, out_html = tmp_path / "out.csv", tmp_path / "report.html"
    res = vp(
        "grade",
        str(files["a"]),
        str(files["b"]),
        "--rubric",
        str(files["rubric"]),
        "--csv",
        str(out_csv),
        "--html",
        str(out_html),
    )
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(out_csv.read_text().splitlines()))
    assert [(r["transcript"], r["smoking"], r["alcohol"], r["jargon"]) for r in rows] == [
        ("a", "1", "0", "1"),
        ("b", "0", "1", "0"),
    ]
    page = (tmp_path / "report-a.html").read_text()
    assert "id='turn-0'" in page and "href='#item-smoking'" in page
    assert (tmp_path / "report-b.html").exists()


def test_malformed_transcript_names_field_and_position(files: dict[str, Path]) -> None:
    res = vp("grade", str(files["bad"]), str(files["a"]), "--rubric", str(files["rubric"]), "--json")
    assert res.returncode == 2
    assert f"{files['bad']}: turns[1].role: 'doctor' is not 'learner' or 'patient'" in res.stderr
    assert json.loads(res.stdout)[0]["transcript"] == "a"  # the good one is still graded


def test_empty_transcript_warns_and_scores_nothing(files: dict[str, Path], tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.json", {"id": "e", "turns": []})
    res = vp("grade", str(empty), "--rubric", str(files["rubric"]), "--json")
    assert res.returncode == 0
    assert "warning: the transcript has no turns: nothing can be met" in res.stderr
    assert not any(i["met"] for i in json.loads(res.stdout)["items"])


def test_rubric_validate_show_and_unknown_id(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RUBRIC.replace("pass_mark: 50", "pass_mark: 150"))
    res = vp(
        "rubric",
        "validate",
        str(files["rubric"]),
        str(bad),
        *map(str, sorted((ROOT / "rubrics").glob("*.yaml"))),
    )
    assert res.returncode == 1
    assert res.stdout.splitlines() == [f"{bad}:4: pass_mark: Input should be less than or equal to 100 (got 150)"]
    show = vp("rubric", "show", "history_taking", cwd=ROOT)
    assert show.returncode == 0 and "safety_netting (1)" in show.stdout and "Pass mark: 60%" in show.stdout
    res = vp("grade", str(files["a"]), "--rubric", "no_such_rubric")
    assert res.returncode == 2 and "unknown rubric id" in res.stderr


EVAL_SCRIPT = """
import argparse, sys
from vpatient.cli.eval_grader_cmd import register_grader
p = argparse.ArgumentParser(); sub = p.add_subparsers(); register_grader(sub)
args = p.parse_args(sys.argv[1:]); sys.exit(args.handler(args))
"""


def test_eval_grader_prints_kappa_accuracy_and_undefined_kappa(files: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "ts"
    folder.mkdir()
    for name in ("a", "b"):
        (folder / f"{name}.json").write_text(files[name].read_text())
    labels = write(
        tmp_path / "labels.json",
        {
            "a": {"smoking": {"label": 1}, "alcohol": {"label": 0}, "jargon": {"label": 1}},
            "b": {"smoking": {"label": 0}, "alcohol": {"label": 0}, "jargon": {"label": 0}},
        },
    )
    cmd = [
        sys.executable,
        "-c",
        EVAL_SCRIPT,
        "grader",
        "--rubric",
        str(files["rubric"]),
        "--transcripts",
        str(folder),
        "--labels",
        str(labels),
    ]
    res = subprocess.run(
        [*cmd, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)["splits"]["dev"]
    items = {i["item"]: i for i in data["items"]}
    assert items["smoking"]["kappa"] == 1.0 and items["smoking"]["accuracy"] == 1.0
    assert items["smoking"]["ac1"] == 1.0 and (items["smoking"]["tp"], items["smoking"]["tn"]) == (1, 1)
    assert items["alcohol"]["ac1"] == 0.2 and (items["alcohol"]["fp"], items["alcohol"]["tn"]) == (1, 1)
    assert items["alcohol"]["kappa"] is None and items["alcohol"]["accuracy"] == 0.5
    assert "kappa undefined" in items["alcohol"]["note"]
    assert data["mean_kappa"] == 1.0 and data["mean_kappa_over"] == 2 and data["mean_accuracy"] == round(2.5 / 3, 3)
    table = subprocess.run(
        cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert "alcohol" in table.stdout and "undef" in table.stdout and "MEAN" in table.stdout


def test_cohen_kappa_values() -> None:
    assert cohen_kappa([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0
    assert cohen_kappa([1, 0, 1, 0], [0, 1, 0, 1]) == -1.0
    assert cohen_kappa([1, 1, 0, 0], [1, 0, 1, 0]) == 0.0
    assert cohen_kappa([1, 1, 1], [1, 1, 1]) is None
    assert abs((cohen_kappa([1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0]) or 0) - 2 / 3) < 1e-9


def test_labels_errors_name_the_place(tmp_path: Path) -> None:
    with pytest.raises(LabelsError, match=r"a\.smoking\.label: must be 0 or 1 \(got 2\)"):
        load_labels(write(tmp_path / "l.json", {"a": {"smoking": {"label": 2}}}))
    assert load_labels(write(tmp_path / "m.json", {"a": {"smoking": 1}})) == {"a": {"smoking": 1}}


def test_evaluate_warns_about_missing_transcripts_and_unknown_items(files: dict[str, Path]) -> None:
    rubric = load_rubric_file(files["rubric"])
    ts = {"a": from_json(json.loads(files["a"].read_text()))}
    result = evaluate(rubric, ts, {"a": {"smoking": 1, "ghost": 1}, "zz": {"smoking": 0}}, Grader(rubric))
    assert result.transcripts == 1
    assert any("'zz'" in w for w in result.warnings) and any("ghost" in w for w in result.warnings)


def test_bench_grader_reports_milliseconds() -> None:
    script = (
        "import argparse, sys\nfrom vpatient.cli.grade_cmd import register_bench_grader\n"
        "p = argparse.ArgumentParser(); sub = p.add_subparsers(); register_bench_grader(sub)\n"
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.handler(a))\n"
    )
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "grader",
            "--rubric",
            "cultural_competence",
            "--turns",
            "20",
            "--repeats",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["turns"] == 20 and len(data["grade_ms"]) == 1 and data["median_ms"] > 0
