"""The transformers backend on a tiny randomly initialised Llama written to disk by the test: the real
loading, chat templating, left-padded continuous batching and sampling code, no model hub."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from vpatient.errors import BackendCrashedError, BackendUnavailableError
from vpatient.inference import ChatMessage, GenerationRequest, InferenceCore, create_backend
from vpatient.inference.tiny import make_tiny_llama
from vpatient.inference.transformers_backend import ChatTransformers, TransformersRunner

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def req(i: int, max_tokens: int = 10, **kw: object) -> GenerationRequest:
    question = f"question {i}: " + "does it hurt " * (i + 1)  # prompts of different lengths
    messages = [ChatMessage("system", "You are a patient."), ChatMessage("user", question)]
    kw.setdefault("timeout_s", 300)  # generous: the shared test machine can be very busy
    return GenerationRequest(f"s{i}", messages, max_tokens=max_tokens, temperature=0, **kw)  # type: ignore[arg-type]


def alone(runner: TransformersRunner, request: GenerationRequest) -> str:
    return "".join(runner.fork().iter_one(request, threading.Event()))


def test_batched_greedy_equals_one_at_a_time_with_staggered_joins(tiny: Path) -> None:
    runner = TransformersRunner(tiny, max_batch_size=8, threads=2)
    requests = [req(i) for i in range(4)]
    expected = {r.request_id: alone(runner, r) for r in requests}
    assert all(expected.values())

    joins = {0: requests[:2], 2: requests[2:3], 4: requests[3:]}  # requests join a running batch
    texts = {r.request_id: "" for r in requests}
    counts = dict.fromkeys(texts, 0)
    aborted: list[str] = []
    for step in range(30):
        outputs = runner.step(joins.get(step, []), aborted)
        aborted = []
        for out in outputs:
            texts[out.request_id] += out.text
            counts[out.request_id] += out.tokens
            if not out.finished and counts[out.request_id] >= 10:
                aborted.append(out.request_id)  # as the scheduler does at max_tokens
    assert texts == expected
    assert runner.running_ids == []


def test_core_serves_concurrent_sessions_in_one_batch(tiny: Path) -> None:
    model = create_backend("transformers", model=str(tiny), batch_size=4, threads=2)
    assert isinstance(model, ChatTransformers)

    async def main() -> None:
        async with InferenceCore(model) as core:
            assert core.scheduler.max_batch_size == 4
            results = await asyncio.gather(*(core.generate(req(i, 8)) for i in range(6)))
            for result in results:
                assert result.tokens >= 1 and result.first_token_ms is not None
                assert result.finish_reason in ("stop", "length")
            # a barge-in mid-reply
            handle = core.stream(req(9, 200, stop=()))
            await handle.__anext__()
            handle.cancel()
            assert (await handle.result()).finish_reason == "cancelled"
            assert (await core.generate(req(1, 8))).text == results[1].text  # greedy: same prompt, same reply

    asyncio.run(main())


def test_sampling_with_a_seed_is_reproducible(tiny: Path) -> None:
    runner = TransformersRunner(tiny, threads=2)

    def sampled(seed: int) -> str:
        request = GenerationRequest("s", [ChatMessage("user", "hello")], max_tokens=12, temperature=1.0, seed=seed)
        return alone(runner, request)

    assert sampled(7) == sampled(7)


def test_usable_as_a_langchain_chat_model(tiny: Path) -> None:
    from langchain_core.messages import HumanMessage, SystemMessage

    model = ChatTransformers(model_path=str(tiny), threads=2, max_tokens=6, temperature=0)
    messages = [SystemMessage("You are a patient."), HumanMessage("How are you?")]
    reply = model.invoke(messages)
    assert isinstance(reply.content, str) and reply.content
    assert reply.response_metadata["finish_reason"] in ("stop", "length")
    assert "".join(str(c.content) for c in model.stream(messages)) == reply.content


def test_missing_folder_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="not a folder"):
        TransformersRunner(tmp_path / "nowhere").load()
    (tmp_path / "empty").mkdir()
    with pytest.raises(BackendUnavailableError, match="cannot load"):
        TransformersRunner(tmp_path / "empty").load()


def test_model_failing_mid_generation_is_a_typed_error_and_the_core_recovers(tiny: Path) -> None:
    runner = TransformersRunner(tiny, threads=2)
    runner.load()
    real_model = runner._shared["model"]
    calls = {"n": 0}

    def dying(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:  # prefill, one decode, then the failure
            raise RuntimeError("CUDA error: device-side assert triggered")
        return real_model(*args, **kwargs)

    async def main() -> None:
        async with InferenceCore(runner) as core:
            runner._shared["model"] = dying
            with pytest.raises(BackendCrashedError, match="device-side assert") as err:
                await core.generate(req(1, 50, stop=()))
            assert err.value.backend == "transformers"
            assert runner.running_ids == []  # the batch was reset
            assert (await core.generate(req(2, 4))).tokens >= 1

    asyncio.run(main())
