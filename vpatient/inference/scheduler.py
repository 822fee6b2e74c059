"""Scheduling of generation requests, kept apart from any model (vLLM style).

The core runs a loop of three calls on this object:

    out = scheduler.schedule(now)        # which requests start, which run on, which the runner must drop
    outputs = runner.step(out...)        # the model runner executes (elsewhere, in a worker thread)
    events = scheduler.update(outputs, now)   # token chunks and finished results for the callers

Everything here is plain Python over an injected clock (`now`, seconds), so fairness, cancellation,
stop strings, token limits and timeouts are tested with hand-made runner outputs and no model.

Policy:
- fairness: each session has a FIFO queue; free batch places go to sessions in round-robin order, so
  one session that queues many requests cannot starve the others;
- at most `max_batch_size` requests run at once (a batch for a stepping runner, parallel slots or
  concurrent streams for the others); at most `max_waiting` wait (more raises BackendOverloadedError);
- cancellation finishes a request at once (the caller gets its result immediately); a running one is
  also listed in the next `schedule()` output as `aborted`, so the runner frees its place;
- timeouts count from submission, queue wait included, and finish the request with a
  BackendTimeoutError.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from vpatient.errors import BackendError, BackendOverloadedError, BackendTimeoutError

from .types import FinishReason, GenerationRequest, GenerationResult, TokenChunk


@dataclass(frozen=True)
class StepOutput:
    """What a runner reports for one request after one step (or one streamed token)."""

    request_id: str
    text: str = ""
    tokens: int = 1
    finished: bool = False  # the runner ended this request itself (end-of-sequence) and freed its place
    finish_reason: FinishReason = "stop"


@dataclass(frozen=True)
class Finished:
    """A request is over. `error` is set for timeouts and backend failures."""

    request: GenerationRequest
    result: GenerationResult
    error: BackendError | None = None


Event = TokenChunk | Finished


@dataclass
class SchedulerOutput:
    """The plan for one step: start `admitted`, continue `running`, free `aborted` (request ids)."""

    admitted: list[GenerationRequest] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.admitted or self.running or self.aborted)


class StopChecker:
    """Cuts streamed text at the first stop string, holding back any tail that may begin one."""

    def __init__(self, stops: Iterable[str]):
        self.stops = [s for s in stops if s]
        self.pending = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Returns (text safe to emit now, whether a stop string was reached)."""
        buf = self.pending + text
        if not self.stops:
            self.pending = ""
            return buf, False
        hits = [i for i in (buf.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.pending = ""
            return buf[: min(hits)], True
        hold = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(buf)), hold, -1):
                if buf.endswith(stop[:k]):
                    hold = k
                    break
        self.pending = buf[len(buf) - hold :] if hold else ""
        return buf[: len(buf) - hold], False

    def flush(self) -> str:
        """Releases held-back text once no stop string can follow (end of reply)."""
        text, self.pending = self.pending, ""
        return text


@dataclass
class _Req:
    request: GenerationRequest
    arrival: float
    deadline: float | None
    stop: StopChecker
    running: bool = False
    tokens: int = 0
    chunks: int = 0
    parts: list[str] = field(default_factory=list)
    first_token_at: float | None = None


