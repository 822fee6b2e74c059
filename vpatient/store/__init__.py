"""The session store: sessions and turns in any SQLAlchemy database (SQLite by default).

Every turn is committed on its own before the conversation moves on, so a killed process loses at most
the turn in flight. The schema is created and upgraded by Alembic migrations shipped in the package.

This module is the adapter boundary of the database: every SQLAlchemy or driver error is mapped to a
`StoreError` that names the database (password masked), what failed and the fix. URLs that would lose
sessions (empty, in-memory SQLite) or cannot store them (read-only SQLite) are refused. On SQLite every
transaction is a real one (DDL included) and writers take the write lock when they begin, so two first
starts cannot race to create the schema and a kill during the first migration leaves nothing behind.
A SQLite file created here is readable by its owner only.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, make_url, select, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from vpatient.errors import StoreError
from vpatient.store.tables import GradeRow, SessionRow, TurnRow
from vpatient.terminal import finite
from vpatient.transcript import Transcript, Turn

MIGRATIONS = Path(__file__).parent / "migrations"


SQLITE_OPTIONS = {"timeout"}
"""SQLite URL options the store accepts (others, like ?mode=ro, would be ignored or lose sessions)."""


def default_url() -> str:
    """VPATIENT_DB if set (an empty value is refused by Store), else a SQLite file in the user's data folder."""
    if "VPATIENT_DB" in os.environ:
        return os.environ["VPATIENT_DB"]
    base = Path(os.environ.get("XDG_DATA_HOME", os.path.expanduser("~/.local/share"))) / "vpatient"
    return f"sqlite:///{base / 'vpatient.db'}"


