"""The stage contract and the pipeline runner.

A stage handles the messages it knows in `process()` and passes the rest on with `push()`; a pipeline is
a list of stages. Each stage runs in its own task behind a queue, so a busy stage (speech synthesis,
recognition) never holds up the stages before it. Urgent messages skip the queue: `on_urgent()` runs at
once (an `Interruption` also drops the stage's queued work and cancels what it is doing) and the message
goes on downstream. A failure inside `process()` becomes an `ErrorMessage`, never the end of the session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

from vpatient.pipeline.messages import EndOfStream, ErrorMessage, Interruption, Message

Sink = Callable[[Message], Awaitable[None]]


class Stage:
    name = "stage"
    interruptible = True
    """An Interruption drops this stage's queued messages and cancels its current work."""

    def __init__(self) -> None:
        self._next: Stage | None = None
        self._sink: Sink | None = None
        self._queue: asyncio.Queue[Message] | None = None
        self._task: asyncio.Task[None] | None = None
        self._current: asyncio.Task[None] | None = None

    # --------------------------------------------------------------- for subclasses
    async def process(self, msg: Message) -> None:
        """Handle one message; the default passes it on."""
        await self.push(msg)

    async def on_urgent(self, msg: Message) -> None:
        """React to an urgent message at once (it is passed on afterwards by the runner)."""

    async def push(self, msg: Message) -> None:
        if self._next is not None:
            await self._next.receive(msg)
        elif self._sink is not None:
            await self._sink(msg)

    # --------------------------------------------------------------- runner
    async def receive(self, msg: Message) -> None:
        if msg.urgent:
            if isinstance(msg, Interruption) and self.interruptible:
                self._drop_pending()
            try:
                await self.on_urgent(msg)
            except Exception as exc:  # report, never end the session
                await self.push(ErrorMessage(self.name, f"{type(exc).__name__}: {exc}"))
            await self.push(msg)
            return
        if self._queue is None:  # not started: run inline (unit tests of one stage)
            await self._run_one(msg)
            return
        self._queue.put_nowait(msg)

    def _drop_pending(self) -> None:
        if self._queue is not None:
            kept = []
            while not self._queue.empty():
                m = self._queue.get_nowait()
                if isinstance(m, EndOfStream):
                    kept.append(m)
            for m in kept:
                self._queue.put_nowait(m)
        if self._current is not None and not self._current.done():
            self._current.cancel()

    async def _run_one(self, msg: Message) -> None:
        try:
            await self.process(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self.push(ErrorMessage(self.name, f"{type(exc).__name__}: {exc}"))

    async def _loop(self) -> None:
        assert self._queue is not None
        while True:
            msg = await self._queue.get()
            self._current = asyncio.create_task(self._run_one(msg))
            await asyncio.wait({self._current})
            self._current = None
            if isinstance(msg, EndOfStream):
                return

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._loop(), name=f"stage-{self.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self._queue = None

    async def close(self) -> None:
        """Release models or devices (called once when the pipeline stops)."""


class Pipeline:
    """Stages linked in order; whatever leaves the last stage goes to `sink`."""

    def __init__(self, stages: Sequence[Stage], sink: Sink):
        self.stages = list(stages)
        for a, b in zip(self.stages, self.stages[1:], strict=False):
            a._next = b
        self.stages[-1]._sink = sink

    def start(self) -> None:
        for s in self.stages:
            s.start()

    async def send(self, msg: Message) -> None:
        await self.stages[0].receive(msg)

    async def finish(self, timeout_s: float) -> None:
        """Send EndOfStream and let every stage work through what it holds (the learner's last words become a
        turn and are answered) for up to `timeout_s`; `stop()` follows."""
        await self.send(EndOfStream())
        tasks = [s._task for s in self.stages if s._task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    async def stop(self) -> None:
        for s in self.stages:
            await s.stop()
        for s in self.stages:
            await s.close()


async def run_stage(stage: Stage, messages: Sequence[Message]) -> list[Message]:
    """Feed messages to one stage (inline, in order) and return what it pushed: the test helper."""
    out: list[Message] = []

    async def collect(m: Message) -> None:
        out.append(m)

    stage._sink = collect
    stage._next = None
    for m in messages:
        await stage.receive(m)
    return out
