"""Semantic end of turn: has the learner finished, judged from the sound of their voice?

`SmartTurn` runs Smart Turn v3.2 (Daily, BSD-2-Clause; a Whisper-tiny encoder with a linear head, int8
ONNX, 8.7 MB) with onnxruntime. The model file ships inside the `pipecat-ai` wheel, which scripts/setup.sh
installs with `--no-deps` (vpatient needs the file, not pipecat's dependencies); nothing is downloaded.
It reads the last 8 s of the turn (16 kHz) and gives the probability that the speaker has finished: a
falling intonation at the end of a question says "complete", a trailing "and..." or "um" says "not yet".
The Endpointer then ends a complete turn after a short silence and waits longer for an incomplete one.

The log-mel features follow pipecat's numpy port of the Hugging Face Whisper feature extractor
(`pipecat/audio/turn/smart_turn/_whisper_features.py`, BSD-2-Clause, portions Apache-2.0; see
LICENSES/pipecat-BSD-2-Clause.txt).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from vpatient.errors import ModelUnavailableError

RATE = 16000
WINDOW_S = 8
_N_FFT = 400
_HOP = 160
_N_MELS = 80

SMART_TURN_INSTALL_HINT = (
    "the end-of-turn model ships in the pipecat-ai wheel: pip install --no-deps pipecat-ai==1.14.0 "
    "(scripts/setup.sh does)"
)


class TurnModel(Protocol):
    name: str

    def complete_prob(self, audio: np.ndarray) -> float:
        """Probability (0..1) that the speaker has finished, from the turn's 16 kHz mono float32 audio."""
        ...


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f = np.atleast_1d(np.asarray(f, dtype=np.float64))
    mels = 3.0 * f / 200.0
    log = f >= 1000.0
    mels[log] = 15.0 + np.log(f[log] / 1000.0) * (27.0 / np.log(6.4))
    return mels


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.atleast_1d(np.asarray(m, dtype=np.float64))
    f = 200.0 * m / 3.0
    log = m >= 15.0
    f[log] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m[log] - 15.0))
    return f


def _mel_filters() -> np.ndarray:
    """Slaney-normalised triangular filters, (201 frequency bins, 80 mels)."""
    mel_edges = np.linspace(_hz_to_mel(np.array([0.0]))[0], _hz_to_mel(np.array([RATE / 2]))[0], _N_MELS + 2)
    hz = _mel_to_hz(mel_edges)
    fft_hz = np.linspace(0, RATE // 2, _N_FFT // 2 + 1)
    slopes = hz[None, :] - fft_hz[:, None]
    diff = np.diff(hz)
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    return filters * (2.0 / (hz[2 : _N_MELS + 2] - hz[:_N_MELS]))[None, :]


_WINDOW = np.hanning(_N_FFT + 1)[:-1]
_FILTERS = _mel_filters()


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Whisper log-mel features of exactly 8 s of audio: float32 (80, 800), roughly in [-1, 1]."""
    n = RATE * WINDOW_S
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    x = np.pad(x, (0, n - x.size)) if x.size < n else x[:n]
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    padded = np.pad(x.astype(np.float64), (_N_FFT // 2, _N_FFT // 2), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=-1)) ** 2
    spec = np.log10(np.maximum(1e-10, power @ _FILTERS)).T[:, :-1]
    spec = np.maximum(spec, spec.max() - 8.0)
    return ((spec + 4.0) / 4.0).astype(np.float32)


def last_window(audio: np.ndarray) -> np.ndarray:
    """The last 8 s of the turn, zero-padded at the front when shorter (as the model was trained)."""
    n = RATE * WINDOW_S
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    return x[-n:] if x.size >= n else np.concatenate([np.zeros(n - x.size, dtype=np.float32), x])


def smart_turn_path() -> Path:
    """The Smart Turn v3.2 ONNX file inside the installed pipecat-ai package (found without importing it)."""
    env = os.environ.get("VPATIENT_SMART_TURN")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise ModelUnavailableError(f"VPATIENT_SMART_TURN={env}: no such file; give the path of an ONNX file")
        return path
    spec = importlib.util.find_spec("pipecat")
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "audio" / "turn" / "smart_turn" / "data" / "smart-turn-v3.2-cpu.onnx"
        if path.is_file():
            return path
    raise ModelUnavailableError(f"no Smart Turn v3.2 model; {SMART_TURN_INSTALL_HINT}")


class SmartTurn:
    """Smart Turn v3.2 (int8 ONNX) on the CPU, one thread: about 10-60 ms a call."""

    def __init__(self, path: str | Path | None = None, *, threads: int = 1):
        try:
            import onnxruntime
        except ImportError as exc:
            raise ModelUnavailableError(f"the end-of-turn model needs onnxruntime; {SMART_TURN_INSTALL_HINT}") from exc
        model = Path(path) if path is not None else smart_turn_path()
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = threads
        opts.log_severity_level = 4
        opts.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        try:
            self._session = onnxruntime.InferenceSession(
                str(model), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
            raise ModelUnavailableError(f"cannot load the end-of-turn model {model}: {exc}") from exc
        self.name = f"smart-turn-v3.2 ({model.name})"

    def complete_prob(self, audio: np.ndarray) -> float:
        features = log_mel(last_window(audio))[None, :, :]
        out = self._session.run(None, {"input_features": features})
        return float(np.asarray(out[0]).reshape(-1)[0])


class FakeTurn:
    """Fake end-of-turn model: a fixed probability, or scripted ones in order (tests the plumbing)."""

    name = "fake-turn"

    def __init__(self, probs: list[float] | None = None, default: float = 1.0):
        self.probs = list(probs or [])
        self.default = default
        self.calls = 0

    def complete_prob(self, audio: np.ndarray) -> float:
        self.calls += 1
        return self.probs.pop(0) if self.probs else self.default


def default_turn_model() -> TurnModel | None:
    """Smart Turn when installed, else None (the Endpointer then uses its fixed silence budgets)."""
    try:
        return SmartTurn()
    except ModelUnavailableError:
        return None
