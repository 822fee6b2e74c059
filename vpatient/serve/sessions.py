"""The consultations a server runs: created, resumed, evicted when idle, ended.

A `LiveSession` holds everything of one consultation (persona, persona engine, Consultation with its
store); nothing per-session lives in module globals. At most `max_sessions` are in memory at once; one more
is refused with `Busy` ("server busy, try again"). A session whose client went away stays in memory for
`grace_s` seconds so that a reconnect finds it as it was; after that it is dropped from memory, but stays
`active` in the store, and a later reconnect (or one after the server was killed and restarted) rebuilds
it: the stored turns are replayed through a fresh persona engine (plan + commit with the words actually
said), so the patient remembers what was told, and a learner turn left without an answer is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vpatient.consultation import Consultation
from vpatient.errors import StoreError, VPatientError
from vpatient.persona.loader import content_hash, load_persona
from vpatient.persona.schema import Persona
from vpatient.serve.models import Models
from vpatient.store import Store


class Busy(VPatientError):
    """Every consultation place is taken."""


class NotFound(VPatientError):
    """No such case or session."""


class Gone(VPatientError):
    """The session exists but cannot be continued (ended, or its case changed)."""


@dataclass
class Case:
    id: str
    path: Path
    persona: Persona
    hash: str

    def to_json(self) -> dict[str, Any]:
        p = self.persona
        return {
            "id": p.id,
            "title": p.title,
            "scenario": str(getattr(p.scenario, "value", p.scenario)),
            "setting": p.setting,
            "name": p.identity.name,
            "age": p.identity.age,
            "sex": str(getattr(p.identity.sex, "value", p.identity.sex)),
            "brief": p.brief.strip(),
        }


def load_cases(paths: list[Path]) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for path in paths:
        persona = load_persona(path)
        cases[persona.id] = Case(persona.id, Path(path), persona, content_hash(path))
    return cases


@dataclass
class LiveSession:
    id: str
    case: Case
    consult: Consultation
    engine: Any
    connection: Any = None
    """The connection now attached (one at a time; a new one replaces it)."""
    last_seen: float = field(default_factory=time.monotonic)
    pending: str | None = None
    """A stored learner turn the patient has not answered yet (the server stopped before the reply)."""
    attach_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def close(self) -> None:
        if hasattr(self.engine, "close"):
            with contextlib.suppress(Exception):
                self.engine.close()


class Hub:
    def __init__(
        self,
        models: Models,
        store: Store,
        cases: dict[str, Case],
        *,
        max_sessions: int,
        grace_s: float,
        audio_dir: Path | None = None,
        grade: bool = True,
    ):
        """`audio_dir`: keep each session's audio (learner and patient WAVs) in audio_dir/SESSION/, readable
        by the server's user only. `grade`: grade a consultation with its scenario's rubric when it ends."""
        self.models = models
        self.audio_dir = audio_dir
        self.grade_on_end = grade
        self.grading_errors: list[str] = []
        self._grader: Any = None
        self._grading = threading.Lock()
        self.store = store
        self.cases = cases
        self.max_sessions = max(1, max_sessions)
        self.grace_s = grace_s
        self.sessions: dict[str, LiveSession] = {}
        self._reserved = 0
        self._lock = asyncio.Lock()
        self._restoring: dict[str, asyncio.Future[LiveSession]] = {}
        self.refused = 0
        self.scripted_under_load = 0
        """Replies given in the scripted wording because the LLM queue was too long (vpatient.serve.load)."""

    # ------------------------------------------------------------------ capacity
    def _evict_idle(self) -> None:
        now = time.monotonic()
        for sid, live in list(self.sessions.items()):
            if live.connection is None and now - live.last_seen > self.grace_s:
                self.drop(sid)

    async def _reserve(self) -> None:
        async with self._lock:
            self._evict_idle()
            if len(self.sessions) + self._reserved >= self.max_sessions:
                self.refused += 1
                raise Busy(f"server busy: all {self.max_sessions} consultation places are taken; try again in a minute")
            self._reserved += 1

    def _release(self) -> None:
        self._reserved -= 1

    def drop(self, sid: str) -> None:
        """Forget a session in memory (it stays resumable from the store)."""
        live = self.sessions.pop(sid, None)
        if live is not None:
            live.close()

    async def sweep(self, every_s: float = 5.0) -> None:
        """Background task: drop sessions idle past the grace period."""
        while True:
            await asyncio.sleep(every_s)
            async with self._lock:
                self._evict_idle()

    # ------------------------------------------------------------------ sessions
    async def create(self, case_id: str, *, learner: str | None = None) -> LiveSession:
        case = self.cases.get(case_id)
        if case is None:
            raise NotFound(f"no case {case_id!r}; GET /api/cases lists them")
        await self._reserve()
        try:
            live = await asyncio.to_thread(self._new, case, learner)
            self.sessions[live.id] = live
            return live
        finally:
            self._release()

    def _new(self, case: Case, learner: str | None = None) -> LiveSession:
        engine = self.models.build_engine(case.persona, session_id=None)
        consult = Consultation(case.persona, case.path, engine, self.store, learner=learner)
        if self.audio_dir is not None:
            self.store.set_meta(consult.session_id, "audio_dir", str(self.session_audio(consult.session_id)))
        return LiveSession(consult.session_id, case, consult, engine)

    def session_audio(self, sid: str) -> Path | None:
        """The folder of a session's audio files (created for the owner only), or None when not kept."""
        if self.audio_dir is None or not sid.isalnum():
            return None
        from vpatient.files import private_dir

        private_dir(self.audio_dir, what="audio folder")
        return private_dir(self.audio_dir / sid, what="audio folder")

    async def get(self, sid: str) -> LiveSession:
        """The session in memory, or rebuilt from the store."""
        live = self.sessions.get(sid)
        if live is not None:
            return live
        waiting = self._restoring.get(sid)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[LiveSession] = asyncio.get_running_loop().create_future()
        self._restoring[sid] = future
        try:
            await self._reserve()
            try:
                live = await asyncio.to_thread(self._restore, sid)
                self.sessions[sid] = live
            finally:
                self._release()
            future.set_result(live)
            return live
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        finally:
            self._restoring.pop(sid, None)

    def _restore(self, sid: str) -> LiveSession:
        if not sid.isalnum() or len(sid) > 64:
            raise NotFound("no such session")
        try:
            stored = self.store.transcript(sid)
        except StoreError as exc:
            raise NotFound(f"no session {sid!r} on this server") from exc
        if stored.id != sid:  # the store also matches id prefixes; a resume must name the whole id
            raise NotFound(f"no session {sid!r} on this server")
        if stored.extra.get("status") != "active":
            raise Gone(f"session {sid} has ended ({stored.extra.get('status')}); start a new consultation")
        case = self.cases.get(stored.persona or "")
        if case is None:
            raise Gone(f"session {sid} is a consultation with {stored.persona!r}, a case this server does not offer")
        if stored.extra.get("persona_hash") != case.hash:
            raise Gone(f"the case {case.id} has changed since session {sid} began; start a new consultation")
        if self.audio_dir is not None and "audio_dir" not in self.store.session(sid).meta:
            self.store.set_meta(sid, "audio_dir", str(self.session_audio(sid)))
        engine = self.models.build_engine(case.persona, session_id=sid)
        scripted = getattr(engine, "scripted", engine)
        learner: str | None = None
        interrupted = False
        for turn in stored.turns:
            if turn.role == "learner":
                learner = turn.text
                interrupted = bool(turn.meta.get("interrupted_patient"))
            elif learner is not None:
                # the patient's memory and affect as they were: the same plan, the words actually said
                plan = scripted.plan(learner, interrupted=interrupted)
                scripted.commit(learner, plan, turn.text)
                learner = None
        last_end = max((t.end or t.start or 0.0 for t in stored.turns), default=0.0)
        consult = Consultation(
            case.persona, case.path, engine, self.store, session_id=sid, _t0=time.monotonic() - last_end - 1.0
        )
        consult.transcript.turns = list(stored.turns)
        return LiveSession(sid, case, consult, engine, pending=learner)

    async def end(self, live: LiveSession) -> None:
        await asyncio.to_thread(live.consult.end)
        self.sessions.pop(live.id, None)
        live.close()
        if self.grade_on_end:
            await asyncio.to_thread(self._grade, live)

    def grade_session(self, sid: str) -> Any:
        """Grade a stored session with its scenario's rubric and store the grade (blocking: call it in a
        worker thread). One SessionGrader per server keeps a grader per rubric, built once; a lock keeps
        two consultations that end together from using it at once."""
        with self._grading:
            if self._grader is None:
                from vpatient.grading.stored import SessionGrader

                self._grader = SessionGrader(self.store, embedder=self.models.embedder)
            return self._grader.grade_session(sid)

    def _grade(self, live: LiveSession) -> None:
        """Grade the finished consultation with its scenario's rubric and store the grade (pending review).
        A failure is kept in `grading_errors` and never loses the consultation: grade it later with
        `vpatient grade SESSION`."""
        try:
            self.grade_session(live.id)
        except Exception as exc:
            self.grading_errors.append(f"session {live.id}: {type(exc).__name__}: {exc}")

    def stats(self) -> dict[str, Any]:
        return {
            "sessions": len(self.sessions),
            "connected": sum(1 for s in self.sessions.values() if s.connection is not None),
            "max_sessions": self.max_sessions,
            "refused": self.refused,
            "scripted_under_load": self.scripted_under_load,
        }
