"""Grades that live with the sessions: the grades table (a real SQLite file), `vpatient grade SESSION_ID`,
`--rescore` after a rubric change, grading at the end of `vpatient chat`, and the recognition flags of the
feedback summary and the HTML report.

The rubrics here match by rule (no example utterances) except in the recognition tests, so most of these
tests load no model.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from vpatient.errors import StoreError, UsageError
from vpatient.store import Store

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
      - id: alcohol
        title: Alcohol
        description: Asks about alcohol. Units per week count too.
        marks: 1
        evidence:
          acts: [question]
          phrases: [alcohol]
        feedback:
          missed: Ask how much alcohol they drink.
"""

PERSONA = ROOT / "personas" / "chest_pain_exertional.yaml"


def vp(*args: str, db: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vpatient", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "VPATIENT_DB": db, "HF_HUB_OFFLINE": "1"},
        timeout=600,
        cwd=cwd,
    )


def _session(store: Store, turns: list[tuple[str, str]], **start: object) -> str:
    sid = store.start_session(persona_id="chest_pain_exertional", persona_hash="h" * 64, **start)  # type: ignore[arg-type]
    for role, text in turns:
        store.add_turn(sid, role, text)
    store.end_session(sid)
    return sid


def _grade_json(rubric: str = "mini", score: float = 1.0) -> dict[str, object]:
    return {"rubric": rubric, "transcript": "t", "score": score, "max_score": 2.0, "percent": 50.0, "passed": True,
            "items": [], "metrics": {"ratio": float("nan")}}  # fmt: skip


# ---------------------------------------------------------------- the grades table
def test_grades_are_stored_kept_and_the_newest_is_current(tmp_path: Path) -> None:
    db = tmp_path / "g.db"
    store = Store(f"sqlite:///{db}")
    sid = _session(store, [("learner", "Do you smoke?")])
    other = _session(store, [("learner", "Hello")])
    first = store.add_grade(sid, _grade_json(score=1.0), rubric_hash="a" * 64, grader_version="0.1.0+x")
    second = store.add_grade(sid, _grade_json(score=2.0), rubric_hash="b" * 64, grader_version="0.1.0+x")
    third = store.add_grade(other, _grade_json("history", 0.0), rubric_hash="c" * 64, grader_version="v", meta={"k": 1})
    assert first < second < third
    again = Store(f"sqlite:///{db}")  # read back through a new connection
    kept = again.grades(sid)
    assert [(g.id, g.score, g.rubric_hash[0]) for g in kept] == [(first, 1.0, "a"), (second, 2.0, "b")]
    assert kept[0].grade["metrics"] == {"ratio": None}  # NaN stored as null: valid JSON on every database
    assert (kept[0].rubric_id, kept[0].grader_version, kept[0].passed, kept[0].percent) == (
        "mini",
        "0.1.0+x",
        True,
        50.0,
    )
    current = again.current_grades()
    assert [(g.session_id, g.id) for g in current] == [(sid, second), (other, third)]
    assert [g.id for g in again.current_grades(rubric_id="history")] == [third]
    assert again.grades(other)[0].meta == {"k": 1}
    with sqlite3.connect(db) as conn:
        cols = {r[1] for r in conn.execute("pragma table_info(grades)")}
    assert {"session_id", "rubric_id", "rubric_hash", "grader_version", "grade", "score", "created_at"} <= cols
    assert db.stat().st_mode & 0o077 == 0


def test_grade_errors_are_store_errors_with_the_fix(tmp_path: Path) -> None:
    from tests.test_store import _read_only

    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    sid = _session(store, [("learner", "Hi")])
    with pytest.raises(StoreError, match="no session 'nope'; `vpatient sessions list` shows the ids"):
        store.add_grade("nope", _grade_json(), rubric_hash="a", grader_version="v")
    with pytest.raises(StoreError, match="not grade JSON"):
        store.add_grade(sid, {"rubric": "mini"}, rubric_hash="a", grader_version="v")
    _read_only(store)
    with pytest.raises(StoreError, match=r"cannot store a grade in the session database .*read-only; make both"):
        store.add_grade(sid, _grade_json(), rubric_hash="a", grader_version="v")
    assert Store(f"sqlite:///{tmp_path / 'e.db'}").grades(sid) == []  # nothing half-written


