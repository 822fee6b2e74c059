"""A text consultation: the persona engine plus the store, one committed turn at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

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

    def end(self) -> None:
        self.store.end_session(self.session_id)
