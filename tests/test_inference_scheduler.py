"""The scheduler alone: fairness, limits, cancellation, stop strings and timeouts, with no model and an
injected clock (hand-made runner outputs, as vLLM's scheduler tests do)."""

from __future__ import annotations

import pytest

from vpatient.errors import BackendCrashedError, BackendOverloadedError, BackendTimeoutError
from vpatient.inference.scheduler import Finished, Scheduler, StepOutput, StopChecker
from vpatient.inference.types import ChatMessage, GenerationRequest, TokenChunk


def req(session: str, rid: str, **kw: object) -> GenerationRequest:
    return GenerationRequest(session, [ChatMessage("user", "hi")], request_id=rid, **kw)  # type: ignore[arg-type]


def admitted_ids(s: Scheduler, now: float = 0.0) -> list[str]:
    return [r.request_id for r in s.schedule(now).admitted]


def finish(s: Scheduler, rid: str, now: float = 0.0) -> None:
    s.update([StepOutput(rid, "", 0, finished=True)], now)


def test_round_robin_between_sessions_fifo_within() -> None:
    s = Scheduler(max_batch_size=2)
    for rid in ("a1", "a2", "a3", "a4"):
        s.add(req("A", rid), 0)
    s.add(req("B", "b1"), 0)
    s.add(req("C", "c1"), 0)
    s.add(req("B", "b2"), 0)
    assert admitted_ids(s) == ["a1", "b1"]
    finish(s, "a1")
    finish(s, "b1")
    assert admitted_ids(s) == ["c1", "a2"]
    finish(s, "c1")
    finish(s, "a2")
    assert admitted_ids(s) == ["b2", "a3"]
    finish(s, "b2")
    assert admitted_ids(s) == ["a4"]


def test_batch_limit_and_running_list() -> None:
    s = Scheduler(max_batch_size=3)
    for i in range(5):
        s.add(req(f"s{i}", f"r{i}"), 0)
    out = s.schedule(0)
    assert [r.request_id for r in out.admitted] == ["r0", "r1", "r2"]
    assert s.num_running == 3 and s.num_waiting == 2
    out = s.schedule(0)
    assert out.admitted == [] and out.running == ["r0", "r1", "r2"]


def test_queue_limit_raises_overloaded() -> None:
    s = Scheduler(max_batch_size=1, max_waiting=2)
    s.add(req("A", "r1"), 0)
    s.add(req("A", "r2"), 0)
    with pytest.raises(BackendOverloadedError, match="max_waiting=2"):
        s.add(req("B", "r3"), 0)


def test_tokens_stream_and_result_has_timings() -> None:
    s = Scheduler(max_batch_size=1, backend="fake", model="m")
    s.add(req("A", "r1"), 10.0)
    s.schedule(10.0)
    events = s.update([StepOutput("r1", "I have")], 10.5)
    events += s.update([StepOutput("r1", " chest pain")], 10.6)
    events += s.update([StepOutput("r1", "", 0, finished=True)], 10.7)
    chunks = [e for e in events if isinstance(e, TokenChunk)]
    assert [c.text for c in chunks] == ["I have", " chest pain"] and [c.index for c in chunks] == [0, 1]
    done = events[-1]
    assert isinstance(done, Finished) and done.error is None
    assert done.result.text == "I have chest pain" and done.result.tokens == 2
    assert done.result.finish_reason == "stop"
    assert done.result.first_token_ms == pytest.approx(500) and done.result.total_ms == pytest.approx(700)
    assert (done.result.backend, done.result.model) == ("fake", "m")
    assert s.schedule(11).aborted == []  # the runner ended it itself: nothing to free


def test_cancel_waiting_request_is_never_admitted() -> None:
    s = Scheduler(max_batch_size=1)
    s.add(req("A", "r1"), 0)
    s.add(req("B", "r2"), 0)
    s.schedule(0)
    finished = s.cancel("r2", 1)
    assert finished is not None and finished.result.finish_reason == "cancelled"
    assert s.cancel("r2", 1) is None
    finish(s, "r1")
    assert s.schedule(2).admitted == []
    assert not s.has_work


