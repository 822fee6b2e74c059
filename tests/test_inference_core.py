"""The async inference core over fake runners: streaming, batching, cancellation (handle, session,
task), timeouts, failures as typed errors, and the LangChain seam. No model, no timed asserts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from vpatient.errors import BackendCrashedError, BackendError, BackendTimeoutError, BackendUnavailableError
from vpatient.inference import ChatMessage, GenerationRequest, InferenceCore, StepRunner
from vpatient.inference.fake import FakeStepRunner, FakeStreamRunner
from vpatient.inference.langchain_adapter import ChatModelRunner


def run(coro_fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(coro_fn())


def req(session: str, text: str = "Where does it hurt?", **kw: Any) -> GenerationRequest:
    return GenerationRequest(session, [ChatMessage("system", "You are a patient."), ChatMessage("user", text)], **kw)


def test_stream_yields_the_reply_and_timings() -> None:
    async def main() -> None:
        async with InferenceCore(FakeStepRunner()) as core:
            reply = core.stream(req("s1", "Any pain?"))
            texts = [chunk.text async for chunk in reply]
            result = await reply.result()
        assert "".join(texts) == "You asked: Any pain?" == result.text
        assert result.finish_reason == "stop" and result.tokens == 4
        assert result.first_token_ms is not None and result.total_ms >= result.first_token_ms
        assert (result.backend, result.session_id) == ("fake", "s1")

    run(main)


def test_concurrent_sessions_share_one_batch() -> None:
    async def main() -> None:
        fake = FakeStepRunner(max_batch_size=8)
        async with InferenceCore(fake) as core:
            results = await asyncio.gather(*(core.generate(req(f"s{i}", f"question {i}")) for i in range(6)))
        assert [r.text for r in results] == [f"You asked: question {i}" for i in range(6)]
        assert max(len(b) for b in fake.batches) == 6

    run(main)


def test_max_batch_size_caps_the_batch_and_queues_fairly() -> None:
    async def main() -> None:
        fake = FakeStepRunner(max_batch_size=8)
        async with InferenceCore(fake, max_batch_size=1) as core:
            flood = [core.submit(req("A", f"a{i}")) for i in range(3)]
            other = core.submit(req("B", "b"))
            await asyncio.gather(*(h.result() for h in [*flood, other]))
        assert max(len(b) for b in fake.batches) == 1
        order = [b[0] for b in fake.batches if b]
        starts = list(dict.fromkeys(order))  # request ids in the order they ran
        assert starts.index(other.request_id) == 1  # B's only request goes right after A's first

    run(main)


def test_cancel_by_handle_stops_at_once_and_frees_the_row() -> None:
    async def main() -> None:
        fake = FakeStepRunner(reply=lambda r: "word " * 200)
        async with InferenceCore(fake) as core:
            handle = core.stream(req("s1", max_tokens=500))
            got = []
            async for chunk in handle:
                got.append(chunk.text)
                if len(got) == 3:
                    assert handle.cancel()
            result = await handle.result()
            assert result.finish_reason == "cancelled" and len(got) == 3
            assert not handle.cancel()
            await core.generate(req("s2"))  # the loop goes on, and told the runner
        assert handle.request_id in fake.aborted

    run(main)


def test_leaving_the_async_with_block_cancels() -> None:
    async def main() -> None:
        fake = FakeStepRunner(reply=lambda r: "word " * 200)
        async with InferenceCore(fake) as core:
            async with core.stream(req("s1", max_tokens=500)) as reply:
                async for _ in reply:
                    break
            assert (await reply.result()).finish_reason == "cancelled"

    run(main)


def test_barge_in_cancels_the_session_only() -> None:
    async def main() -> None:
        fake = FakeStepRunner(reply=lambda r: "word " * 100, step_delay_s=0.001)
        async with InferenceCore(fake) as core:
            mine = core.submit(req("student-1", max_tokens=200))
            queued = core.submit(req("student-1", max_tokens=200))
            theirs = core.submit(req("student-2", max_tokens=20))
            await mine.__anext__()
            assert core.cancel_session("student-1") == 2
            assert (await mine.result()).finish_reason == "cancelled"
            assert (await queued.result()).finish_reason == "cancelled"
            assert (await theirs.result()).finish_reason == "length"

    run(main)


def test_cancelling_the_awaiting_task_cancels_the_generation() -> None:
    async def main() -> None:
        fake = FakeStepRunner(reply=lambda r: "word " * 500, step_delay_s=0.001)
        async with InferenceCore(fake) as core:
            request = req("s1", max_tokens=1000)
            task = asyncio.create_task(core.generate(request))
            while not fake.batches:
                await asyncio.sleep(0.001)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert not core.scheduler.is_active(request.request_id)

    run(main)


def test_timeout_raises_typed_error_with_partial_text() -> None:
    async def main() -> None:
        fake = FakeStepRunner(reply=lambda r: "word " * 500, step_delay_s=0.01)
        async with InferenceCore(fake) as core:
            handle = core.stream(req("s1", max_tokens=1000, timeout_s=0.05))
            with pytest.raises(BackendTimeoutError) as err:
                async for _ in handle:
                    pass
            assert err.value.partial_text.startswith("word")
            with pytest.raises(BackendTimeoutError):
                await handle.result()

    run(main)


def test_backend_dying_mid_generation_raises_crash_and_core_recovers() -> None:
    async def main() -> None:
        fake = FakeStepRunner(crash_at_step=3)
        async with InferenceCore(fake) as core:
            handles = [core.stream(req(f"s{i}", "tell me more")) for i in range(2)]
            for handle in handles:
                with pytest.raises(BackendCrashedError) as err:
                    async for _ in handle:
                        pass
                assert "fake backend died" in str(err.value) and err.value.partial_text
                assert isinstance(err.value, BackendError)
            assert (await core.generate(req("s3", "again"))).text == "You asked: again"

    run(main)


def test_unloadable_backend_is_unavailable() -> None:
    class Broken(FakeStepRunner):
        def load(self) -> None:
            raise OSError("weights file missing")

    async def main() -> None:
        core = InferenceCore(Broken())
        with pytest.raises(BackendUnavailableError, match="weights file missing"):
            await core.start()
        with pytest.raises(BackendUnavailableError):
            await core.generate(req("s1"))
        await core.aclose()

    run(main)


def test_stream_runner_concurrency_cancel_and_crash() -> None:
    async def main() -> None:
        fake = FakeStreamRunner(reply=lambda r: "word " * 300, token_delay_s=0.001, max_batch_size=2)
        async with InferenceCore(fake) as core:
            long = core.stream(req("s1", max_tokens=1000))
            short = core.stream(req("s2", max_tokens=3))
            assert (await short.result()).finish_reason == "length"
            await long.__anext__()
            long.cancel()
            assert (await long.result()).finish_reason == "cancelled"
        assert long.request_id in fake.stopped_early  # the worker thread noticed and stopped

        crashing = FakeStreamRunner(crash_after=2)
        async with InferenceCore(crashing) as core:
            with pytest.raises(BackendCrashedError, match="died after 2 words") as err:
                await core.generate(req("s1"))
            assert err.value.partial_text == "You asked:"

    run(main)


def test_any_langchain_chat_model_plugs_in() -> None:
    async def main() -> None:
        model = GenericFakeChatModel(messages=iter([AIMessage(content="It started on Monday, doctor.")]))
        async with InferenceCore(model) as core:
            assert isinstance(core.runner, ChatModelRunner)
            result = await core.generate(req("s1", stop=[","]))
        assert result.text == "It started on Monday" and result.finish_reason == "stop"

    run(main)


def test_core_is_bound_to_one_loop_and_model_calls_leave_it() -> None:
    seen: list[str] = []

    class Recording(FakeStepRunner):
        def step(self, admitted: Any, aborted: Any) -> Any:
            seen.append(threading.current_thread().name)
            return super().step(admitted, aborted)

    async def main() -> InferenceCore:
        core = InferenceCore(Recording())
        await core.generate(req("s1"))
        await core.aclose()
        return core

    core = run(main)
    assert seen and all(name.startswith("vpatient-model") for name in seen)
    assert isinstance(core.runner, StepRunner)


def test_runs_left_inside_a_backend_are_cancelled_and_waited_for_at_exit() -> None:
    """A thread still inside native code when the interpreter finalises aborts the process: at exit every run
    still going is told to stop and waited for."""
    import threading

    from vpatient.inference.langchain_adapter import _RUNS, finish_runs, iterate_callback_run

    left = threading.Event()

    def run(on_text, cancelled):  # type: ignore[no-untyped-def]
        on_text("Hello")
        cancelled.wait(10)  # a backend that only looks at the cancel flag between tokens
        left.set()
        return "stop"

    gen = iterate_callback_run(run)
    assert next(gen) == "Hello"
    assert len(_RUNS) >= 1  # the consumer has moved on; the run is still inside the backend
    assert finish_runs(5.0) == 0
    assert left.is_set() and not _RUNS
