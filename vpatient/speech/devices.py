"""Audio devices (sounddevice) and the virtual speaker used without devices.

`find_devices()` says whether a microphone and a speaker are usable, with a clear reason when not
(the live session then falls back to text).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from vpatient.speech import INSTALL_HINT
from vpatient.speech.audio import resample


class AudioSink(Protocol):
    def play(self, samples: np.ndarray, rate: int) -> None:
        """Queue samples for playback (returns at once)."""
        ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def stop(self) -> None:
        """Stop now and drop what is queued."""
        ...

    def drain(self) -> None:
        """Block until the queue has played out (or was stopped)."""
        ...

    def remaining_s(self) -> float:
        """Seconds of queued audio not yet played."""
        ...


class VirtualSink:
    """No device: records what would have played, and the pause/resume/stop calls (for tests and files)."""

    def __init__(self) -> None:
        self.played: list[np.ndarray] = []
        self.events: list[str] = []
        self.paused = False

    def play(self, samples: np.ndarray, rate: int) -> None:
        self.played.append(samples)

    def pause(self) -> None:
        self.paused = True
        self.events.append("pause")

    def resume(self) -> None:
        self.paused = False
        self.events.append("resume")

    def stop(self) -> None:
        self.paused = False
        self.events.append("stop")

    def drain(self) -> None:
        pass

    def remaining_s(self) -> float:
        return 0.0


class SimulatedSpeaker(VirtualSink):
    """No device, but playback takes time: `drain()` returns once the queued audio would have played
    (scaled by `time_scale`; pauses hold it), or at once after `stop()`. For barge-in tests and demos."""

    def __init__(self, time_scale: float = 1.0):
        super().__init__()
        self.time_scale = time_scale
        self._left = 0.0
        self._stopped = threading.Event()

    def play(self, samples: np.ndarray, rate: int) -> None:
        super().play(samples, rate)
        self._left += samples.size / rate * self.time_scale
        self._stopped.clear()

    def stop(self) -> None:
        super().stop()
        self._left = 0.0
        self._stopped.set()

    def remaining_s(self) -> float:
        return max(0.0, self._left / self.time_scale) if self.time_scale else 0.0

    def drain(self) -> None:
        step = 0.01
        while self._left > 0 and not self._stopped.is_set():
            self._stopped.wait(step)
            if not self.paused:
                self._left -= step


@dataclass
class DeviceStatus:
    ok: bool
    reason: str = ""
    input_name: str = ""
    output_name: str = ""


def find_devices() -> DeviceStatus:
    try:
        import sounddevice as sd
    except ImportError:
        return DeviceStatus(False, f"sounddevice is not installed; {INSTALL_HINT}")
    except OSError as exc:  # PortAudio library missing
        return DeviceStatus(False, f"PortAudio is missing ({exc}); on Debian/Ubuntu: apt-get install libportaudio2")
    try:
        inp = sd.query_devices(kind="input")
        out = sd.query_devices(kind="output")
    except Exception as exc:  # sounddevice raises PortAudioError or ValueError
        return DeviceStatus(False, f"no usable microphone or speaker ({exc})")
    return DeviceStatus(True, "", str(inp["name"]), str(out["name"]))


class DeviceSink:
    """Speaker playback through a sounddevice OutputStream whose callback reads a buffer; pause, resume
    and stop take effect within one callback block (about 20 ms)."""

    def __init__(self, rate: int = 24000, block: int = 480):
        import sounddevice as sd

        self.rate = rate
        self._buf = np.zeros(0, dtype=np.float32)
        self._lock = threading.Lock()
        self._paused = False
        self._empty = threading.Event()
        self._empty.set()
        self._stream = sd.OutputStream(
            samplerate=rate, channels=1, dtype="float32", blocksize=block, callback=self._callback
        )
        self._stream.start()

    def _callback(self, outdata: Any, frames: int, _time: Any, _status: Any) -> None:
        with self._lock:
            if self._paused or self._buf.size == 0:
                outdata[:, 0] = 0.0
                if self._buf.size == 0:
                    self._empty.set()
                return
            n = min(frames, self._buf.size)
            outdata[:n, 0] = self._buf[:n]
            outdata[n:, 0] = 0.0
            self._buf = self._buf[n:]

    def play(self, samples: np.ndarray, rate: int) -> None:
        x = resample(samples, rate, self.rate)
        with self._lock:
            self._buf = np.concatenate([self._buf, x])
            if x.size:
                self._empty.clear()

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    def stop(self) -> None:
        with self._lock:
            self._buf = np.zeros(0, dtype=np.float32)
            self._paused = False
        self._empty.set()

    def drain(self) -> None:
        self._empty.wait(timeout=120)

    def remaining_s(self) -> float:
        with self._lock:
            return self._buf.size / self.rate

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()


class Microphone:
    """sounddevice InputStream at 16 kHz; each block goes to `on_block(samples)` (from the audio thread)."""

    def __init__(self, on_block: Callable[[np.ndarray], None], rate: int = 16000, block: int = 512):
        import sounddevice as sd

        def callback(indata: Any, _frames: int, _time: Any, _status: Any) -> None:
            on_block(np.array(indata[:, 0], dtype=np.float32))

        self.rate = rate
        self._stream = sd.InputStream(samplerate=rate, channels=1, dtype="float32", blocksize=block, callback=callback)
        self._stream.start()

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
