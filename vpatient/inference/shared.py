"""One inference core per process, shared by every session.

An InferenceCore serves the event loop it was first used on. The host gives every core one event loop of
its own, in one daemon thread per process (not one per engine or session), so that synchronous callers
(the text chat, the evaluations) and asynchronous ones on other loops (the voice pipeline) reach the same
core; cores are kept by configuration, so two sessions that ask for the same model share its slots.

    host = core_host()
    core = host.core(("llamacpp", path), lambda: InferenceCore(create_backend("llamacpp", model=path)))
    result = host.run(core.generate(request), timeout=30)          # from synchronous code
    result = await host.arun(core.generate(request))                # from another event loop
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Callable, Coroutine, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

from .core import InferenceCore

T = TypeVar("T")


class CoreHost:
    """The process's inference loop (a daemon thread) and its cores, by configuration key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._cores: dict[Hashable, InferenceCore] = {}

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="vpatient-inference", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def core(self, key: Hashable, factory: Callable[[], InferenceCore]) -> InferenceCore:
        """The shared core for `key`, made by `factory` the first time."""
        with self._lock:
            core = self._cores.get(key)
            if core is None:
                core = self._cores[key] = factory()
            return core

    def cores(self) -> list[InferenceCore]:
        with self._lock:
            return list(self._cores.values())

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Runs `coro` on the host loop; returns a concurrent future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """Runs `coro` on the host loop and waits (from a thread that is not the host loop's). On timeout
        the coroutine is cancelled (a late reply is never used) and TimeoutError is raised."""
        future = self.submit(coro)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Awaits `coro` run on the host loop from another event loop; cancelling the caller cancels it."""
        if self._loop is not None and asyncio.get_running_loop() is self._loop:
            return await coro
        return await asyncio.wrap_future(self.submit(coro))

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Calls `fn(*args)` on the host loop (thread-safe)."""
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(fn, *args)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Closes every core and stops the loop (at exit, or in tests)."""
        with self._lock:
            loop, thread, cores = self._loop, self._thread, list(self._cores.values())
            self._cores.clear()
            self._loop = self._thread = None
        if loop is None or loop.is_closed():
            return
        for core in cores:
            with contextlib.suppress(Exception):  # best effort on the way out
                asyncio.run_coroutine_threadsafe(core.aclose(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout=10)
        if not loop.is_running():
            loop.close()


_HOST: CoreHost | None = None
_HOST_LOCK = threading.Lock()


def core_host() -> CoreHost:
    """The process's CoreHost."""
    global _HOST
    with _HOST_LOCK:
        if _HOST is None:
            _HOST = CoreHost()
            atexit.register(_HOST.shutdown)
        return _HOST


def shared_core(
    backend: str = "llamacpp", *, model: str | None = None, endpoint: str | None = None, threads: int | None = None
) -> InferenceCore:
    """The process's core for this backend configuration (made on first use, loaded on first request).
    `threads` applies to llama.cpp only."""
    from .backends import canonical, create_backend

    options = {"n_threads": threads} if threads is not None and canonical(backend) == "llamacpp" else {}

    def make() -> InferenceCore:
        return InferenceCore(create_backend(backend, model=model, endpoint=endpoint, **options))

    return core_host().core((backend, model, endpoint, threads), make)
