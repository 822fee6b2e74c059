"""The inference core: one per process, serving every session through an async API.

    core = InferenceCore(create_backend("llamacpp"))      # or any LangChain chat model
    await core.start()                                    # loads the model in a worker thread
    async with core.stream(request) as reply:             # a GenerationHandle
        async for chunk in reply:                         # TokenChunk, about one token each
            ...
        result = await reply.result()                     # GenerationResult with timings
    core.cancel_session("s1")                             # barge-in: stops that session's generation now
    await core.aclose()

The loop is schedule -> execute -> update (see scheduler.py). Model calls run in worker threads, never
on the event loop: a stepping runner (transformers) in one dedicated model thread, a streaming runner
(llama.cpp, an OpenAI-compatible endpoint, any LangChain chat model) in one thread per running request.
A cancelled or timed-out request ends for its caller at once; the runner frees its place at its next
step or token. Failures reach the caller as BackendError subclasses (vpatient.errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

from vpatient.errors import BackendCrashedError, BackendError, BackendUnavailableError

from .runner import Runner, StepRunner, StreamRunner
from .scheduler import Event, Finished, Scheduler, SchedulerOutput, StepOutput
from .types import FinishReason, GenerationRequest, GenerationResult, TokenChunk

log = logging.getLogger(__name__)


def as_runner(backend: Any) -> Runner:
    """A Runner for `backend`: a Runner as is, one of vpatient's chat models through its own runner
    (`as_runner()`), any other LangChain chat model through the LangChain adapter."""
    if isinstance(backend, Runner):
        return backend
    own = getattr(backend, "as_runner", None)
    if callable(own):
        runner = own()
        if isinstance(runner, Runner):
            return runner
    from .langchain_adapter import ChatModelRunner

    return ChatModelRunner(backend)


class GenerationHandle:
    """One submitted request: iterate it for TokenChunks, await `result()`, `cancel()` it.

    Used as `async with`, leaving the block early cancels the generation. Iteration raises the
    BackendError (timeout, crash, unavailable) that ended the request, if any; `result()` too.
    A cancelled request ends quietly with finish_reason "cancelled".
    """

    def __init__(self, core: InferenceCore, request: GenerationRequest, loop: asyncio.AbstractEventLoop):
        self.request = request
        self._core = core
        self._chunks: asyncio.Queue[TokenChunk | None] = asyncio.Queue()
        self._done: asyncio.Future[GenerationResult] = loop.create_future()

    @property
    def request_id(self) -> str:
        return self.request.request_id

    @property
    def done(self) -> bool:
        return self._done.done()

    def cancel(self) -> bool:
        """Stops the generation now; False if it had already finished."""
        return self._core.cancel(self.request_id)

    async def result(self) -> GenerationResult:
        """The finished reply (waits for it). Raises the BackendError that ended it, if any."""
        return await asyncio.shield(self._done)

    def __aiter__(self) -> GenerationHandle:
        return self

    async def __anext__(self) -> TokenChunk:
        item = await self._chunks.get()
        if item is None:
            self._chunks.put_nowait(None)  # stay exhausted on further calls
            exc = self._done.exception()
            if exc is not None:
                raise exc
            raise StopAsyncIteration
        return item

    async def __aenter__(self) -> GenerationHandle:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.done:
            self.cancel()
        elif not self._done.cancelled():
            self._done.exception()  # mark any error as seen

    def _finish(self, finished: Finished) -> None:
        if not self._done.done():
            if finished.error is not None:
                self._done.set_exception(finished.error)
            else:
                self._done.set_result(finished.result)
        self._chunks.put_nowait(None)


class InferenceCore:
    """Batched, cancellable, time-limited generation for many sessions, bound to one event loop.

    `backend` is a Runner, one of vpatient's chat models (create_backend) or any LangChain chat model.
    `max_batch_size` caps how many requests run at once (default: what the backend offers);
    `default_timeout_s` applies to requests without their own `timeout_s` (None: no limit).
    """

    def __init__(
        self,
        backend: Any,
        *,
        max_batch_size: int | None = None,
        default_timeout_s: float | None = 60.0,
        max_waiting: int = 256,
        close_backend: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.runner = as_runner(backend)
        cap = self.runner.max_batch_size
        size = min(max_batch_size, cap) if max_batch_size else cap
        self.backend_name = self.runner.backend_name
        self.model_name = self.runner.model_name
        self.scheduler = Scheduler(
            size,
            max_waiting=max_waiting,
            default_timeout_s=default_timeout_s,
            backend=self.backend_name,
            model=self.model_name,
        )
        self._close_backend = close_backend
        self._clock = clock
        self._handles: dict[str, GenerationHandle] = {}
        self._cancel_events: dict[str, threading.Event] = {}
        self._stream_threads: set[threading.Thread] = set()
        self._model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vpatient-model")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._loaded = False
        self._closed = False

    # ---- life cycle --------------------------------------------------------------------------
    async def start(self) -> None:
        """Loads the model now (in a worker thread). Raises BackendUnavailableError if it cannot."""
        self._bind_loop()
        await self._load()
        self._ensure_task()

    async def aclose(self) -> None:
        """Cancels every request, stops the loop and (unless close_backend=False) frees the model."""
        if self._closed:
            return
        self._closed = True
        now = self._clock()
        for handle in list(self._handles.values()):
            finished = self.scheduler.cancel(handle.request_id, now)
            if finished is not None:
                self._dispatch([finished])
        for event in self._cancel_events.values():
            event.set()
        if self._wake is not None:
            self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        loop = asyncio.get_running_loop()
        threads = list(self._stream_threads)
        if threads:  # they were told to stop; let them leave the backend before it is closed
            await asyncio.to_thread(_join_all, threads, 30.0)
        if self._close_backend and self._loaded:
            await loop.run_in_executor(self._model_thread, self.runner.close)
        self._model_thread.shutdown(wait=False)

    async def __aenter__(self) -> InferenceCore:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # ---- requests ----------------------------------------------------------------------------
    def submit(self, request: GenerationRequest) -> GenerationHandle:
        """Queues a request (call from the core's event loop) and returns its handle at once.
        Raises BackendOverloadedError when the queue is full."""
        if self._closed:
            raise BackendUnavailableError("the inference core is closed", backend=self.backend_name)
        loop = self._bind_loop()
        self.scheduler.add(request, self._clock())
        handle = GenerationHandle(self, request, loop)
        self._handles[request.request_id] = handle
        self._ensure_task()
        assert self._wake is not None
        self._wake.set()
        return handle

    def stream(self, request: GenerationRequest) -> GenerationHandle:
        """Same as submit(): `async with core.stream(req) as reply: async for chunk in reply: ...`."""
        return self.submit(request)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        """The whole reply. Cancelling the awaiting task cancels the generation."""
        handle = self.submit(request)
        try:
            return await handle.result()
        except asyncio.CancelledError:
            handle.cancel()
            raise

    def cancel(self, request_id: str) -> bool:
        """Stops one request at once; its caller gets finish_reason "cancelled". False if unknown."""
        finished = self.scheduler.cancel(request_id, self._clock())
        if finished is None:
            return False
        self._dispatch([finished])
        if self._wake is not None:
            self._wake.set()
        return True

    def cancel_session_threadsafe(self, session_id: str) -> None:
        """cancel_session() from another thread (e.g. an audio callback that detects a barge-in)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.cancel_session, session_id)

    def cancel_session(self, session_id: str) -> int:
        """Stops every queued or running request of a session (a barge-in); returns how many."""
        finished = self.scheduler.cancel_session(session_id, self._clock())
        self._dispatch(finished)
        if finished and self._wake is not None:
            self._wake.set()
        return len(finished)

    # ---- the loop ------------------------------------------------------------------------------
    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            self._wake = asyncio.Event()
        elif self._loop is not loop:
            raise RuntimeError("an InferenceCore serves the event loop it was first used on; create one per loop")
        return loop

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="vpatient-inference-core")

    async def _load(self) -> None:
        if self._loaded:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._model_thread, self.runner.load)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendUnavailableError(f"could not load the model: {exc}", backend=self.backend_name) from exc
        self._loaded = True

    async def _run(self) -> None:
        assert self._wake is not None
        try:
            while not self._closed:
                # Clear first: a wake-up that comes while this pass runs (even during a step) is kept.
                self._wake.clear()
                if not self._loaded and self.scheduler.has_work:
                    try:
                        await self._load()
                    except BackendError as exc:
                        self._fail(self._all_ids(), exc, runner_freed=True)
                        continue
                now = self._clock()
                self._dispatch(self.scheduler.expire(now))
                out = self.scheduler.schedule(now)
                if isinstance(self.runner, StepRunner):
                    if out.admitted or out.running:
                        await self._step(out)
                        continue
                    if out.aborted:
                        await self._step(out)
                elif isinstance(self.runner, StreamRunner):
                    self._run_streams(out)
                if self._closed:
                    break
                deadline = self.scheduler.next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - self._clock()) + 0.001
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the loop must not leave callers waiting forever
            log.exception("inference core loop failed")
            self._fail(
                self._all_ids(),
                BackendCrashedError(f"inference core loop failed: {exc!r}"),
                runner_freed=True,
            )

    def _all_ids(self) -> list[str]:
        return list(self._handles)

    async def _step(self, out: SchedulerOutput) -> None:
        assert isinstance(self.runner, StepRunner)
        loop = asyncio.get_running_loop()
        try:
            outputs = await loop.run_in_executor(self._model_thread, self.runner.step, out.admitted, out.aborted)
        except Exception as exc:
            log.warning("backend %s failed a step: %r", self.backend_name, exc)
            ids = self.scheduler.running_ids()
            with contextlib.suppress(Exception):  # reset first: callers see a clean runner
                await loop.run_in_executor(self._model_thread, self.runner.reset)
            self._fail(ids, exc, runner_freed=True)
            return
        self._dispatch(self.scheduler.update(outputs, self._clock()))

    def _run_streams(self, out: SchedulerOutput) -> None:
        for rid in out.aborted:
            event = self._cancel_events.get(rid)
            if event is not None:
                event.set()
        for request in out.admitted:
            self._start_stream(request)

    def _start_stream(self, request: GenerationRequest) -> None:
        assert isinstance(self.runner, StreamRunner) and self._loop is not None
        runner, loop, rid = self.runner, self._loop, request.request_id
        cancelled = threading.Event()
        self._cancel_events[rid] = cancelled

        def post(fn: Callable[..., None], *args: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
                loop.call_soon_threadsafe(fn, *args)

        def on_text(text: str) -> None:
            if not cancelled.is_set():
                post(self._on_stream_output, StepOutput(rid, text))

        def work() -> None:
            try:
                reason = runner.run(request, on_text, cancelled)
            except BaseException as exc:  # reported to the caller as a typed error
                post(self._on_stream_end, rid, "error", exc)
            else:
                post(self._on_stream_end, rid, reason, None)
            finally:
                self._stream_threads.discard(threading.current_thread())

        thread = threading.Thread(target=work, name=f"vpatient-{rid}", daemon=True)
        self._stream_threads.add(thread)
        thread.start()

    def _on_stream_output(self, out: StepOutput) -> None:
        self._dispatch(self.scheduler.update([out], self._clock()))

    def _on_stream_end(self, rid: str, reason: FinishReason, exc: BaseException | None) -> None:
        self._cancel_events.pop(rid, None)
        if exc is not None:
            self._fail([rid], exc, runner_freed=True)
        else:
            self._dispatch(self.scheduler.update([StepOutput(rid, "", 0, True, reason)], self._clock()))
        if self._wake is not None:
            self._wake.set()

    def _fail(self, ids: Iterable[str], exc: BaseException, *, runner_freed: bool) -> None:
        kind: type[BackendError] = type(exc) if isinstance(exc, BackendError) else BackendCrashedError
        message = str(exc) if isinstance(exc, BackendError) else f"generation failed: {exc!r}"
        if isinstance(exc, BackendError) and exc.backend and message.startswith(f"{exc.backend}: "):
            message = message[len(exc.backend) + 2 :]
        finished = self.scheduler.fail(ids, message, self._clock(), kind=kind, runner_freed=runner_freed)
        for f in finished:
            if f.error is not None and f.error is not exc:
                f.error.__cause__ = exc
        self._dispatch(finished)

    def _dispatch(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, TokenChunk):
                handle = self._handles.get(event.request_id)
                if handle is not None:
                    handle._chunks.put_nowait(event)
                continue
            rid = event.request.request_id
            cancel_event = self._cancel_events.get(rid)
            if cancel_event is not None:
                cancel_event.set()
            finished_handle = self._handles.pop(rid, None)
            if finished_handle is not None:
                finished_handle._finish(event)


def _join_all(threads: list[threading.Thread], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