class Scheduler:
    """Admission, fairness, limits, cancellation and timeouts for one inference core. Not thread-safe:
    the core calls it from its event loop only."""

    def __init__(
        self,
        max_batch_size: int,
        *,
        max_waiting: int = 256,
        default_timeout_s: float | None = None,
        backend: str = "",
        model: str = "",
    ):
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size is {max_batch_size}: it must be at least 1")
        self.max_batch_size = max_batch_size
        self.max_waiting = max_waiting
        self.default_timeout_s = default_timeout_s
        self.backend = backend
        self.model = model
        self._reqs: dict[str, _Req] = {}
        self._waiting: OrderedDict[str, deque[_Req]] = OrderedDict()  # session -> FIFO
        self._turns: deque[str] = deque()  # sessions with waiting requests, in round-robin order
        self._running: dict[str, _Req] = {}  # request id -> state, in admission order
        self._to_abort: list[str] = []

    # ---- state -------------------------------------------------------------------------------
    @property
    def num_waiting(self) -> int:
        """Requests queued and not running. Safe to read from another thread (the server's load check):
        the queues are copied in one step under the GIL before they are counted."""
        return sum(len(q) for q in list(self._waiting.values()))

    @property
    def num_running(self) -> int:
        return len(self._running)

    @property
    def has_work(self) -> bool:
        return bool(self._reqs) or bool(self._to_abort)

    def is_active(self, request_id: str) -> bool:
        return request_id in self._reqs

    def running_ids(self) -> list[str]:
        return list(self._running)

    def next_deadline(self) -> float | None:
        deadlines = [r.deadline for r in self._reqs.values() if r.deadline is not None]
        return min(deadlines) if deadlines else None

    # ---- input -------------------------------------------------------------------------------
    def add(self, request: GenerationRequest, now: float) -> None:
        if request.request_id in self._reqs:
            raise ValueError(f"request id {request.request_id!r} is already queued or running")
        if self.num_waiting >= self.max_waiting:
            raise BackendOverloadedError(
                f"{self.num_waiting} requests are already waiting (max_waiting={self.max_waiting}); "
                "retry later or raise max_waiting",
                backend=self.backend,
            )
        timeout = request.timeout_s if request.timeout_s is not None else self.default_timeout_s
        state = _Req(request, now, now + timeout if timeout is not None else None, StopChecker(request.stop))
        self._reqs[request.request_id] = state
        queue = self._waiting.get(request.session_id)
        if queue is None:
            queue = self._waiting[request.session_id] = deque()
            self._turns.append(request.session_id)
        queue.append(state)

    def cancel(self, request_id: str, now: float) -> Finished | None:
        """Finishes a queued or running request as `cancelled`; None if it is unknown or over."""
        state = self._reqs.get(request_id)
        if state is None:
            return None
        return self._finish(state, "cancelled", now)

    def cancel_session(self, session_id: str, now: float) -> list[Finished]:
        """Cancels every queued and running request of a session (a barge-in)."""
        ids = [rid for rid, st in self._reqs.items() if st.request.session_id == session_id]
        return [f for f in (self.cancel(rid, now) for rid in ids) if f is not None]

    def expire(self, now: float) -> list[Finished]:
        """Finishes every request whose deadline has passed, with a BackendTimeoutError."""
        out = []
        for state in [s for s in self._reqs.values() if s.deadline is not None and s.deadline <= now]:
            where = "while generating" if state.running else "while queued"
            timeout = state.deadline - state.arrival if state.deadline is not None else 0.0
            error = BackendTimeoutError(
                f"request {state.request.request_id} of session {state.request.session_id!r} timed out "
                f"{where} after {timeout:g} s ({state.tokens} tokens so far); raise timeout_s or "
                "use a faster backend",
                backend=self.backend,
                partial_text="".join(state.parts),
            )
            out.append(self._finish(state, "timeout", now, error))
        return out

    # ---- the loop ------------------------------------------------------------------------------
    def schedule(self, now: float) -> SchedulerOutput:
        """Frees finished places, then fills free ones round-robin over sessions (FIFO in each)."""
        out = SchedulerOutput(running=list(self._running), aborted=self._to_abort)
        self._to_abort = []
        while len(self._running) < self.max_batch_size and self._turns:
            session = self._turns.popleft()
            queue = self._waiting[session]
            state = queue.popleft()
            if queue:
                self._turns.append(session)
            else:
                del self._waiting[session]
            state.running = True
            self._running[state.request.request_id] = state
            out.admitted.append(state.request)
        return out

    def update(self, outputs: Sequence[StepOutput], now: float) -> list[Event]:
        """Turns runner outputs into token chunks and finished results. Outputs for requests that
        were cancelled or timed out in the meantime are dropped."""
        events: list[Event] = []
        for out in outputs:
            state = self._running.get(out.request_id)
            if state is None:
                continue
            if out.tokens > 0:
                state.tokens += out.tokens
                if state.first_token_at is None:
                    state.first_token_at = now
            text, stopped = state.stop.feed(out.text)
            self._emit(state, text, events)
            if stopped:
                events.append(self._finish(state, "stop", now, runner_freed=out.finished))
            elif state.tokens >= state.request.max_tokens:
                self._emit(state, state.stop.flush(), events)
                events.append(self._finish(state, "length", now, runner_freed=out.finished))
            elif out.finished:
                self._emit(state, state.stop.flush(), events)
                events.append(self._finish(state, out.finish_reason, now, runner_freed=True))
        return events

    def fail(
        self,
        request_ids: Iterable[str],
        error_message: str,
        now: float,
        *,
        kind: type[BackendError],
        runner_freed: bool = True,
    ) -> list[Finished]:
        """Finishes requests with a backend error (the runner crashed or refused them)."""
        out = []
        for rid in request_ids:
            state = self._reqs.get(rid)
            if state is None:
                continue
            error = kind(error_message, backend=self.backend, partial_text="".join(state.parts))
            out.append(self._finish(state, "error", now, error, runner_freed=runner_freed))
        return out

    # ---- internals -----------------------------------------------------------------------------
    def _emit(self, state: _Req, text: str, events: list[Event]) -> None:
        if not text:
            return
        req = state.request
        events.append(TokenChunk(req.request_id, req.session_id, text, state.chunks))
        state.chunks += 1
        state.parts.append(text)

    def _finish(
        self,
        state: _Req,
        reason: FinishReason,
        now: float,
        error: BackendError | None = None,
        *,
        runner_freed: bool = False,
    ) -> Finished:
        req = state.request
        del self._reqs[req.request_id]
        if state.running:
            del self._running[req.request_id]
            if not runner_freed:
                self._to_abort.append(req.request_id)
        else:
            queue = self._waiting[req.session_id]
            queue.remove(state)
            if not queue:
                del self._waiting[req.session_id]
                self._turns.remove(req.session_id)
        first = (state.first_token_at - state.arrival) * 1000 if state.first_token_at is not None else None
        result = GenerationResult(
            request_id=req.request_id,
            session_id=req.session_id,
            text="".join(state.parts),
            tokens=state.tokens,
            finish_reason=reason,
            first_token_ms=first,
            total_ms=(now - state.arrival) * 1000,
            backend=self.backend,
            model=self.model,
        )
        return Finished(req, result, error)
