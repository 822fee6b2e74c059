"""The LangChain seam: vpatient's backends are LangChain chat models, and any LangChain chat model
(ChatOpenAI pointed at vLLM, ChatOllama, ChatHuggingFace, a fake for tests) can serve the core.

- VPatientChatModel: the base of vpatient's own chat models. A subclass implements one of
  `_run_request` (callback style, e.g. llama.cpp) or `_iter_text` (iterator style, e.g. HTTP); the
  base provides LangChain's `_stream` / `_generate` and a StreamRunner for the core (`as_runner()`).
- ChatModelRunner: adapts any other BaseChatModel to the core's StreamRunner interface.

Needs `langchain-core` (the `llm` extra).
"""

from __future__ import annotations

import atexit
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from vpatient.errors import BackendCrashedError, BackendError, BackendTimeoutError, BackendUnavailableError

from .runner import Runner, StreamRunner
from .types import ChatMessage, FinishReason, GenerationRequest, Role

try:
    from langchain_core.callbacks import CallbackManagerForLLMRun
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import (
        AIMessage,
        AIMessageChunk,
        BaseMessage,
        HumanMessage,
        SystemMessage,
    )
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise BackendUnavailableError(
        f"langchain-core is not installed ({exc}); install it with: pip install 'vpatient[llm]'"
    ) from exc

_ROLE_OF = {"system": "system", "human": "user", "user": "user", "ai": "assistant", "assistant": "assistant"}


def to_langchain(messages: Sequence[ChatMessage]) -> list[BaseMessage]:
    kinds: dict[str, type[BaseMessage]] = {
        "system": SystemMessage,
        "user": HumanMessage,
        "assistant": AIMessage,
    }
    return [kinds[m.role](content=m.content) for m in messages]


def from_langchain(messages: Sequence[BaseMessage]) -> tuple[ChatMessage, ...]:
    out = []
    for m in messages:
        role = _ROLE_OF.get(m.type)
        if role is None:
            raise ValueError(f"message type {m.type!r} is not supported; use system, human or ai messages")
        out.append(ChatMessage(_as_role(role), _text_of(m.content)))
    return tuple(out)


def _as_role(role: str) -> Role:
    if role == "system":
        return "system"
    return "user" if role == "user" else "assistant"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or ():
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def request_from_langchain(
    messages: Sequence[BaseMessage], stop: Sequence[str] | None, defaults: Any, kwargs: dict[str, Any]
) -> GenerationRequest:
    """A GenerationRequest from LangChain call arguments; kwargs override the model's defaults."""
    return GenerationRequest(
        session_id=str(kwargs.get("session_id", "langchain")),
        messages=from_langchain(messages),
        max_tokens=int(kwargs.get("max_tokens", defaults.max_tokens)),
        temperature=float(kwargs.get("temperature", defaults.temperature)),
        top_p=float(kwargs.get("top_p", defaults.top_p)),
        stop=tuple(stop or ()),
        seed=kwargs.get("seed"),
    )


_RUNS: dict[threading.Thread, threading.Event] = {}
"""Callback-style runs still inside their backend (a cancelled run leaves at the backend's next callback)."""
_RUNS_LOCK = threading.Lock()


def finish_runs(timeout_s: float = 60.0) -> int:
    """Cancels every run still inside a backend and waits for it to leave (at exit). A thread left inside native
    code (llama.cpp) when the interpreter finalises is killed while unwinding C++ frames, which aborts the
    process ("FATAL: exception not rethrown") after the work is done. Returns how many were still running."""
    with _RUNS_LOCK:
        runs = list(_RUNS.items())
    for _, cancelled in runs:
        cancelled.set()
    for thread, _ in runs:
        thread.join(timeout_s / max(1, len(runs)))
    return sum(t.is_alive() for t, _ in runs)


atexit.register(finish_runs)


