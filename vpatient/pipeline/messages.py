"""Typed messages passed between the stages of a live session (never dicts).

Urgent messages (`urgent = True`: speech start over the patient, interruptions, backchannels) skip the
stages' queues: every stage sees them at once, even while it is busy, and passes them on.
Times named `t` or `*_t` are seconds on the session's audio clock (the input stream's sample count);
times named `*_wall` are `time.perf_counter()` readings, used for latency figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np


@dataclass
class Message:
    urgent: ClassVar[bool] = False


@dataclass
class AudioChunk(Message):
    """Mono float32 input audio at `sample_rate`; `t` is the stream time of its first sample."""

    samples: np.ndarray
    sample_rate: int
    t: float
    wall: float = 0.0


@dataclass
class SpeechStarted(Message):
    """The learner started speaking. `over_patient`: while the patient was talking (playback pauses)."""

    urgent: ClassVar[bool] = True
    t: float
    over_patient: bool = False


@dataclass
class SpeechPaused(Message):
    """A short pause inside the learner's turn: the recogniser may decode what came so far."""

    audio: np.ndarray
    t: float


@dataclass
class SpeechStopped(Message):
    """End of the learner's turn (the silence budget ran out). `audio` is the turn at 16 kHz."""

    audio: np.ndarray
    start_t: float
    end_t: float
    """Stream time of the last voiced sample."""
    last_voiced_wall: float
    """Wall time at which the last voiced sample arrived."""
    detected_wall: float
    over_patient: bool = False
    barged_in: bool = False
    """An `Interruption` was already sent for this speech (it ran past the backchannel length)."""


@dataclass
class TurnSettled(Message):
    """The learner stayed quiet for `EndpointConfig.resume_ms` after the end of their turn: a turn held back
    because its words sounded unfinished ("and, um") is over now."""

    t: float


@dataclass
class UserText(Message):
    """What the learner said (the recogniser's transcript of one turn)."""

    text: str
    start_t: float
    end_t: float
    audio: np.ndarray
    last_voiced_wall: float
    stt_ms: float
    interrupted: bool = False
    """The learner talked over the patient (the persona engine treats it as an interruption)."""
    words: list[tuple[str, float]] = field(default_factory=list)
    """Each recognised word with the recogniser's probability for it (empty when the recogniser gives none)."""
    confidence: float | None = None
    """The mean word probability (None when unknown)."""


@dataclass
class PatientText(Message):
    """One sentence of the patient's reply, streamed in order; `last` closes the reply."""

    text: str
    index: int
    last: bool
    turn: int
    emotion: str = "neutral"
    affect: dict[str, Any] = field(default_factory=dict)
    speed: float = 1.0


@dataclass
class AudioOut(Message):
    """Synthesised audio of one sentence (float32 mono at `sample_rate`) for the speaker and the avatar's
    lip-sync; `emotion` is the face to show while it plays; `phonemes` the IPA the voice spoke (empty when
    the voice gives none), from which the avatar times its visemes."""

    samples: np.ndarray
    sample_rate: int
    text: str
    index: int
    last: bool
    turn: int
    emotion: str = "neutral"
    phonemes: str = ""


@dataclass
class Interruption(Message):
    """The learner talked over the patient: stop playback and cancel generation downstream."""

    urgent: ClassVar[bool] = True
    t: float
    reason: str = "barge-in"


@dataclass
class Backchannel(Message):
    """A short acknowledgement over the patient ("mm-hm", "okay"): not an interruption; playback resumes."""

    urgent: ClassVar[bool] = True
    text: str


@dataclass
class TurnDone(Message):
    """The patient's reply for `turn` has been played out (or was cut off: `interrupted`)."""

    turn: int
    text: str
    interrupted: bool = False


@dataclass
class ErrorMessage(Message):
    """A stage failed; the session carries on (degrading to text where needed)."""

    stage: str
    message: str


@dataclass
class EndOfStream(Message):
    """No more input; each stage passes it on after finishing its own work."""
