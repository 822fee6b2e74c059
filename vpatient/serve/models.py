"""The models a server loads once and shares between sessions, behind one bounded gate.

Every CPU-bound model call (speech-to-text, text-to-speech, sentence embeddings) goes through `ModelGate`,
a semaphore with `workers` places: however many consultations are running, at most `workers` model calls
run at once and the others wait their turn (the stages call them from worker threads, so waiting never
blocks the event loop). The LLM runs in the process's one shared inference core (vpatient.inference.shared),
which batches every session's requests itself.

Per-session model state (the Silero VAD's recurrent state) is never shared: `Models.vad()` gives each
connection its own.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vpatient.persona.engines import LLMOptions
from vpatient.persona.schema import Persona
from vpatient.serve.load import DEFAULT_MAX_QUEUE


class ModelGate:
    """At most `workers` model calls at once; counts the calls and the time spent waiting."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._sem = threading.BoundedSemaphore(self.workers)
        self._lock = threading.Lock()
        self.busy = 0
        self.calls = 0
        self.waited_s = 0.0

    def __enter__(self) -> ModelGate:
        t0 = time.perf_counter()
        self._sem.acquire()
        with self._lock:
            self.busy += 1
            self.calls += 1
            self.waited_s += time.perf_counter() - t0
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.busy -= 1
        self._sem.release()

    def stats(self) -> dict[str, Any]:
        return {"workers": self.workers, "busy": self.busy, "calls": self.calls, "waited_s": round(self.waited_s, 3)}


class GatedSTT:
    def __init__(self, inner: Any, gate: ModelGate):
        self.inner, self.gate = inner, gate
        self.name = inner.name

    def transcribe(self, audio: np.ndarray, *, prompt: str = "") -> str:
        with self.gate:
            text: str = self.inner.transcribe(audio, prompt=prompt)
            return text


class GatedTTS:
    """A shared voice: up to `copies` instances of the voice model (its runtime is not known to be
    thread-safe, so each instance does one synthesis at a time), made when first needed, used within the
    gate. A caller first takes a free instance, then a gate place, so no gate place waits on a voice."""

    def __init__(self, make: Callable[[], Any], gate: ModelGate, copies: int = 1):
        first = make()
        self.make, self.gate = make, gate
        self.name: str = first.name
        self.sample_rate: int = first.sample_rate
        self.copies = max(1, copies)
        self._free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._free.put(first)
        self._made = 1
        self._lock = threading.Lock()

    def _take(self) -> Any:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            grow = self._made < self.copies
            if grow:
                self._made += 1
        if grow:
            try:
                return self.make()
            except Exception:
                with self._lock:
                    self._made -= 1
                raise
        return self._free.get()

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        tts = self._take()
        try:
            with self.gate:
                out: np.ndarray = tts.synthesize(text, speed=speed)
                return out
        finally:
            self._free.put(tts)

    def phonemes(self, text: str) -> str:
        """The voice's IPA for `text` (the avatar's visemes); '' when the voice gives none."""
        tts = self._take()
        try:
            get = getattr(tts, "phonemes", None)
            return str(get(text)) if get is not None else ""
        finally:
            self._free.put(tts)


class SilentTTS:
    """For text-only connections: the reply goes out as text, with no audio and no playback time."""

    name = "none"
    sample_rate = 16000

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        return np.zeros(0, dtype=np.float32)


class GatedEmbedder:
    def __init__(self, inner: Any, gate: ModelGate):
        self.inner, self.gate = inner, gate
        self.name: str = inner.name

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self.gate:
            out: np.ndarray = self.inner.encode(texts)
            return out

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        with self.gate:
            out: np.ndarray = self.inner.encode_many(texts)
            return out


@dataclass
class ModelOptions:
    engine: str = "scripted"
    llm: LLMOptions = field(default_factory=LLMOptions)
    speech: bool = True
    """Load speech-to-text and the voices (off: typed consultations only)."""
    voice: str = "auto"
    stt_model: str | None = None
    stt_threads: int = 2
    workers: int = 2
    llm_max_queue: int = DEFAULT_MAX_QUEUE
    """LLM requests waiting in the shared core at which a reply uses the scripted wording (0: never)."""


class Models:
    """Loaded once by `load()` before the server accepts anyone."""

    def __init__(self, options: ModelOptions):
        self.options = options
        self.gate = ModelGate(options.workers)
        self.embedder: Any = None
        self.stt: GatedSTT | None = None
        self._voices: dict[tuple[str, str], GatedTTS] = {}
        self._voice_lock = threading.Lock()
        self.core: Any = None
        self.load_s: dict[str, float] = {}

    def load(self, personas: Sequence[Persona]) -> None:
        from vpatient.embeddings import default_embedder

        t = time.perf_counter()
        raw = default_embedder()
        raw.encode(["warm up"])
        self.embedder = GatedEmbedder(raw, self.gate)
        self.load_s["embeddings"] = round(time.perf_counter() - t, 2)
        if self.options.speech:
            from vpatient.speech.stt import WhisperSTT
            from vpatient.speech.vad import SileroVAD

            t = time.perf_counter()
            # one recogniser for every persona: no per-persona vocabulary hint on a shared model
            stt = WhisperSTT(self.options.stt_model, threads=self.options.stt_threads)
            stt.transcribe(np.zeros(16000, dtype=np.float32))
            self.stt = GatedSTT(stt, self.gate)
            SileroVAD()  # fails now, not at the first connection, when it cannot load
            self.load_s["stt"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            for persona in personas:
                self.voice(persona).synthesize("Hello.")
            self.load_s["tts"] = round(time.perf_counter() - t, 2)
        if self.options.engine == "llm":
            from vpatient.inference.shared import core_host, shared_core

            t = time.perf_counter()
            llm = self.options.llm
            self.core = shared_core(llm.backend, model=llm.model, endpoint=llm.endpoint)
            core_host().run(self.core.start(), timeout=llm.timeout_s * 8 + 30)
            self.load_s["llm"] = round(time.perf_counter() - t, 2)

    def voice(self, persona: Persona) -> GatedTTS:
        """The persona's voice (one model per voice and sex, shared by every session)."""
        from vpatient.speech.tts import build_tts

        key = (self.options.voice, persona.identity.sex)
        with self._voice_lock:
            tts = self._voices.get(key)
            if tts is None:
                voice = self.options.voice

                def make() -> Any:
                    return build_tts(voice, persona=persona)

                tts = self._voices[key] = GatedTTS(make, self.gate, copies=self.gate.workers)
            return tts

    def vad(self) -> Any:
        from vpatient.speech.vad import SileroVAD

        return SileroVAD()

    def build_engine(self, persona: Persona, session_id: str | None) -> Any:
        from vpatient.persona.engines import build_engine

        return build_engine(self.options.engine, persona, self.embedder, self.options.llm, session_id=session_id)
