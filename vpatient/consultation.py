"""A text consultation: the persona engine plus the store, one committed turn at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

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
    transcript: Transcript = field(init=False)
    _t0: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.session_id:
            self.session_id = self.store.start_session(
                persona_id=self.persona.id,
                persona_hash=content_hash(self.persona_path),
                persona_path=str(self.persona_path),
                engine=self.engine.mode,
            )
        self.transcript = Transcript(id=self.session_id, persona=self.persona.id)

    def _clock(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    def turn(self, utterance: str, *, interrupted: bool = False) -> Reply:
        """Store the learner's turn, answer, store the reply: each committed before the next step."""
        start = self._clock()
        self.store.add_turn(self.session_id, "learner", utterance, start=start, end=start)
        self.transcript.turns.append(Turn("learner", utterance, start, start))
        reply = self.engine.respond(utterance, interrupted=interrupted)
        end = self._clock()
        meta = reply.turn_meta()
        self.store.add_turn(self.session_id, "patient", reply.text, start=end, end=end, meta=meta)
        self.transcript.turns.append(Turn("patient", reply.text, end, end, meta))
        return reply

    # ------------------------------------------------------------------ voice turns
    # A voice turn is stored in two steps: the learner's turn (with its times and audio file) before the
    # patient answers, and the patient's turn once its audio has played (or was cut off), with the times
    # and the audio file of what was actually said.
    def clock(self) -> float:
        """Seconds since the consultation started (the transcript's time base)."""
        return self._clock()

    def add_learner_turn(self, utterance: str, *, start: float, end: float, meta: dict[str, Any] | None = None) -> None:
        self.store.add_turn(self.session_id, "learner", utterance, start=start, end=end, meta=meta or None)
        self.transcript.turns.append(Turn("learner", utterance, start, end, dict(meta or {})))

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
        self.store.add_turn(self.session_id, "patient", spoken, start=start, end=end, meta=full)
        self.transcript.turns.append(Turn("patient", spoken, start, end, full))

    def end(self) -> None:
        self.store.end_session(self.session_id)
