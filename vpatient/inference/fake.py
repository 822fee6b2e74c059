"""Fake runners for tests of the plumbing (the persona engine's included): instant, deterministic, and
able to fail on cue. Real models are tested too, with the packaged ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

from vpatient.errors import BackendCrashedError

from .runner import StepRunner, StreamRunner
from .scheduler import StepOutput
from .types import FinishReason, GenerationRequest


def echo_reply(request: GenerationRequest) -> str:
    """The default fake reply: the last user message, echoed as the patient."""
    last = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
    return f"You asked: {last}"


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(parts)]


class FakeStepRunner(StepRunner):
    """Emits the reply one word per step for every running row, like a batched model would.

    `batches` records the request ids of each step's batch (admitted ones included), for tests of
    fairness and batching. `crash_at_step` makes that step raise, as a dying backend would.
    """

    backend_name = "fake"
    model_name = "fake-step"

    def __init__(
        self,
        reply: Callable[[GenerationRequest], str] = echo_reply,
        *,
        max_batch_size: int = 4,
        step_delay_s: float = 0.0,
        crash_at_step: int | None = None,
    ):
        self.reply = reply
        self._max = max_batch_size
        self.step_delay_s = step_delay_s
        self.crash_at_step = crash_at_step
        self.steps = 0
        self.batches: list[list[str]] = []
        self.aborted: list[str] = []
        self._rows: dict[str, list[str]] = {}

    @property
    def max_batch_size(self) -> int:
        return self._max

    def step(self, admitted: Sequence[GenerationRequest], aborted: Sequence[str]) -> list[StepOutput]:
        self.steps += 1
        if self.crash_at_step is not None and self.steps == self.crash_at_step:
            raise RuntimeError(f"fake backend died at step {self.steps}")
        for rid in aborted:
            if self._rows.pop(rid, None) is not None:
                self.aborted.append(rid)
        for req in admitted:
            self._rows[req.request_id] = _words(self.reply(req))
        self.batches.append(list(self._rows))
        if self.step_delay_s:
            time.sleep(self.step_delay_s)
        outputs = []
        for rid, words in list(self._rows.items()):
            if words:
                outputs.append(StepOutput(rid, words.pop(0)))
            else:
                del self._rows[rid]
                outputs.append(StepOutput(rid, "", 0, finished=True, finish_reason="stop"))
        return outputs

    def reset(self) -> None:
        self._rows.clear()


class FakeStreamRunner(StreamRunner):
    """Streams the reply word by word from a worker thread; `crash_after` words it raises instead."""

    backend_name = "fake"
    model_name = "fake-stream"

    def __init__(
        self,
        reply: Callable[[GenerationRequest], str] = echo_reply,
        *,
        max_batch_size: int = 4,
        token_delay_s: float = 0.0,
        crash_after: int | None = None,
    ):
        self.reply = reply
        self._max = max_batch_size
        self.token_delay_s = token_delay_s
        self.crash_after = crash_after
        self.started: list[str] = []
        self.stopped_early: list[str] = []

    @property
    def max_batch_size(self) -> int:
        return self._max

    def run(
        self, request: GenerationRequest, on_text: Callable[[str], None], cancelled: threading.Event
    ) -> FinishReason:
        self.started.append(request.request_id)
        for i, word in enumerate(_words(self.reply(request))):
            if cancelled.wait(self.token_delay_s) if self.token_delay_s else cancelled.is_set():
                self.stopped_early.append(request.request_id)
                return "stop"
            if self.crash_after is not None and i >= self.crash_after:
                raise BackendCrashedError(f"fake backend died after {i} words", backend="fake")
            on_text(word)
        return "stop"
