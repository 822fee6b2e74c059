"""The OpenAI-compatible client against a real llama.cpp server process on loopback
(`python -m vpatient.inference.serve`, started by the test): streaming, concurrency, and a server that
dies mid-generation (a typed crash error), then is gone (a typed unavailable error)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from vpatient.errors import BackendCrashedError, BackendUnavailableError
from vpatient.inference import ChatMessage, GenerationRequest, InferenceCore, create_backend
from vpatient.inference.openai_compat import ChatOpenAICompatible

pytestmark = pytest.mark.slow


class Server:
    def __init__(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "vpatient.inference.serve",
            "--port",
            "0",
            "--slots",
            "2",
            "--threads",
            "1",  # 1 thread: on a loaded 2-core machine, 2 threads per slot starve the server
            "--ctx-per-slot",
            "1024",
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once the model is loaded
        assert " at http://127.0.0.1:" in line, f"server did not start: {line!r}"
        self.url = line.rsplit(" at ", 1)[1].strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture()
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.stop()


def req(session: str, question: str, max_tokens: int = 8) -> GenerationRequest:
    messages = [ChatMessage("system", "You are a patient with chest pain."), ChatMessage("user", question)]
    return GenerationRequest(session, messages, max_tokens=max_tokens, temperature=0, timeout_s=300)


def test_streams_from_a_real_server_and_survives_its_death(server: Server) -> None:
    model = create_backend("openai", endpoint=server.url, concurrency=2, extra_body={"ignore_eos": True})
    assert isinstance(model, ChatOpenAICompatible)

    async def main() -> None:
        async with InferenceCore(model) as core:
            results = await asyncio.gather(
                core.generate(req("s1", "What brings you in?")), core.generate(req("s2", "Do you smoke?"))
            )
            for result in results:
                assert result.tokens == 8 and result.text and result.finish_reason == "length"
                assert result.backend == "openai"

            # the server process dies in the middle of a reply
            handle = core.stream(req("s3", "Tell me a long story about your week.", max_tokens=400))
            await handle.__anext__()
            server.proc.kill()
            with pytest.raises(BackendCrashedError) as crash:
                async for _ in handle:
                    pass
            assert crash.value.partial_text

            with pytest.raises(BackendUnavailableError, match="cannot connect"):
                await core.generate(req("s4", "Hello?"))

    asyncio.run(main())


def test_usable_as_a_langchain_chat_model(server: Server) -> None:
    from langchain_core.messages import HumanMessage

    model = ChatOpenAICompatible(base_url=server.url, max_tokens=5, temperature=0)
    reply = model.invoke([HumanMessage("Hello")])
    assert isinstance(reply.content, str) and reply.content
    model.close()
