"""The session store on a real PostgreSQL server, started by the test on a private socket.

Skipped (with the reason) where PostgreSQL's server binaries are not installed; `.ci/run` installs them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vpatient.errors import StoreError
from vpatient.store import Store


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="the postgres extra is not installed (pip install -e '.[postgres]')")
    run_as: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="vp-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use its own account
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' account to run the server")
        shutil.chown(base, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    data, sock = base / "data", base
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "vp", "--auth=trust"], check=True, capture_output=True
    )
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-k {sock} -c listen_addresses='' -p 54329",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*run_as, str(bindir / "createdb"), "-h", str(sock), "-p", "54329", "-U", "vp", "vpatient"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://vp@/vpatient?host={sock}&port=54329"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def test_sessions_and_turns_on_postgresql(pg_url: str) -> None:
    store = Store(pg_url)
    sid = store.start_session(persona_id="chest_pain_exertional", persona_hash="f" * 64)
    store.add_turn(sid, "learner", "Do you smoke?", start=1.0, end=2.0)
    store.add_turn(sid, "patient", "I smoke about fifteen a day.", meta={"disclosed": ["smoking_history"]})
    store.end_session(sid)
    again = Store(pg_url)  # migrations are idempotent
    [info] = [s for s in again.sessions() if s.id == sid]
    assert (info.turns, info.status) == (2, "ended")
    turns = again.transcript(sid).to_json()["turns"]
    assert turns[1] == {"role": "patient", "text": "I smoke about fifteen a day.", "disclosed": ["smoking_history"]}
    assert again.integrity_ok()
    store.close()
    again.close()


def test_grades_on_postgresql(pg_url: str) -> None:
    store = Store(pg_url)
    sid = store.start_session(persona_id="chest_pain_exertional", persona_hash="f" * 64)
    store.add_turn(sid, "learner", "Do you smoke?")
    store.end_session(sid)
    grade = {"rubric": "history_taking", "transcript": sid, "score": 3.0, "max_score": 17.0, "percent": 17.6}
    first = store.add_grade(
        sid, {**grade, "metrics": {"ratio": float("nan")}}, rubric_hash="a" * 64, grader_version="0.1.0+abc"
    )
    second = store.add_grade(sid, {**grade, "score": 4.0}, rubric_hash="b" * 64, grader_version="0.1.0+abc")
    again = Store(pg_url)
    kept = again.grades(sid)
    assert [(g.id, g.score, g.rubric_hash[0], g.passed) for g in kept] == [
        (first, 3.0, "a", False),
        (second, 4.0, "b", False),
    ]
    assert kept[0].grade["metrics"] == {"ratio": None}  # PostgreSQL's JSON has no NaN
    assert [g.id for g in again.current_grades(rubric_id="history_taking") if g.session_id == sid] == [second]
    with pytest.raises(StoreError, match="no session 'nope'"):
        again.add_grade("nope", grade, rubric_hash="a", grader_version="v")
    store.close()
    again.close()
