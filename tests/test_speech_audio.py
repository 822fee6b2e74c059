"""Audio files: conversion of other rates and channel counts, clear errors for broken files."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from vpatient.speech.audio import AudioFileError, load_audio, resample, write_wav


def _tone(rate: int, seconds: float = 0.5, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_round_trip_at_16k(tmp_path: Path) -> None:
    x = _tone(16000)
    y = load_audio(write_wav(tmp_path / "a.wav", x, 16000))
    assert y.dtype == np.float32 and y.size == x.size
    assert np.max(np.abs(y - x)) < 1e-3


def test_other_rate_and_stereo_are_converted(tmp_path: Path) -> None:
    x = _tone(44100)
    stereo = np.stack([x, x], axis=1)
    path = tmp_path / "stereo.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes((stereo * 32767).astype("<i2").tobytes())
    y = load_audio(path, 16000)
    assert abs(y.size - 8000) <= 1
    assert 0.25 < float(np.max(np.abs(y))) < 0.35


def test_8_bit_audio_is_read(tmp_path: Path) -> None:
    path = tmp_path / "u8.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(((_tone(8000) + 1.0) * 127.5).astype(np.uint8).tobytes())
    assert load_audio(path, 16000).size == 8000


def test_float_wav_through_soundfile(tmp_path: Path) -> None:
    soundfile = pytest.importorskip("soundfile")
    path = tmp_path / "f32.wav"
    soundfile.write(str(path), _tone(22050), 22050, subtype="FLOAT")
    assert abs(load_audio(path, 16000).size - 8000) <= 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty"), (b"RIFF\x00\x00garbage not audio at all" * 3, "not a readable audio file")],
)
def test_broken_files_give_clear_errors(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=expected) as info:
        load_audio(path)
    assert str(path) in str(info.value)


def test_missing_file_and_no_samples(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such audio file"):
        load_audio(tmp_path / "nope.wav")
    empty = write_wav(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioFileError, match="no samples"):
        load_audio(empty)


def test_resample_lengths() -> None:
    x = _tone(24000, 1.0)
    assert resample(x, 24000, 16000).size == 16000
    assert resample(x, 24000, 48000).size == 48000
    assert resample(x, 16000, 16000) is x
