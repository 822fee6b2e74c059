"""The llama.cpp backend (xllamacpp) with the packaged SmolLM2-135M-Instruct GGUF: streaming through
the core on parallel slots, cancellation, refusals as typed errors, LangChain use. Few tokens, 2 threads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from vpatient.errors import BackendCrashedError, BackendUnavailableError, ModelUnavailableError
from vpatient.inference import ChatMessage, GenerationRequest, InferenceCore, create_backend
from vpatient.inference.llamacpp import ChatLlamaCpp, packaged_model_path

pytestmark = pytest.mark.slow

PERSONA = "You are Mr Daniel Price, 58, a patient with chest pain. Answer the doctor briefly, in character."


@pytest.fixture(scope="module")
def llama() -> Iterator[ChatLlamaCpp]:
    model = create_backend("llamacpp", n_parallel=2, ctx_per_slot=512, n_threads=2)
    assert isinstance(model, ChatLlamaCpp)
    model.load()
    yield model
    model.close()


def req(session: str, question: str, **kw: object) -> GenerationRequest:
    messages = [ChatMessage("system", PERSONA), ChatMessage("user", question)]
    kw.setdefault("max_tokens", 8)
    kw.setdefault("timeout_s", 300)  # generous: the shared test machine can be very busy
    return GenerationRequest(session, messages, temperature=0, **kw)  # type: ignore[arg-type]


def test_packaged_model_is_found_without_importing_it() -> None:
    path = packaged_model_path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000


def test_concurrent_sessions_stream_on_parallel_slots(llama: ChatLlamaCpp) -> None:
    async def main() -> None:
        async with InferenceCore(llama, close_backend=False) as core:
            assert core.scheduler.max_batch_size == 2
            assert core.model_name == "SmolLM2-135M-Instruct.Q4_1.gguf"
            questions = ["What brings you in today?", "When did the pain start?", "Do you smoke?"]
            handles = [core.stream(req(f"s{i}", q)) for i, q in enumerate(questions)]
            for handle in handles:
                pieces = [chunk.text async for chunk in handle]
                result = await handle.result()
                assert pieces and "".join(pieces) == result.text
                assert 1 <= result.tokens <= 8 and result.finish_reason in ("stop", "length")
                assert result.backend == "llamacpp" and result.first_token_ms is not None

    asyncio.run(main())


def test_barge_in_stops_a_long_reply(llama: ChatLlamaCpp) -> None:
    async def main() -> None:
        async with InferenceCore(llama, close_backend=False) as core:
            handle = core.stream(req("s1", "Tell me everything about your life, in detail.", max_tokens=300))
            await handle.__anext__()
            assert core.cancel_session("s1") == 1
            result = await handle.result()
            assert result.finish_reason == "cancelled" and result.tokens < 300
            follow = await core.generate(req("s1", "Sorry, go on."))  # the slot is free again
            assert follow.tokens >= 1

    asyncio.run(main())


def test_prompt_beyond_the_context_is_a_typed_error(llama: ChatLlamaCpp) -> None:
    async def main() -> None:
        async with InferenceCore(llama, close_backend=False) as core:
            with pytest.raises(BackendCrashedError, match="context"):
                await core.generate(req("s1", "pain " * 2000))

    asyncio.run(main())


def test_stop_strings_and_langchain_use(llama: ChatLlamaCpp) -> None:
    from langchain_core.messages import HumanMessage, SystemMessage

    reply = llama.invoke(
        [SystemMessage(PERSONA), HumanMessage("What brings you in today?")],
        max_tokens=12,
        temperature=0,
        stop=[" "],
    )
    assert isinstance(reply.content, str) and " " not in reply.content


def test_missing_model_file_is_unavailable(tmp_path: Path) -> None:
    model = ChatLlamaCpp(model_path=str(tmp_path / "absent.gguf"))
    with pytest.raises(BackendUnavailableError, match="does not exist") as err:
        model.load()
    assert isinstance(err.value, ModelUnavailableError)  # start-up code may catch the broader class
