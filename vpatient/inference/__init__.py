"""The batched inference core shared by every session, and its backends.

    from vpatient.inference import ChatMessage, GenerationRequest, InferenceCore, create_backend

    core = InferenceCore(create_backend("llamacpp"))   # packaged SmolLM2-135M-Instruct via llama.cpp
    await core.start()
    req = GenerationRequest("session-1", [ChatMessage("system", "..."), ChatMessage("user", "...")])
    async with core.stream(req) as reply:
        async for chunk in reply:
            print(chunk.text, end="")
    core.cancel_session("session-1")                   # barge-in

Modules: types (requests, chunks, results), scheduler (pure-Python policy), runner (the two runner
kinds), core (async API), backends (by name), llamacpp / transformers_backend / openai_compat (vendor
code, imported on demand), langchain_adapter (the LangChain seam), fake (fakes for tests),
serve (an OpenAI-compatible llama.cpp server process), tiny (a tiny random model for tests).
"""

from .backends import BACKENDS, create_backend
from .core import GenerationHandle, InferenceCore, as_runner
from .runner import Runner, StepRunner, StreamRunner
from .scheduler import Scheduler, StepOutput
from .types import ChatMessage, FinishReason, GenerationRequest, GenerationResult, TokenChunk

__all__ = [
    "BACKENDS",
    "ChatMessage",
    "FinishReason",
    "GenerationHandle",
    "GenerationRequest",
    "GenerationResult",
    "InferenceCore",
    "Runner",
    "Scheduler",
    "StepOutput",
    "StepRunner",
    "StreamRunner",
    "TokenChunk",
    "as_runner",
    "create_backend",
]
