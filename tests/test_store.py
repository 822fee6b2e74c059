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
        assert conn.execute("select version_num from alembic_version").fetchone() == ("0003",)


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


# ---------------------------------------------------------------- issue 15: URLs, races, write failures


@pytest.mark.parametrize(
    "url", ["", "  ", "sqlite://", "sqlite:///", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"]
)
def test_empty_and_in_memory_urls_are_refused(url: str) -> None:
    with pytest.raises(StoreError, match=r"empty|in-memory"):
        Store(url)


def test_empty_vpatient_db_is_refused_not_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VPATIENT_DB", "")  # `export VPATIENT_DB=$UNSET_VARIABLE`
    with pytest.raises(StoreError, match="VPATIENT_DB"):
        Store()


def test_read_only_sqlite_option_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"read-only database cannot store sessions; remove '\?mode=ro'"):
        Store(f"sqlite:///{tmp_path / 'ro.db'}?mode=ro")


def test_tilde_in_a_sqlite_path_is_the_home_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = Store("sqlite:///~/sub/vp.db")
    store.start_session(persona_id="p", persona_hash="h")
    assert (tmp_path / "sub" / "vp.db").is_file()
    assert not Path("~").exists()


def test_database_file_and_folder_are_the_owners_only(tmp_path: Path) -> None:
    db = tmp_path / "new" / "vp.db"
    Store(f"sqlite:///{db}").start_session(persona_id="p", persona_hash="h")
    assert db.stat().st_mode & 0o777 == 0o600
    assert db.parent.stat().st_mode & 0o777 == 0o700
    for side in db.parent.glob("vp.db-*"):  # WAL and shared-memory files follow the database's mode
        assert side.stat().st_mode & 0o077 == 0, side


def test_password_is_masked_in_the_url_and_in_errors() -> None:
    from vpatient.store import masked

    assert masked("postgresql+psycopg://u:s3cret@127.0.0.1:1/db") == "postgresql+psycopg://u:***@127.0.0.1:1/db"
    with pytest.raises(StoreError) as err:
        Store("postgresql+psycopg://u:s3cret@127.0.0.1:1/db")  # nothing listens on port 1
    assert "s3cret" not in str(err.value)
    assert "***" in str(err.value)


def test_export_id_is_not_a_like_pattern(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'like.db'}")
    store.start_session(persona_id="p", persona_hash="h")
    for pattern in ("%", "_", "", "%%%%"):
        with pytest.raises(StoreError, match="no session"):
            store.transcript(pattern)


_RACER = """
import os, sys, time
from vpatient.store import Store
open(sys.argv[2] + "." + str(os.getpid()), "w").close()  # imported: ready
while not os.path.exists(sys.argv[2]):
    time.sleep(0.001)
Store(sys.argv[1]).sessions()
"""


def test_parallel_first_starts_do_not_race_to_create_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _RACER, url, str(go)], env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(12)
    ]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("go.*"))) < len(procs) and time.monotonic() < deadline:
        time.sleep(0.05)  # every process has imported vpatient: now all open the new database at once
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), "\n".join(errors)


_KILLED_MIGRATION = """
import os, signal, sys
from alembic.operations import Operations
original = Operations.create_table
def create_table(self, name, *args, **kw):
    result = original(self, name, *args, **kw)
    if name == "sessions":
        os.kill(os.getpid(), signal.SIGKILL)  # killed between the two tables of the first migration
    return result
Operations.create_table = create_table
from vpatient.store import Store
Store(sys.argv[1])
"""


def test_kill_during_the_first_migration_leaves_a_database_that_opens(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _KILLED_MIGRATION, url], env=env, capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    store = Store(url)
    assert store.sessions() == []
    assert store.integrity_ok()


def _read_only(store: Store) -> None:
    """Make every later connection refuse writes, as a read-only file does (chmod does not stop root)."""
    from sqlalchemy import event

    event.listen(store.engine, "connect", lambda conn, _rec: conn.execute("PRAGMA query_only=ON"))
    store.engine.dispose()


def test_write_failures_are_store_errors_with_the_fix(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vp.db'}")
    sid = store.start_session(persona_id="p", persona_hash="h")
    _read_only(store)
    with pytest.raises(
        StoreError,
        match=r"cannot store a learner turn in the session database sqlite:///.*vp.db: .*"
        r"read-only; make both writable or give another --db",
    ):
        store.add_turn(sid, "learner", "hello")