def test_a_database_of_the_first_schema_is_upgraded_with_its_sessions(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from vpatient.store import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as conn:  # the database as the previous release left it
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "insert into sessions (id, persona_id, persona_hash, persona_path, engine, status, started_at, meta) "
            "values ('old1', 'p', 'h', '', 'scripted', 'ended', '2024-01-01 00:00:00', '{}')"
        )
    engine.dispose()
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() == ("0001",)
    store = Store(url)
    assert [s.id for s in store.sessions()] == ["old1"]
    gid = store.add_grade("old1", _grade_json(), rubric_hash="a", grader_version="v")
    assert store.grades("old1")[0].id == gid
    with sqlite3.connect(tmp_path / "old.db") as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() == ("0003",)


# ---------------------------------------------------------------- the default rubric of a session
def test_the_default_rubric_follows_the_personas_scenario(tmp_path: Path) -> None:
    from vpatient.grading.stored import default_rubric

    store = Store(f"sqlite:///{tmp_path / 'd.db'}")
    recorded = _session(store, [], meta={"scenario": "breaking_bad_news"})
    from_file = store.start_session(persona_id="x", persona_hash="h", persona_path=str(PERSONA))
    unknown = store.start_session(persona_id="nobody", persona_hash="h", persona_path=str(tmp_path / "gone.yaml"))
    assert default_rubric(store.session(recorded)).name == "breaking_bad_news.yaml"
    assert default_rubric(store.session(from_file)).name == "history_taking.yaml"
    with pytest.raises(UsageError, match=r"cannot tell the scenario of persona 'nobody'.*--rubric"):
        default_rubric(store.session(unknown))


# ---------------------------------------------------------------- vpatient grade SESSION_ID / --rescore
def test_grade_a_stored_session_then_rescore_after_a_rubric_change(tmp_path: Path) -> None:
    rubric = tmp_path / "mini.yaml"
    rubric.write_text(RUBRIC)
    db = f"sqlite:///{tmp_path / 'vp.db'}"
    store = Store(db)
    sid = _session(store, [("learner", "Do you smoke?"), ("patient", "No."), ("learner", "Any alcohol?")])
    res = vp("grade", sid[:6], "--rubric", str(rubric), "--json", db=db)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert (data["transcript"], data["score"], data["max_score"]) == (sid, 2.0, 2.0)
    assert len(data["rubric_hash"]) == 64 and data["grader_version"].startswith("0.")
    assert data["recognition"]["uncertain_turns"] == []
    assert f"session {sid}: grade 1 stored (rubric mini" in res.stderr
    [stored] = store.grades(sid)
    assert stored.grade["items"] == data["items"] and stored.rubric_path == str(rubric)

    nothing = vp("grade", "--rescore", db=db)
    assert nothing.returncode == 0 and "nothing to rescore" in nothing.stderr

    # the rubric changes: alcohol is now worth 3 marks and needs the word "units"
    rubric.write_text(RUBRIC.replace("marks: 1", "marks: 3").replace("phrases: [alcohol]", "phrases: [units]"))
    res = vp("grade", "--rescore", db=db)  # found through the stored file (mini is not a shipped rubric)
    assert res.returncode == 0, res.stderr
    assert f"session {sid}: rubric mini changed ({stored.rubric_hash[:8]} -> " in res.stderr
    assert "2/2 (100%) -> 1/4 (25%), grade 2 stored" in res.stderr
    old, new = store.grades(sid)
    assert (old.id, old.score, old.rubric_hash) == (stored.id, 2.0, stored.rubric_hash)  # the old grade is kept
    assert (new.score, new.max_score, new.meta) == (1.0, 4.0, {"rescore_of": stored.id})
    assert new.rubric_hash != old.rubric_hash
    assert [g.id for g in store.current_grades()] == [new.id]
    again = vp("grade", "--rescore", "--rubric", str(rubric), db=db)
    assert again.returncode == 0 and "nothing to rescore" in again.stderr
    listed = vp("sessions", "grades", sid[:6], db=db)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(f"    {old.id}  {sid}") and " mini  2/2 (100%, pass)" in lines[0]
    assert lines[1].startswith(f"    {new.id}* {sid}") and " mini  1/4 (25%)" in lines[1]
    assert [g["id"] for g in json.loads(vp("sessions", "grades", "--json", db=db).stdout)] == [old.id, new.id]


