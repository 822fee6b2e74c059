"""State shared by the stages of one session: turn numbers, who is speaking, latency figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TurnMetrics:
    """Latency of one turn, in milliseconds (wall clock).

    endpoint_ms: last voiced sample -> end of turn detected (the silence budget, mostly);
    stt_ms: end of turn -> transcript; first_token_ms: transcript -> first sentence of the reply;
    first_audio_ms: first sentence -> its first audio sample; voice_to_voice_ms: last voiced sample of
    the learner -> first sample of the reply (everything above).
    """

    turn: int
    learner_text: str = ""
    endpoint_ms: float | None = None
    stt_ms: float | None = None
    first_token_ms: float | None = None
    first_audio_ms: float | None = None
    voice_to_voice_ms: float | None = None
    interrupted: bool = False
    # wall-clock marks (not written)
    last_voiced_wall: float = field(default=0.0, repr=False)
    text_wall: float = field(default=0.0, repr=False)
    reply_wall: float = field(default=0.0, repr=False)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("last_voiced_wall", "text_wall", "reply_wall"):
            d.pop(k)
        return d


@dataclass
class SessionContext:
    out_dir: Path | None = None
    """Where per-turn audio files go (None: not kept)."""
    t0: float = 0.0
    """Consultation clock (seconds) at stream time 0."""
    stream_t: float = 0.0
    """Stream time (seconds of input audio) heard so far."""
    patient_speaking: bool = False
    partial_text: str = ""
    patient_said: str = ""
    """The patient's last reply (context for the recogniser)."""
    turn: int = 0
    metrics: dict[int, TurnMetrics] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def new_turn(self) -> TurnMetrics:
        self.turn += 1
        m = TurnMetrics(self.turn)
        self.metrics[self.turn] = m
        return m

    def audio_path(self, turn: int, role: str) -> Path | None:
        return None if self.out_dir is None else self.out_dir / f"turn{turn:02d}_{role}.wav"
