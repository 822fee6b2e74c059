"""Voice activity and end of turn.

`SileroVAD` runs the Silero VAD model that ships inside faster-whisper (offline) frame by frame
(512 samples = 32 ms at 16 kHz), keeping the model's state between frames. `EnergyVAD` is the fake.
`Endpointer` turns per-frame speech probabilities into speech start, short pauses and end of turn.
How long a silence ends the turn depends on whether the learner sounds finished: at each pause the
end-of-turn model (vpatient.speech.turn, Smart Turn) judges the audio so far; a complete turn ends after
`complete_silence_ms` (about 250 ms, as a person answers), an incomplete one (a trailing "and...", a
level intonation) waits `incomplete_silence_ms`. After a hesitation in the partial transcript ("um",
"and", a trailing comma) the budget is longer too, so slow or hesitant speakers are not cut off
mid-thought. Without a verdict (no model, or not back yet) the fixed `silence_ms` applies.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from vpatient.errors import ModelUnavailableError
from vpatient.speech import INSTALL_HINT

FRAME = 512
RATE = 16000
FRAME_S = FRAME / RATE


class FrameVAD(Protocol):
    def prob(self, frame: np.ndarray) -> float:
        """Speech probability of one 512-sample frame at 16 kHz."""
        ...

    def reset(self) -> None: ...


class SileroVAD:
    """Silero VAD v6 from faster-whisper's assets, streaming (state kept across frames)."""

    CONTEXT = 64

    def __init__(self) -> None:
        try:
            import onnxruntime
            from faster_whisper.vad import get_assets_path
        except ImportError as exc:
            raise ModelUnavailableError(f"Silero VAD needs faster-whisper and onnxruntime; {INSTALL_HINT}") from exc
        import os

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
        self._session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"], sess_options=opts)
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._ctx = np.zeros(self.CONTEXT, dtype=np.float32)

    def prob(self, frame: np.ndarray) -> float:
        x = np.concatenate([self._ctx, frame.astype(np.float32)])[None, :]
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._ctx = frame[-self.CONTEXT :].astype(np.float32)
        return float(np.asarray(out).reshape(-1)[0])


class EnergyVAD:
    """Fake VAD: RMS energy above a threshold is speech (for tests with synthetic tones and silence)."""

    def __init__(self, threshold: float = 0.02):
        self.threshold = threshold

    def reset(self) -> None:
        pass

    def prob(self, frame: np.ndarray) -> float:
        return 1.0 if float(np.sqrt(np.mean(frame.astype(np.float64) ** 2))) > self.threshold else 0.0


_HESITANT = re.compile(
    r"(?:\b(?:um+|uh+|er+m?|hmm+|and|but|so|because|whether|if|like|or|the|a|an|any|my|your|his|their|our|i)|[,\-–])\s*$",
    re.I,
)


def sounds_unfinished(partial: str) -> bool:
    """The partial transcript ends in a filler, a conjunction, a comma or an ellipsis (Whisper writes "the..."
    for a voice that trails off): the speaker is mid-thought."""
    text = partial.strip()
    if text.endswith(("...", "…")):
        return True
    return bool(text) and bool(_HESITANT.search(text.rstrip(".?")))


@dataclass
class EndpointConfig:
    """End-of-turn settings (milliseconds)."""

    silence_ms: int = 600
    """Silence after speech that ends the learner's turn when the end-of-turn model has given no verdict
    (none installed, or its verdict is not back yet)."""
    complete_silence_ms: int = 250
    """Silence that ends a turn the end-of-turn model judged complete."""
    incomplete_silence_ms: int = 2000
    """Silence that ends a turn the end-of-turn model judged unfinished (the learner is mid-thought)."""
    complete_threshold: float = 0.5
    """End-of-turn probability at or above which the turn counts as complete."""
    hesitant_silence_ms: int = 1400
    """The budget when the partial transcript sounds unfinished ("and, um..."), whatever the model says."""
    resume_ms: int = 1200
    """After a turn ended whose transcript sounds unfinished, how long the learner has to go on with it
    (the recogniser holds the words back until then: see STTStage)."""
    pause_ms: int = 160
    """A short pause at which the end-of-turn model judges the turn and the recogniser starts decoding
    what came so far."""
    min_speech_ms: int = 96
    """Voiced time needed before speech counts as started (clicks and coughs are ignored)."""
    start_threshold: float = 0.5
    end_threshold: float = 0.35
    preroll_ms: int = 500
    """Audio kept from before the detected start (the first phoneme's onset)."""


Event = Literal["started", "paused", "stopped", "settled"]