def masked(url: str | URL) -> str:
    """The URL with its password replaced by ***, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return "<unparsable URL>"


def check_url(url: str) -> URL:
    """The parsed URL of a usable session store; StoreError for URLs that would lose or refuse sessions.

    `~` in a SQLite path is expanded (sqlite:///~/vpatient.db).
    """
    example = "sqlite:///~/vpatient.db"
    if not url.strip():
        raise StoreError(
            "the database URL is empty (is VPATIENT_DB or --db set to an empty value?); unset VPATIENT_DB to use "
            f"the default SQLite file, or give one such as {example}"
        )
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError) as exc:
        raise StoreError(
            f"{masked(url)!r} is not a database URL ({exc}); give one such as {example} or "
            "postgresql+psycopg://user@host/vpatient"
        ) from exc
    if parsed.get_backend_name() != "sqlite":
        return parsed
    database = parsed.database or ""
    query = dict(parsed.query)
    if database in ("", ":memory:") or query.get("mode") == "memory" or database.startswith("file::memory:"):
        raise StoreError(
            f"{masked(parsed)!r} is an in-memory SQLite database: every session would be lost when vpatient "
            f"exits; give a file, such as {example}"
        )
    unknown = sorted(set(query) - SQLITE_OPTIONS)
    if unknown:
        what = "a read-only database cannot store sessions" if query.get("mode") == "ro" else "not supported"
        raise StoreError(
            f"{masked(parsed)!r}: the SQLite option(s) {', '.join(unknown)} are {what}; remove "
            f"'?{'&'.join(f'{k}={query[k]}' for k in unknown)}' from the URL"
        )
    if database.startswith("~"):
        parsed = parsed.set(database=os.path.expanduser(database))
    return parsed


def _private_sqlite_file(path: Path) -> None:
    """Create the database file (and its folder) readable by the owner only, before SQLite does."""
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's own message (without SQLAlchemy's SQL echo and background link) and the fix."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    msg = lines[0] if lines else type(exc).__name__
    low = msg.lower()
    if "readonly" in low or "read-only" in low or "read only" in low:
        fix = "the database file or its folder is read-only; make both writable or give another --db"
    elif "disk" in low and "full" in low:
        fix = "the disk is full; free some space or give a database on another disk with --db"
    elif "locked" in low or "busy" in low:
        fix = "another process holds the database; try again in a moment"
    elif "unable to open" in low:
        fix = "check that the folder exists and is writable, or give another --db"
    elif "password" in low or "authentication" in low:
        fix = "check the user name and password in the URL"
    else:
        fix = "check the URL and that the database is reachable"
    return f"{msg}; {fix}"


@dataclass(frozen=True)
class SessionInfo:
    id: str
    persona_id: str
    persona_hash: str
    engine: str
    status: str
    started_at: str
    ended_at: str | None
    turns: int
    learner: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SessionRecord:
    """What grading needs to know about a stored session beyond its turns."""

    id: str
    persona_id: str
    persona_path: str
    status: str
    meta: dict[str, Any]
    learner: str | None = None
    started_at: str = ""


@dataclass(frozen=True)
class GradeRecord:
    """A stored grade: the grade JSON with the rubric's id and content hash and the grader version."""

    id: int
    session_id: str
    rubric_id: str
    rubric_hash: str
    rubric_path: str
    grader_version: str
    score: float
    max_score: float
    percent: float
    passed: bool
    created_at: str
    grade: dict[str, Any]
    meta: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _grade_record(r: GradeRow) -> GradeRecord:
    return GradeRecord(
        id=r.id,
        session_id=r.session_id,
        rubric_id=r.rubric_id,
        rubric_hash=r.rubric_hash,
        rubric_path=r.rubric_path,
        grader_version=r.grader_version,
        score=r.score,
        max_score=r.max_score,
        percent=r.percent,
        passed=bool(r.passed),
        created_at=r.created_at.isoformat(),
        grade=dict(r.grade or {}),
        meta=dict(r.meta or {}),
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver would start transactions only before INSERT/UPDATE/DELETE, leaving DDL (the migrations)
    # in autocommit; `_sqlite_begin` emits BEGIN itself instead (SQLAlchemy's documented recipe).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


WRITE = "vpatient_write"
"""Execution option: this transaction writes, so take SQLite's write lock when it begins."""


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, url: str | None = None):
        parsed = check_url(default_url() if url is None else url)
        self.url = masked(parsed)
        """The URL with the password masked: safe to print."""
        try:
            if parsed.get_backend_name() == "sqlite" and parsed.database:
                _private_sqlite_file(Path(parsed.database))
        except OSError as exc:
            raise StoreError(
                f"cannot create the database file {parsed.database}: {exc.strerror}; check that its folder is "
                "writable, or give another --db"
            ) from exc
        try:
            self.engine: Engine = create_engine(parsed, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot use database {self.url!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._writer = self.engine.execution_options(**{WRITE: True})
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)
        self.migrate()

    @contextmanager
    def _mapped(self, action: str) -> Iterator[None]:
        """The adapter boundary: database errors become StoreError naming the database, the action and the fix."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot {action} in the session database {self.url}: {_reason(exc)}") from exc

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creates it on a new database)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            # one transaction holding the write lock: a second first start waits, then finds the schema
            with self._writer.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open or migrate the session database {self.url}: {_reason(exc)}") from exc

    def _db(self) -> Session:
        return self._sessions()

    def _write(self) -> Session:
        return self._write_sessions()

    # ------------------------------------------------------------------ writing
    def start_session(
        self,
        *,
        persona_id: str,
        persona_hash: str,
        persona_path: str = "",
        engine: str = "scripted",
        meta: dict[str, Any] | None = None,
        learner: str | None = None,
    ) -> str:
        """`learner`: the user name of the student whose consultation this is (None: anonymous)."""
        sid = uuid.uuid4().hex[:12]
        with self._mapped("start a session"), self._write() as db, db.begin():
            db.add(
                SessionRow(
                    id=sid,
                    persona_id=persona_id,
                    persona_hash=persona_hash,
                    persona_path=persona_path,
                    engine=engine,
                    status="active",
                    started_at=_now(),
                    meta=meta or {},
                    learner=learner or None,
                )
            )
        return sid

    def set_meta(self, session_id: str, key: str, value: Any) -> None:
        """Record one more fact about a session (e.g. the folder of its audio files)."""
        with self._mapped("update a session"), self._write() as db, db.begin():
            row = db.get(SessionRow, session_id)
            if row is None:
                raise StoreError(f"no session {session_id!r}")
            row.meta = {**(row.meta or {}), key: value}

    def add_turn(
        self,
        session_id: str,
        role: str,
        text_: str,
        *,
        start: float | None = None,
        end: float | None = None,
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Append a turn and commit it; returns its position in the session."""
        if role not in ("learner", "patient"):
            raise StoreError(f"role {role!r} is not 'learner' or 'patient'")
        with self._mapped(f"store a {role} turn"), self._write() as db, db.begin():
            if db.get(SessionRow, session_id) is None:
                raise StoreError(f"no session {session_id!r}")
            idx = db.scalar(select(func.count()).select_from(TurnRow).where(TurnRow.session_id == session_id)) or 0
            db.add(
                TurnRow(
                    session_id=session_id,
                    idx=idx,
                    role=role,
                    text=text_,
                    start=start,
                    end=end,
                    created_at=_now(),
                    meta=meta or {},
                )
            )
        return idx

    def end_session(self, session_id: str, status: str = "ended") -> None:
        """Mark the session finished: `ended`, or `incomplete` when some of its turns could not be stored."""
        with self._mapped("end the session"), self._write() as db, db.begin():
            row = db.get(SessionRow, session_id)
            if row is None:
                raise StoreError(f"no session {session_id!r}")
            row.status = status
            row.ended_at = _now()

    def add_grade(
        self,
        session_id: str,
        grade: dict[str, Any],
        *,
        rubric_hash: str,
        grader_version: str,
        rubric_path: str = "",
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Store a grade (the grade JSON) of a stored session in one transaction; returns the grade id.

        Grades are never replaced: grading again (a rescore) adds a row and the newest one is current.
        """
        try:
            rubric_id = str(grade["rubric"])
            numbers = [float(grade[k]) for k in ("score", "max_score", "percent")]
            passed = bool(grade.get("passed", False))
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(
                f"cannot store the grade of session {session_id!r}: it is not grade JSON (missing or bad {exc}); "
                "store what Grader.grade(...).to_json() returns"
            ) from exc
        with self._mapped("store a grade"), self._write() as db, db.begin():
            if db.get(SessionRow, session_id) is None:
                raise StoreError(f"no session {session_id!r}; `vpatient sessions list` shows the ids")
            row = GradeRow(
                session_id=session_id,
                rubric_id=rubric_id,
                rubric_hash=rubric_hash,
                rubric_path=rubric_path,
                grader_version=grader_version,
                score=numbers[0],
                max_score=numbers[1],
                percent=numbers[2],
                passed=passed,
                grade=finite(grade),  # PostgreSQL's JSON refuses NaN
                created_at=_now(),
                meta=finite(meta or {}),
            )
            db.add(row)
            db.flush()
            grade_id = int(row.id)
        return grade_id

    # ------------------------------------------------------------------ reading
    def session(self, session_id: str) -> SessionRecord:
        """The session with this id or unique id prefix (as `transcript`)."""
        with self._mapped("read a session"), self._db() as db:
            row = self._find_session(db, session_id)
            return SessionRecord(
                row.id,
                row.persona_id,
                row.persona_path,
                row.status,
                dict(row.meta or {}),
                row.learner,
                row.started_at.isoformat(),
            )

    def _find_session(self, db: Session, session_id: str) -> SessionRow:
        row = db.get(SessionRow, session_id)
        if row is None:
            prefix = SessionRow.id.startswith(session_id, autoescape=True)
            matches = db.scalars(select(SessionRow).where(prefix)).all() if session_id else []
            if len(matches) != 1:
                raise StoreError(f"no session {session_id!r}; `vpatient sessions list` shows the ids")
            row = matches[0]
        return row

    def grades(self, session_id: str | None = None, *, rubric_id: str | None = None) -> list[GradeRecord]:
        """Stored grades, oldest first (of one session and/or one rubric when given)."""
        query = select(GradeRow).order_by(GradeRow.id)
        if session_id is not None:
            query = query.where(GradeRow.session_id == session_id)
        if rubric_id is not None:
            query = query.where(GradeRow.rubric_id == rubric_id)
        with self._mapped("read grades"), self._db() as db:
            return [_grade_record(r) for r in db.scalars(query).all()]

    def current_grades(self, *, rubric_id: str | None = None) -> list[GradeRecord]:
        """The newest grade of each (session, rubric), oldest session first."""
        newest = select(func.max(GradeRow.id)).group_by(GradeRow.session_id, GradeRow.rubric_id)
        if rubric_id is not None:
            newest = newest.where(GradeRow.rubric_id == rubric_id)
        with self._mapped("read grades"), self._db() as db:
            rows = db.scalars(select(GradeRow).where(GradeRow.id.in_(newest)).order_by(GradeRow.id)).all()
            return [_grade_record(r) for r in rows]

    def sessions(self) -> list[SessionInfo]:
        counts = select(TurnRow.session_id, func.count().label("n")).group_by(TurnRow.session_id).subquery()
        with self._mapped("list sessions"), self._db() as db:
            rows = db.execute(
                select(SessionRow, counts.c.n)
                .outerjoin(counts, counts.c.session_id == SessionRow.id)
                .order_by(SessionRow.started_at)
            ).all()
        return [
            SessionInfo(
                r.id,
                r.persona_id,
                r.persona_hash,
                r.engine,
                r.status,
                r.started_at.isoformat(),
                r.ended_at.isoformat() if r.ended_at else None,
                int(n or 0),
                r.learner,
            )
            for r, n in rows
        ]

    def transcript(self, session_id: str) -> Transcript:
        """The session with this id or unique id prefix (taken literally: % and _ are not wildcards)."""
        with self._mapped("read a session"), self._db() as db:
            row = self._find_session(db, session_id)
            turns = db.scalars(select(TurnRow).where(TurnRow.session_id == row.id).order_by(TurnRow.idx)).all()
        return Transcript(
            id=row.id,
            persona=row.persona_id,
            turns=[
                Turn(role=t.role, text=t.text, start=t.start, end=t.end, meta=dict(t.meta or {}))  # type: ignore[arg-type]
                for t in turns
            ],
            extra={
                "persona_hash": row.persona_hash,
                "engine": row.engine,
                "status": row.status,
                "started_at": row.started_at.isoformat(),
                **({"learner": row.learner} if row.learner else {}),
            },
        )

    def integrity_ok(self) -> bool:
        """SQLite's integrity check (other databases: a round trip)."""
        with self._mapped("check the database"), self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                return bool(conn.execute(text("PRAGMA integrity_check")).scalar() == "ok")
            conn.execute(text("SELECT 1"))
            return True

    def close(self) -> None:
        self.engine.dispose()
