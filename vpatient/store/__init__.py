"""The session store: sessions and turns in any SQLAlchemy database (SQLite by default).

Every turn is committed on its own before the conversation moves on, so a killed process loses at most
the turn in flight. The schema is created and upgraded by Alembic migrations shipped in the package.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from vpatient.errors import StoreError
from vpatient.store.tables import SessionRow, TurnRow
from vpatient.transcript import Transcript, Turn

MIGRATIONS = Path(__file__).parent / "migrations"


def default_url() -> str:
    """VPATIENT_DB if set, else a SQLite file in the user's data folder."""
    if os.environ.get("VPATIENT_DB"):
        return os.environ["VPATIENT_DB"]
    base = Path(os.environ.get("XDG_DATA_HOME", os.path.expanduser("~/.local/share"))) / "vpatient"
    return f"sqlite:///{base / 'vpatient.db'}"


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

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        if self.url.startswith("sqlite:///") and not self.url.startswith("sqlite:///:memory:"):
            Path(self.url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(self.url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError(f"cannot use database {self.url!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.migrate()

    def migrate(self) -> None:
        """Bring the schema to the newest migration (creates it on a new database)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open or migrate database {self.url!r}: {exc}") from exc

    def _db(self) -> Session:
        return self._sessions()

    # ------------------------------------------------------------------ writing
    def start_session(
        self,
        *,
        persona_id: str,
        persona_hash: str,
        persona_path: str = "",
        engine: str = "scripted",
        meta: dict[str, Any] | None = None,
    ) -> str:
        sid = uuid.uuid4().hex[:12]
        with self._db() as db, db.begin():
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
                )
            )
        return sid

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
        with self._db() as db, db.begin():
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

    def end_session(self, session_id: str) -> None:
        with self._db() as db, db.begin():
            row = db.get(SessionRow, session_id)
            if row is None:
                raise StoreError(f"no session {session_id!r}")
            row.status = "ended"
            row.ended_at = _now()

    # ------------------------------------------------------------------ reading
    def sessions(self) -> list[SessionInfo]:
        counts = select(TurnRow.session_id, func.count().label("n")).group_by(TurnRow.session_id).subquery()
        with self._db() as db:
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
            )
            for r, n in rows
        ]

    def transcript(self, session_id: str) -> Transcript:
        with self._db() as db:
            row = db.get(SessionRow, session_id)
            if row is None:
                matches = db.scalars(select(SessionRow).where(SessionRow.id.startswith(session_id))).all()
                if len(matches) != 1:
                    raise StoreError(f"no session {session_id!r}; `vpatient sessions list` shows the ids")
                row = matches[0]
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
            },
        )

    def integrity_ok(self) -> bool:
        """SQLite's integrity check (other databases: a round trip)."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "sqlite":
                return bool(conn.execute(text("PRAGMA integrity_check")).scalar() == "ok")
            conn.execute(text("SELECT 1"))
            return True

    def close(self) -> None:
        self.engine.dispose()