@dataclass
class Endpointer:
    """Frame-by-frame end-of-turn state machine; `feed()` returns the events that frame caused."""

    config: EndpointConfig = field(default_factory=EndpointConfig)
    speaking: bool = False
    audio: list[np.ndarray] = field(default_factory=list)
    start_t: float = 0.0
    """Stream time of the turn's audio (pre-roll included)."""
    onset_t: float = 0.0
    """Stream time at which the voiced frames that started the turn began."""
    last_voiced_t: float = 0.0
    unfinished: bool = False
    """Set from outside (the recogniser's partial transcript sounds unfinished)."""
    complete_prob: float | None = None
    """The end-of-turn model's verdict on the current pause (set through `judge()`); None: no verdict."""
    pauses: int = 0
    """Pauses so far: a verdict names the pause it was asked for, and a late one is ignored."""
    awaiting: int = 0
    """The pause whose verdict has been asked for and not yet given (0: none). While it is awaited the turn is
    held open (up to `incomplete_silence_ms`): on a busy CPU the model answers late, and a hesitant learner must
    not be cut off because of that."""
    _voiced_run: int = 0
    _quiet: int | None = None
    """Silent frames since the last end of turn (None: speech since, or "settled" already sent)."""
    _silence: int = 0
    _paused: bool = False
    _pre: deque[np.ndarray] = field(default_factory=deque)

    def feed(self, frame: np.ndarray, prob: float, t: float) -> list[Event]:
        """`t` is the stream time of the frame's first sample."""
        cfg = self.config
        events: list[Event] = []
        if not self.speaking and self._quiet is not None:
            self._quiet = self._quiet + 1 if prob < cfg.start_threshold else None
            if self._quiet is not None and self._quiet * FRAME_S * 1000 >= cfg.resume_ms:
                self._quiet = None
                events.append("settled")
        if not self.speaking:
            self._pre.append(frame)
            while len(self._pre) * FRAME_S * 1000 > cfg.preroll_ms + cfg.min_speech_ms:
                self._pre.popleft()
            self._voiced_run = self._voiced_run + 1 if prob >= cfg.start_threshold else 0
            if self._voiced_run * FRAME_S * 1000 >= cfg.min_speech_ms:
                self.speaking = True
                self.audio = list(self._pre)
                self._pre.clear()
                self.start_t = max(0.0, t + FRAME_S - len(self.audio) * FRAME_S)
                self.onset_t = max(0.0, t + FRAME_S - self._voiced_run * FRAME_S)
                self.last_voiced_t = t + FRAME_S
                self._silence = 0
                self._paused = False
                self.unfinished = False
                self.complete_prob = None
                self._quiet = None
                events.append("started")
            return events
        self.audio.append(frame)
        if prob >= cfg.end_threshold:
            self._silence = 0
            self._paused = False
            self.complete_prob = None
            self.last_voiced_t = t + FRAME_S
            return events
        self._silence += 1
        silent_ms = self._silence * FRAME_S * 1000
        if not self._paused and silent_ms >= cfg.pause_ms:
            self._paused = True
            self.pauses += 1
            events.append("paused")
        if silent_ms >= self.budget_ms():
            self.speaking = False
            self._voiced_run = 0
            self._quiet = 0
            events.append("stopped")
        return events

    def judge(self, pause: int, prob: float) -> None:
        """The end-of-turn model's verdict for pause number `pause` (ignored if the learner went on since)."""
        if pause == self.awaiting:
            self.awaiting = 0
        if pause == self.pauses and self.speaking and self._paused:
            self.complete_prob = prob

    def budget_ms(self) -> int:
        """The silence that ends the turn now, from the model's verdict and the partial transcript."""
        cfg = self.config
        if self.complete_prob is None:
            held = bool(self.awaiting) and self.awaiting == self.pauses and self._paused
            budget = cfg.incomplete_silence_ms if held else cfg.silence_ms
        elif self.complete_prob >= cfg.complete_threshold:
            budget = cfg.complete_silence_ms
        else:
            budget = cfg.incomplete_silence_ms
        return max(budget, cfg.hesitant_silence_ms) if self.unfinished else budget

    def voiced_s(self) -> float:
        """Length of the speech so far, from its detected onset (pre-roll not counted)."""
        return self.last_voiced_t - self.onset_t

    def take_audio(self) -> np.ndarray:
        """The turn's audio up to the last voiced frame (trailing silence trimmed to 100 ms)."""
        x = np.concatenate(self.audio) if self.audio else np.zeros(0, dtype=np.float32)
        keep = int((self.last_voiced_t - self.start_t + 0.1) * RATE)
        return x[: max(0, keep)]
