"""A text consultation: the persona engine plus the store, one committed turn at a time.

When the store fails mid-consultation (disk full, read-only database), nothing said is lost: the turn is
kept in the in-memory transcript, the reply is still computed and returned, `store_error` records why, no
further writes are tried (so the stored turns never have gaps) and `end()` marks the session
`incomplete` where it can. The caller shows the reply, stops, and writes the transcript file.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vpatient.errors import StoreError
from vpatient.persona.engine import Reply
from vpatient.persona.loader import content_hash
from vpatient.persona.schema import Persona
from vpatient.store import Store
from vpatient.transcript import Transcript, Turn


class Engine(Protocol):
    mode: str

    def respond(self, utterance: str, *, interrupted: bool = False) -> Reply: ...


@dataclass
class Consultation:
    persona: Persona
    persona_path: Path
    engine: Engine
    store: Store
    session_id: str = ""
    learner: str | None = None
    """The user name of the student (stored with a new session; None: anonymous)."""
    transcript: Transcript = field(init=False)
    store_error: StoreError | None = field(default=None, init=False)
    """The first write that failed; later turns are kept in `transcript` only."""
    _t0: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.session_id:
            self.session_id = self.store.start_session(
                persona_id=self.persona.id,
                persona_hash=content_hash(self.persona_path),
                persona_path=str(self.persona_path),
                engine=self.engine.mode,
                meta={"scenario": str(self.persona.scenario)},  # picks the rubric that grades it
                learner=self.learner,
            )
        self.transcript = Transcript(id=self.session_id, persona=self.persona.id)
        if hasattr(self.engine, "session_id"):
            # the inference core sees the real session (its requests, and barge-in cancelling them)
            self.engine.session_id = self.session_id

    def _keep(self, write: Callable[[], object]) -> None:
        if self.store_error is not None:
            return
        try:
            write()
        except StoreError as exc:
            self.store_error = exc

    def _clock(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    def turn(self, utterance: str, *, interrupted: bool = False) -> Reply:
        """Store the learner's turn, answer, store the reply: each committed before the next step."""
        start = self._clock()
        self.transcript.turns.append(Turn("learner", utterance, start, start))
        self._keep(lambda: self.store.add_turn(self.session_id, "learner", utterance, start=start, end=start))
        reply = self.engine.respond(utterance, interrupted=interrupted)
        end = self._clock()
        meta = reply.turn_meta()
        self.transcript.turns.append(Turn("patient", reply.text, end, end, meta))
        self._keep(lambda: self.store.add_turn(self.session_id, "patient", reply.text, start=end, end=end, meta=meta))
        return reply

    # ------------------------------------------------------------------ voice turns
    # A voice turn is stored in two steps: the learner's turn (with its times and audio file) before the
    # patient answers, and the patient's turn once its audio has played (or was cut off), with the times
    # and the audio file of what was actually said.
    def clock(self) -> float:
        """Seconds since the consultation started (the transcript's time base)."""
        return self._clock()

    def add_learner_turn(self, utterance: str, *, start: float, end: float, meta: dict[str, Any] | None = None) -> None:
        self.transcript.turns.append(Turn("learner", utterance, start, end, dict(meta or {})))
        self._keep(
            lambda: self.store.add_turn(self.session_id, "learner", utterance, start=start, end=end, meta=meta or None)
        )

    def respond(self, utterance: str, *, interrupted: bool = False) -> Reply:
        """The engine's reply to a learner turn already stored with `add_learner_turn`."""
        return self.engine.respond(utterance, interrupted=interrupted)

    def add_patient_turn(
        self, reply: Reply, *, start: float, end: float, text: str | None = None, meta: dict[str, Any] | None = None
    ) -> None:
        """`text`: what was actually spoken when playback was cut off (defaults to the whole reply)."""
        full = {**reply.turn_meta(), **(meta or {})}
        spoken = reply.text if text is None else text
        if spoken != reply.text:
            full["planned_text"] = reply.text
        self.transcript.turns.append(Turn("patient", spoken, start, end, full))
        self._keep(lambda: self.store.add_turn(self.session_id, "patient", spoken, start=start, end=end, meta=full))

    def end(self) -> None:
        """Mark the session ended, or `incomplete` (best effort) after a failed write."""
        if self.store_error is None:
            self._keep(lambda: self.store.end_session(self.session_id))
        if self.store_error is not None:
            self.transcript.extra["status"] = "incomplete"
            self.transcript.extra["store_error"] = str(self.store_error)
            # when the database cannot be written at all, the transcript file says so instead
            with contextlib.suppress(StoreError):
                self.store.end_session(self.session_id, status="incomplete")
