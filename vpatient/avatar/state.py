"""The one avatar state every front end draws, and the driver that computes it.

`AvatarDriver` receives what the talk loop knows (reply audio, its text, the patient's emotion, whether
the patient is listening, thinking or speaking) and answers `state_at(t)`: a frozen `AvatarState` that is
a pure function of those inputs, the seed and t. The same inputs and t give the same state, hence the
same frame; blinking, gaze and head movement are seeded, not random.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vpatient.avatar.expressions import EMOTIONS, Expression, expression_for
from vpatient.avatar.lipsync import LipTrack, Phoneme, lip_track

MODES = ("idle", "listening", "thinking", "speaking")
EXPRESSION_BLEND_S = 0.4  # time to move from one expression to the next
BLINK_PERIOD_S = 3.6
BLINK_S = 0.16


@dataclass(frozen=True)
class AvatarState:
    """Everything a front end needs to draw one frame."""

    t: float
    mode: str = "idle"
    emotion: str = "neutral"
    expression: Expression = field(default_factory=Expression)
    mouth_open: float = 0.0  # 0 closed .. 1 wide open
    mouth_wide: float = 0.0  # -1 rounded .. +1 spread
    visemes: tuple[float, ...] = ()  # Oculus viseme weights (lipsync.VISEME_NAMES order); () = silent
    blink: float = 0.0  # 0 open .. 1 closed
    gaze_x: float = 0.0  # -1..1, 0 = at the learner
    gaze_y: float = 0.0
    head_yaw: float = 0.0  # degrees
    head_pitch: float = 0.0
    head_roll: float = 0.0
    subtitle: str = ""
    cue_phase: float = 0.0  # 0..1 animation phase of the listening/thinking/speaking cue


def _hash01(seed: int, k: int, salt: int) -> float:
    """A deterministic pseudo-random number in [0, 1) for (seed, k, salt)."""
    x = (seed * 0x9E3779B1 + k * 0x85EBCA77 + salt * 0xC2B2AE3D) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x / 2**32


def blink_at(seed: int, t: float) -> float:
    """Eyelid closure 0..1 at time t: one blink per BLINK_PERIOD_S slot, at a seeded moment in the slot."""
    k = math.floor(t / BLINK_PERIOD_S)
    best = 0.0
    for slot in (k - 1, k):
        start = slot * BLINK_PERIOD_S + _hash01(seed, slot, 1) * (BLINK_PERIOD_S - BLINK_S)
        u = (t - start) / BLINK_S
        if 0 <= u <= 1:
            best = max(best, math.sin(math.pi * u))
        # an occasional double blink
        if _hash01(seed, slot, 2) < 0.15:
            u2 = (t - start - BLINK_S * 1.6) / BLINK_S
            if 0 <= u2 <= 1:
                best = max(best, math.sin(math.pi * u2))
    return best


def _wave(seed: int, t: float, salt: int, periods: tuple[float, ...]) -> float:
    """A smooth seeded wobble in about -1..1 (sum of sines with seeded phases)."""
    total = 0.0
    for i, p in enumerate(periods):
        total += math.sin(2 * math.pi * (t / p + _hash01(seed, i, salt)))
    return total / len(periods)


@dataclass
class _Reply:
    track: LipTrack
    start: float
    text: str
    before: str  # the mode shown until playback starts


class AvatarDriver:
    """Turns talk-loop events into `AvatarState`s. Thread-safe: the talk loop calls the setters from its
    thread while a front end calls `state_at` from its render thread.

    `clock` gives the playback time base (default time.monotonic); a reply's audio is assumed to start
    playing when `on_reply_audio` is called, plus `audio_latency` seconds (or at `start`, when given).
    """

    def __init__(
        self,
        seed: int = 0,
        emotion: str = "neutral",
        clock: Callable[[], float] = time.monotonic,
        audio_latency: float = 0.0,
        subtitles: bool = True,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self.audio_latency = audio_latency
        self.subtitles = subtitles
        self._lock = threading.Lock()
        self._mode = "idle"
        self._mode_since = 0.0
        self._emotion = emotion if emotion in EMOTIONS else "neutral"
        self._prev_emotion = self._emotion
        self._emotion_since = -1e9
        self._replies: list[_Reply] = []  # queued sentences, in playback order
        self._subtitle = ""

    # --- inputs (from the talk loop) -------------------------------------------------------------
    def set_state(self, mode: str, at: float | None = None) -> None:
        """'idle', 'listening', 'thinking' or 'speaking' (unknown names are ignored)."""
        if mode not in MODES:
            return
        with self._lock:
            if mode != self._mode:
                self._mode = mode
                self._mode_since = self.clock() if at is None else at
            if mode in ("listening", "thinking"):
                self._replies = []

    def set_emotion(self, emotion: str | None, at: float | None = None) -> None:
        """Move the face towards an emotion's expression (blended over EXPRESSION_BLEND_S)."""
        if not emotion or emotion not in EMOTIONS:
            return
        with self._lock:
            if emotion == self._emotion:
                return
            now = self.clock() if at is None else at
            self._prev_emotion = self._emotion
            self._emotion = emotion
            self._emotion_since = now

    def set_subtitle(self, text: str) -> None:
        with self._lock:
            self._subtitle = text

    def on_reply_audio(
        self,
        audio: np.ndarray,
        sample_rate: int,
        text: str = "",
        emotion: str | None = None,
        phonemes: list[Phoneme] | None = None,
        start: float | None = None,
    ) -> float:
        """A reply (or one sentence of it) is about to play: lip-sync to it from `start` (on this driver's
        clock). Without `start` it plays now + audio_latency, or right after the sentences still queued,
        so a talk loop that streams sentences into its playback queue can pass each one as it is queued.
        Returns the audio's duration in seconds."""
        track = lip_track(audio, sample_rate, phonemes)
        with self._lock:
            now = self.clock()
            if start is None:
                start = now + self.audio_latency
                if self._replies:
                    start = max(start, self._replies[-1].start + self._replies[-1].track.duration)
            # forget sentences that finished long ago (a state is only asked for around now)
            self._replies = [r for r in self._replies if r.start + r.track.duration > min(now, start) - 5.0]
            before = self._mode if self._mode != "speaking" else "listening"
            if self._replies:
                before = self._replies[0].before
            self._replies.append(_Reply(track, start, text, before))
            self._mode = "speaking"
            self._mode_since = start
        if emotion:
            self.set_emotion(emotion, at=start)
        return track.duration

    def stop_speaking(self) -> None:
        """Barge-in: the learner interrupted; close the mouth and listen."""
        with self._lock:
            self._replies = []
            self._subtitle = ""
        self.set_state("listening")

    # --- output (to the front ends) --------------------------------------------------------------
    def now(self) -> float:
        return self.clock()

    def state_at(self, t: float | None = None) -> AvatarState:
        """The avatar's state at time t (default: now). Deterministic in the inputs, the seed and t."""
        if t is None:
            t = self.clock()
        with self._lock:
            mode, mode_since = self._mode, self._mode_since
            emotion, prev, since = self._emotion, self._prev_emotion, self._emotion_since
            replies, subtitle = list(self._replies), self._subtitle
        s = self.seed
        mouth_open = mouth_wide = 0.0
        visemes: tuple[float, ...] = ()
        speaking_level = 0.0
        if replies:
            current = None
            for r in replies:
                if r.start <= t < r.start + r.track.duration:
                    current = r
            first, final = replies[0], replies[-1]
            if current is not None:
                mouth_open, mouth_wide = current.track.at(t - current.start)
                visemes = current.track.visemes_at(t - current.start)
                speaking_level = mouth_open
                mode = "speaking"
                if current.text:
                    subtitle = current.text
            elif t < first.start:
                mode = first.before
            elif t >= final.start + final.track.duration and mode == "speaking":
                mode = "listening"  # playback over: back to listening
            elif mode == "speaking" and final.text:  # a gap between queued sentences
                subtitle = next((r.text for r in reversed(replies) if r.start <= t and r.text), subtitle)
        k = (t - since) / EXPRESSION_BLEND_S
        expr = expression_for(prev).blend(expression_for(emotion), k)
        # gaze: at the learner, with small seeded saccades; thinking looks up and aside
        gaze_x = 0.12 * _wave(s, t, 10, (2.3, 5.1))
        gaze_y = 0.08 * _wave(s, t, 11, (3.1, 6.7))
        if mode == "thinking":
            gaze_x, gaze_y = gaze_x * 0.3 + 0.55, gaze_y * 0.3 - 0.45
        # head: idle sway; listening nods now and then; speaking moves with the voice
        yaw = 2.5 * _wave(s, t, 20, (4.3, 7.9, 11.3))
        pitch = 1.5 * _wave(s, t, 21, (3.7, 6.1)) + expr.head_pitch
        roll = 1.5 * _wave(s, t, 22, (5.3, 9.7))
        if mode == "listening":
            nod = max(0.0, math.sin(2 * math.pi * (t - mode_since) / 4.0)) ** 8
            pitch += 4.0 * nod
            roll += 2.0
        elif mode == "thinking":
            yaw += 6.0
            roll -= 3.0
        elif mode == "speaking":
            pitch += 2.5 * speaking_level * math.sin(2 * math.pi * t / 0.9)
            yaw += 1.5 * speaking_level * _wave(s, t, 23, (1.3, 2.1))
        if emotion == "anxious":  # fidgety
            yaw += 1.2 * _wave(s, t, 24, (0.7, 1.1))
        return AvatarState(
            t=t,
            mode=mode,
            emotion=emotion,
            expression=expr,
            mouth_open=mouth_open,
            mouth_wide=mouth_wide,
            visemes=visemes,
            blink=blink_at(s, t) if expr.eye_open > 0 else 1.0,
            gaze_x=gaze_x,
            gaze_y=gaze_y,
            head_yaw=yaw,
            head_pitch=pitch,
            head_roll=roll,
            subtitle=subtitle if self.subtitles else "",
            cue_phase=((t - mode_since) / 1.2) % 1.0,
        )