def test_grade_prints_the_summary_and_writes_the_report(tmp_path: Path) -> None:
    rubric = tmp_path / "mini.yaml"
    rubric.write_text(RUBRIC)
    db = f"sqlite:///{tmp_path / 'vp.db'}"
    sid = _session(Store(db), [("learner", "Do you smoke?"), ("patient", "No.")])
    out = tmp_path / "r.html"
    res = vp("grade", sid, "--rubric", str(rubric), "--html", str(out), db=db)
    assert res.returncode == 0, res.stderr
    assert f"{sid}: mini 1/2 (50%, pass" in res.stdout and "alcohol" in res.stdout
    assert "id='turn-0'" in out.read_text() and out.stat().st_mode & 0o077 == 0


def test_grade_refuses_what_cannot_work(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'vp.db'}"
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps({"id": "t", "turns": []}))
    cases = [
        ((), "give session ids"),
        (("--rescore", "abc"), "give no session ids or files"),
        ((str(transcript),), "needs --rubric ID_OR_FILE"),
        (("nosuchsession", "--rubric", "history_taking"), "no session 'nosuchsession'"),
        (("abc", "--confidence-threshold", "2"), "between 0 and 1"),
    ]
    for args, message in cases:
        res = vp("grade", *args, db=db)
        assert res.returncode == 2 and message in res.stderr, (args, res.stderr)


def test_a_rubric_that_is_gone_leaves_its_grades_alone(tmp_path: Path) -> None:
    from vpatient.grading.stored import SessionGrader, load

    rubric = tmp_path / "mini.yaml"
    rubric.write_text(RUBRIC)
    store = Store(f"sqlite:///{tmp_path / 'vp.db'}")
    sid = _session(store, [("learner", "Do you smoke?")])
    grader = SessionGrader(store)
    grader.grade_session(sid, rubric)
    rubric.unlink()
    done, problems = grader.rescore()
    assert done == [] and len(problems) == 1 and "rubric 'mini'" in problems[0] and "--rubric" in problems[0]
    assert len(store.grades(sid)) == 1
    assert load("history_taking").hash == load(ROOT / "rubrics" / "history_taking.yaml").hash