def test_cancel_running_request_aborts_it_and_drops_late_outputs() -> None:
    s = Scheduler(max_batch_size=2)
    s.add(req("A", "r1"), 0)
    s.schedule(0)
    s.update([StepOutput("r1", "Well")], 0.1)
    finished = s.cancel("r1", 0.2)
    assert finished is not None and finished.result.text == "Well"
    assert finished.result.finish_reason == "cancelled"
    assert s.update([StepOutput("r1", " doctor")], 0.3) == []  # a step that was already under way
    assert s.schedule(0.4).aborted == ["r1"]
    assert s.schedule(0.5).aborted == []


def test_cancel_session_stops_all_its_requests() -> None:
    s = Scheduler(max_batch_size=1)
    s.add(req("A", "r1"), 0)
    s.add(req("A", "r2"), 0)
    s.add(req("B", "r3"), 0)
    s.schedule(0)
    assert sorted(f.request.request_id for f in s.cancel_session("A", 1)) == ["r1", "r2"]
    out = s.schedule(1)
    assert out.aborted == ["r1"] and [r.request_id for r in out.admitted] == ["r3"]


def test_timeouts_while_queued_and_while_running() -> None:
    s = Scheduler(max_batch_size=1, default_timeout_s=5.0)
    s.add(req("A", "r1"), 0)
    s.add(req("B", "r2", timeout_s=2.0), 0)
    s.schedule(0)
    s.update([StepOutput("r1", "It started")], 1)
    assert s.next_deadline() == 2.0
    assert s.expire(1.9) == []
    (queued,) = s.expire(2.0)
    assert queued.request.request_id == "r2" and queued.result.finish_reason == "timeout"
    assert isinstance(queued.error, BackendTimeoutError) and "while queued" in str(queued.error)
    (running,) = s.expire(5.0)
    assert isinstance(running.error, BackendTimeoutError) and "while generating" in str(running.error)
    assert running.error.partial_text == "It started"
    assert s.schedule(5).aborted == ["r1"]


def test_max_tokens_finishes_with_length() -> None:
    s = Scheduler(max_batch_size=1)
    s.add(req("A", "r1", max_tokens=2), 0)
    s.schedule(0)
    assert len(s.update([StepOutput("r1", "One")], 0)) == 1
    events = s.update([StepOutput("r1", " two")], 0)
    done = events[-1]
    assert isinstance(done, Finished) and done.result.finish_reason == "length"
    assert done.result.text == "One two"
    assert s.schedule(0).aborted == ["r1"]


def test_stop_string_split_across_tokens_is_cut_and_held_back() -> None:
    s = Scheduler(max_batch_size=1)
    s.add(req("A", "r1", stop=["\nDoctor:"]), 0)
    s.schedule(0)
    texts = []
    for piece in ["Yes, it hurts.", "\nDoc", "tor: and"]:
        for e in s.update([StepOutput("r1", piece)], 0):
            if isinstance(e, TokenChunk):
                texts.append(e.text)
            else:
                final = e
    assert texts == ["Yes, it hurts."]
    assert final.result.text == "Yes, it hurts." and final.result.finish_reason == "stop"


def test_held_back_text_is_released_when_no_stop_follows() -> None:
    s = Scheduler(max_batch_size=1)
    s.add(req("A", "r1", stop=["\nDoctor:"]), 0)
    s.schedule(0)
    s.update([StepOutput("r1", "Fine\nDo")], 0)
    events = s.update([StepOutput("r1", "", 0, finished=True)], 0)
    assert [e.text for e in events if isinstance(e, TokenChunk)] == ["\nDo"]


def test_stop_checker() -> None:
    c = StopChecker(["</s>", "User:"])
    assert c.feed("Hello Us") == ("Hello ", False)
    assert c.feed("ual") == ("Usual", False)
    assert c.feed(" </") == (" ", False)
    assert c.feed("s> more") == ("", True)
    assert StopChecker([]).feed("anything") == ("anything", False)


def test_fail_reports_typed_error_with_partial_text() -> None:
    s = Scheduler(max_batch_size=2, backend="fake")
    s.add(req("A", "r1"), 0)
    s.add(req("B", "r2"), 0)
    s.schedule(0)
    s.update([StepOutput("r1", "I was")], 0)
    failed = s.fail(["r1", "r2", "unknown"], "process died", 1, kind=BackendCrashedError)
    assert [f.request.request_id for f in failed] == ["r1", "r2"]
    assert isinstance(failed[0].error, BackendCrashedError)
    assert failed[0].error.partial_text == "I was" and str(failed[0].error) == "fake: process died"
    assert not s.has_work
