"""Audio files: read anything sensible as mono float32 at the rate asked for, write WAV.

Broken or unsupported input (missing, empty, corrupt, silent, odd rate or channel count) is converted
when possible, else raises `AudioFileError` naming the file and the fix; a live session reports it and
carries on. Memory is bounded whatever the header claims: the file size, the sample rate and the
duration are checked before anything is decoded or resampled.
"""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import numpy as np

from vpatient.errors import PathError
from vpatient.files import read_bytes, write_private

STT_RATE = 16000
MAX_AUDIO_BYTES = 200_000_000
"""Largest audio file read (10 minutes of 48 kHz 24-bit stereo is 173 MB)."""
MAX_SECONDS = 600.0
"""Longest utterance accepted; a learner turn is seconds long."""
MIN_RATE, MAX_RATE = 4000, 384_000
"""Sample rates accepted (telephone speech to studio masters)."""


class AudioFileError(PathError):
    """An audio file cannot be used (the message names the file, what is wrong and the fix)."""


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Linear-interpolation resampling with a light anti-alias average when going down (good enough for
    speech into Whisper/VAD and for playback)."""
    if src == dst or x.size == 0:
        return x.astype(np.float32, copy=False)
    if dst < src:
        k = int(src // dst)
        if k > 1:
            kernel = np.ones(k, dtype=np.float32) / k
            x = np.convolve(x, kernel, mode="same")
    n = round(x.size * dst / src)
    t_src = np.arange(x.size, dtype=np.float64) / src
    t_dst = np.arange(n, dtype=np.float64) / dst
    return np.interp(t_dst, t_src, x).astype(np.float32)


def _check_format(rate: int, channels: int, frames: int) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    if not 1 <= channels <= 32:
        raise ValueError(f"{channels} channels")
    if frames / rate > MAX_SECONDS:
        raise ValueError(f"{frames / rate:.0f} s long; the limit is {MAX_SECONDS:.0f} s per utterance")


def _decode_wave(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        _check_format(rate, channels, frames)
        raw = w.readframes(frames)
    if width == 1:
        x = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        ints = b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        x = ints.astype(np.float32) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(raw, dtype="<i4").astype(np.float32) / float(1 << 31)
    else:
        raise ValueError(f"{width * 8}-bit samples")
    if channels > 1:
        x = x[: x.size - x.size % channels].reshape(-1, channels)
        return x.mean(axis=1).astype(np.float32), rate
    return x, rate


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    """Samples and rate; ValueError (with the reason) for anything that cannot be decoded safely."""
    try:
        return _decode_wave(data)
    except Exception as first:  # the wave module raises many types on corrupt headers: any of them is "unreadable"
        reason = str(first) or type(first).__name__
        if "sample rate" in reason or "channels" in reason or "limit is" in reason:
            raise ValueError(reason) from first
        try:  # float WAV, FLAC, OGG...: soundfile when installed
            import soundfile

            with soundfile.SoundFile(io.BytesIO(data)) as f:
                _check_format(int(f.samplerate), int(f.channels), int(f.frames))
                y = f.read(dtype="float32", always_2d=True)
                rate = int(f.samplerate)
            return y.mean(axis=1).astype(np.float32), rate
        except ImportError:
            raise ValueError(reason) from first
        except Exception as exc:
            second = re.sub(r"Error opening <[^>]*>: ", "", str(exc)).strip() or type(exc).__name__
            raise ValueError(f"{reason}; {second}") from exc


def load_audio(path: str | Path, rate: int = STT_RATE) -> np.ndarray:
    """Mono float32 samples of `path` at `rate` (converted from any rate and channel count)."""
    p = Path(path)
    try:
        data = read_bytes(p, what="audio file", limit=MAX_AUDIO_BYTES)
    except PathError as exc:
        raise AudioFileError(str(exc)) from exc
    if not data:
        raise AudioFileError(f"{p}: the file is empty (0 bytes); record or synthesise the utterance again")
    try:
        x, src = _decode(data)
    except ValueError as exc:
        raise AudioFileError(
            f"{p}: not a readable audio file ({exc}); give a WAV file (16-bit PCM, 8 to 48 kHz, mono or stereo)"
        ) from exc
    if x.size == 0:
        raise AudioFileError(f"{p}: the file holds no samples; record or synthesise the utterance again")
    if not np.all(np.isfinite(x)):
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    return resample(np.clip(x, -1.0, 1.0), src, rate)


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> Path:
    """16-bit PCM mono WAV, readable by the owner only (learner recordings are personal data)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return write_private(path, buf.getvalue(), what="audio file")
