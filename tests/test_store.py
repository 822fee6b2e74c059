"""The session store: migrations, committed turns, export, and durability under SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from vpatient.errors import StoreError
from vpatient.store import Store


def test_new_database_is_migrated_and_round_trips(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    store = Store(url)
    sid = store.start_session(persona_id="p1", persona_hash="abc", engine="scripted")
    assert store.add_turn(sid, "learner", "Hello", start=0.0, end=1.5) == 0
    assert store.add_turn(sid, "patient", "Hi doctor", meta={"disclosed": ["x"]}) == 1
    store.end_session(sid)
    again = Store(url)  # reopening runs the migrations again: a no-op
    [info] = again.sessions()
    assert (info.id, info.persona_id, info.persona_hash, info.status, info.turns) == (sid, "p1", "abc", "ended", 2)
    t = again.transcript(sid[:6]).to_json()
    assert t["turns"] == [
        {"role": "learner", "text": "Hello", "start": 0.0, "end": 1.5},
        {"role": "patient", "text": "Hi doctor", "disclosed": ["x"]},
    ]
    with sqlite3.connect(tmp_path / "a.db") as conn:
        assert conn.execute("select version_num from alembic_version").fetchone() == ("0001",)


def test_bad_role_and_unknown_session_are_clear_errors(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    sid = store.start_session(persona_id="p", persona_hash="h")
    with pytest.raises(StoreError, match="'doctor' is not 'learner' or 'patient'"):
        store.add_turn(sid, "doctor", "x")
    with pytest.raises(StoreError, match="no session 'nope'"):
        store.add_turn("nope", "learner", "x")
    with pytest.raises(StoreError, match="sessions list"):
        store.transcript("zzzz")


def test_unusable_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot use database"):
        Store("nosuchdialect://x")


def test_sigkill_mid_session_keeps_every_finished_turn(tmp_path: Path) -> None:
    """Kill a running `vpatient chat` with SIGKILL: finished turns survive and the database is intact."""
    db = tmp_path / "kill.db"
    env = {**os.environ, "VPATIENT_DB": f"sqlite:///{db}"}
    asked = ["What brings you in today?", "Do you smoke?", "Any allergies?"]
    replies = []
    with subprocess.Popen(
        [sys.executable, "-m", "vpatient", "chat", "--persona", str(ROOT / "personas" / "chest_pain_exertional.yaml")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
        bufsize=1,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        for q in asked:
            proc.stdin.write(q + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            while line and not line.startswith("Robert Hale:"):
                line = proc.stdout.readline()
            assert line, "vpatient chat ended early"
            replies.append(line.split(":", 1)[1].strip())
        proc.stdin.write("Do you drink alcohol?\n")  # in flight when the process dies
        proc.stdin.flush()
        time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = Store(f"sqlite:///{db}")
    [info] = store.sessions()
    assert info.status == "active"  # never ended
    turns = store.transcript(info.id).turns
    assert len(turns) >= 6
    assert [t.text for t in turns[:6:2]] == asked
    assert [t.text for t in turns[1:6:2]] == replies
    assert all(t.role == ("learner" if i % 2 == 0 else "patient") for i, t in enumerate(turns))
    assert json.dumps(store.transcript(info.id).to_json())  # still exportable