def iterate_callback_run(
    run: Callable[[Callable[[str], None], threading.Event], FinishReason],
) -> Generator[str, None, FinishReason]:
    """Turns a blocking callback-style run into a generator (the run goes to a helper thread).
    Closing the generator early sets the run's cancel event (the thread is tracked until it leaves the run)."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    cancelled = threading.Event()

    def work() -> None:
        try:
            items.put(("end", run(lambda text: items.put(("text", text)), cancelled)))
        except BaseException as exc:  # handed to the consuming thread
            items.put(("error", exc))
        finally:
            with _RUNS_LOCK:
                _RUNS.pop(threading.current_thread(), None)

    thread = threading.Thread(target=work, name="vpatient-stream", daemon=True)
    with _RUNS_LOCK:
        _RUNS[thread] = cancelled
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "text":
                yield value
            elif kind == "error":
                raise value
            else:
                reason: FinishReason = value
                return reason
    finally:
        cancelled.set()


class VPatientChatModel(BaseChatModel):
    """Base of vpatient's chat models: LangChain-compatible and served by the core without threads
    of LangChain's own. Call-time kwargs: max_tokens, temperature, top_p, seed."""

    max_tokens: int = 96
    temperature: float = 0.7
    top_p: float = 0.95

    # ---- to implement (one of the two) ----------------------------------------------------------
    def _run_request(
        self, request: GenerationRequest, on_text: Callable[[str], None], cancelled: threading.Event
    ) -> FinishReason:
        gen = self._iter_text(request, cancelled)
        try:
            while True:
                if cancelled.is_set():
                    return "stop"
                on_text(next(gen))
        except StopIteration as stop:
            reason: FinishReason = stop.value or "stop"
            return reason
        finally:
            gen.close()

    def _iter_text(self, request: GenerationRequest, cancelled: threading.Event) -> Generator[str, None, FinishReason]:
        if type(self)._run_request is VPatientChatModel._run_request:
            raise NotImplementedError(f"{type(self).__name__} implements neither _run_request nor _iter_text")
        reason = yield from iterate_callback_run(lambda on_text, ev: self._run_request(request, on_text, ev))
        return reason

    # ---- shared ----------------------------------------------------------------------------------
    @property
    def backend_name(self) -> str:
        return self._llm_type

    @property
    def model_name_for_reports(self) -> str:
        return ""

    @property
    def max_concurrency(self) -> int:
        return 4

    def load(self) -> None:
        """Loads the model (blocking). Optional: the first call loads it too."""

    def close(self) -> None:
        """Frees the model."""

    def as_runner(self) -> Runner:
        return _OwnModelRunner(self)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = request_from_langchain(messages, stop, self, kwargs)
        gen = self._iter_text(request, threading.Event())
        try:
            while True:
                try:
                    text = next(gen)
                except StopIteration as end:
                    meta = {"finish_reason": end.value or "stop", "model_name": self.model_name_for_reports}
                    yield ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata=meta))
                    return
                if run_manager is not None:
                    run_manager.on_llm_new_token(text)
                yield ChatGenerationChunk(message=AIMessageChunk(content=text))
        finally:
            gen.close()

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        parts: list[str] = []
        meta: dict[str, Any] = {}
        for chunk in self._stream(messages, stop, run_manager, **kwargs):
            parts.append(_text_of(chunk.message.content))
            meta.update(chunk.message.response_metadata)
        text = "".join(parts)
        for s in stop or ():  # LangChain's contract: the reply ends before any stop string
            if s and s in text:
                text = text[: text.index(s)]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text, response_metadata=meta))])


class _OwnModelRunner(StreamRunner):
    def __init__(self, model: VPatientChatModel):
        self.model = model
        self.backend_name = model.backend_name
        self.model_name = model.model_name_for_reports

    @property
    def max_batch_size(self) -> int:
        return self.model.max_concurrency

    def load(self) -> None:
        self.model.load()
        self.model_name = self.model.model_name_for_reports

    def close(self) -> None:
        self.model.close()

    def run(
        self, request: GenerationRequest, on_text: Callable[[str], None], cancelled: threading.Event
    ) -> FinishReason:
        return self.model._run_request(request, on_text, cancelled)


class ChatModelRunner(StreamRunner):
    """Serves the core from any LangChain chat model, one `stream()` call per request in a worker thread.

    `generation_kwargs(request)` gives the keyword arguments the model understands (default: none, as
    their names differ between integrations, e.g. `lambda r: {"max_tokens": r.max_tokens}` for
    ChatOpenAI); the core enforces max_tokens and stop strings itself either way.
    """

    backend_name = "langchain"

    def __init__(
        self,
        model: Any,
        *,
        max_concurrency: int = 4,
        generation_kwargs: Callable[[GenerationRequest], dict[str, Any]] | None = None,
    ):
        if not isinstance(model, BaseChatModel):
            raise TypeError(f"{type(model).__name__} is neither a vpatient Runner nor a LangChain BaseChatModel")
        self.model = model
        self._max = max_concurrency
        self._kwargs = generation_kwargs or (lambda request: {})
        self.model_name = str(getattr(model, "model_name", "") or getattr(model, "model", "") or type(model).__name__)

    @property
    def max_batch_size(self) -> int:
        return self._max

    def run(
        self, request: GenerationRequest, on_text: Callable[[str], None], cancelled: threading.Event
    ) -> FinishReason:
        reason: FinishReason = "stop"
        stream = self.model.stream(
            to_langchain(request.messages), stop=list(request.stop) or None, **self._kwargs(request)
        )
        try:
            for chunk in stream:
                if cancelled.is_set():
                    break
                text = _text_of(chunk.content)
                if text:
                    on_text(text)
                if chunk.response_metadata.get("finish_reason") == "length":
                    reason = "length"
        except BackendError:
            raise
        except TimeoutError as exc:
            raise BackendTimeoutError(
                f"{type(self.model).__name__} timed out: {exc}", backend=self.backend_name
            ) from exc
        except (ConnectionError, ImportError) as exc:
            raise BackendUnavailableError(
                f"{type(self.model).__name__} is unavailable: {exc!r}", backend=self.backend_name
            ) from exc
        except Exception as exc:
            raise BackendCrashedError(
                f"{type(self.model).__name__} failed: {exc!r}", backend=self.backend_name
            ) from exc
        finally:
            close = getattr(stream, "close", None)
            if callable(close):
                close()
        return reason