# ---------------------------------------------------------------- chat grades at the end
def test_chat_grades_at_the_end_stores_the_grade_and_writes_the_report(tmp_path: Path) -> None:
    rubric = tmp_path / "mini.yaml"
    rubric.write_text(RUBRIC)
    script = tmp_path / "s.txt"
    script.write_text("Hello, I'm Dr Ali. What brings you in?\nDo you smoke?\n")
    db = f"sqlite:///{tmp_path / 'vp.db'}"
    out = tmp_path / "t.json"
    args = ["chat", "--persona", str(PERSONA), "--script", str(script)]
    res = vp(*args, "--out", str(out), "--rubric", str(rubric), db=db)
    assert res.returncode == 0, res.stderr
    assert "Feedback (Mini history): 1/2 marks, 50% - passed (pass mark 50%)" in res.stdout
    assert "Missed:\n  - Alcohol: Ask how much alcohol they drink." in res.stdout
    assert "Recognition uncertain" not in res.stdout  # typed turns have no recognition confidence
    report = tmp_path / "t.report.html"
    assert "Mini history" in report.read_text() and report.stat().st_mode & 0o077 == 0
    sid = json.loads(out.read_text())["id"]
    [grade] = Store(db).grades(sid)
    assert (grade.rubric_id, grade.score, grade.rubric_path) == ("mini", 1.0, str(rubric))

    res = vp(*args, "--no-grade", "--quiet", db=db)
    assert res.returncode == 0 and "Feedback" not in res.stdout
    assert Store(db).grades(res.stdout.strip()) == []

    # a rubric that cannot be read: reported, and the consultation is kept all the same
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema_version: 1\nid: [\n")
    out2 = tmp_path / "t2.json"
    res = vp(*args, "--out", str(out2), "--rubric", str(broken), db=db)
    assert res.returncode == 0, res.stderr
    assert "the consultation could not be graded" in res.stderr and "grade it later with `vpatient grade" in res.stderr
    sid2 = json.loads(out2.read_text())["id"]
    [info] = [s for s in Store(db).sessions() if s.id == sid2]
    assert (info.status, info.turns) == ("ended", 4) and Store(db).grades(sid2) == []
    assert not (tmp_path / "t2.report.html").exists()


# ---------------------------------------------------------------- recognition confidence flags
EXAMPLES_RUBRIC = """\
schema_version: 1
id: mini_examples
title: Mini by examples
pass_mark: 50
sections:
  - id: main
    title: Main
    items:
      - id: medications
        title: Medications
        description: Asks about regular and over-the-counter medicines.
        evidence:
          acts: [question]
          examples: ["Do you take any regular medications?", "Are you on any tablets at the moment?"]
          threshold: 0.5
        feedback:
          missed: Ask about regular and over-the-counter medicines.
      - id: smoking
        description: Asks about smoking.
        evidence:
          acts: [question]
          phrases: [smoke]
"""


def _misheard():  # type: ignore[no-untyped-def]
    from vpatient.transcript import from_json

    return from_json(
        {
            "id": "voice",
            "turns": [
                {"role": "learner", "text": "Do you smoke?", "confidence": 0.93, "audio": "turn01_learner.wav"},
                {"role": "patient", "text": "No."},
                {"role": "learner", "text": "Do you take any regular medic nations?", "confidence": 0.41},
                {"role": "patient", "text": "Sorry?"},
            ],
        }
    )


def test_uncertain_recognition_is_flagged_in_the_summary_and_the_report(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.grading.grader import Grader
    from vpatient.grading.report import html_report
    from vpatient.grading.review import feedback_summary, recognition_json
    from vpatient.grading.rubric import load_rubric_file

    path = tmp_path / "ex.yaml"
    path.write_text(EXAMPLES_RUBRIC)
    rubric = load_rubric_file(path)
    transcript = _misheard()
    grade = Grader(rubric, embedder=embedder).grade(transcript)
    assert not grade.item("medications").met and "Closest: turn 2" in grade.item("medications").rationale

    summary = feedback_summary(grade, transcript, rubric)
    assert "  - Medications [look at turn 2]: Ask about regular and over-the-counter medicines." in summary
    assert "      turn 2: recognition uncertain: check the audio before marking this item missed" in summary
    assert "Turns to look at: 2" in summary
    assert "Recognition uncertain in learner turns 2 (41%): check the audio" in summary
    flags = recognition_json(transcript, grade)
    assert flags["uncertain_turns"] == [{"turn": 2, "confidence": 0.41, "text": transcript.turns[2].text}]
    assert flags["uncertain_items"] == {"medications": [2]} and flags["recognised_turns"] == 2

    page = html_report(grade, transcript, rubric)
    assert "class='turn learner uncertain' id='turn-2'" in page
    assert "class='turn learner evidence' id='turn-0'" in page  # 93%: recognised, not flagged
    assert "recognised 93%</span> <a href='turn01_learner.wav'>audio</a>" in page
    assert "id='recognition'" in page and "<a href='#turn-2'>turn 2</a> (41%)" in page
    medications = page.split("id='item-medications'")[1].split("</div>\n")[0]
    assert "check the audio before marking this item missed" in medications

    # a lower threshold: nothing is uncertain any more
    assert "Recognition uncertain" not in feedback_summary(grade, transcript, rubric, threshold=0.4)
    assert "id='recognition'" not in html_report(grade, transcript, rubric, threshold=0.4)


def test_typed_turns_are_never_flagged(embedder) -> None:  # type: ignore[no-untyped-def]
    from vpatient.grading.grader import Grader
    from vpatient.grading.report import html_report
    from vpatient.grading.review import feedback_summary, uncertain_turns
    from vpatient.grading.rubric import load_rubric
    from vpatient.transcript import from_json

    typed = _misheard().to_json()
    for turn in typed["turns"]:
        turn.pop("confidence", None)
    typed["turns"][0]["confidence"] = "high"  # not a number: ignored, never a crash
    transcript = from_json(typed)
    rubric = load_rubric("history_taking")
    grade = Grader(rubric, embedder=embedder).grade(transcript)
    assert uncertain_turns(transcript) == []
    assert "Recognition uncertain" not in feedback_summary(grade, transcript, rubric)
    assert "uncertain" not in html_report(grade, transcript, rubric).split("</style>")[1]
