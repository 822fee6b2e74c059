"""Batched versus one-at-a-time serving of simulated concurrent sessions, on one backend and model.

For each session count N, N sessions each ask `turns` typical student questions in turn (a persona
system prompt, the question), first through a core that batches up to N requests, then through a core
that serves one request at a time (the others queue). Latencies count from submission, so in the
one-at-a-time run they include the wait behind other sessions, as a student would feel it. Greedy
decoding, so both runs produce (nearly) the same replies; tokens/s is aggregate over the wall time.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from typing import Any

from .core import InferenceCore, as_runner
from .types import ChatMessage, GenerationRequest, GenerationResult

PERSONA = (
    "You are Daniel Price, a 58-year-old delivery driver who has come to see the doctor. You have had a "
    "tight pain in the centre of your chest for two days; it comes on when you walk up hills and eases "
    "with rest. You smoke ten cigarettes a day and take amlodipine for blood pressure. You are worried "
    "and a little embarrassed. Answer the doctor's question in one or two short sentences, as the "
    "patient, in plain everyday words. Do not give medical advice."
)

QUESTIONS = [
    "Hello, I'm Dr Shah. What brings you in today?",
    "When did the pain first start?",
    "Can you describe what the pain feels like?",
    "Does the pain go anywhere else, like your arm or jaw?",
    "What makes it better or worse?",
    "Do you smoke at all?",
    "Are you taking any regular medicines?",
    "Has anyone in your family had heart problems?",
    "How is this affecting your work?",
    "What are you most worried about?",
]


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sequence."""
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def _summary(results: list[GenerationResult], wall_s: float) -> dict[str, Any]:
    tokens = sum(r.tokens for r in results)
    firsts = [r.first_token_ms for r in results if r.first_token_ms is not None] or [0.0]
    replies = [r.total_ms for r in results]
    return {
        "tokens_per_s": round(tokens / wall_s, 1) if wall_s > 0 else 0.0,
        "first_token_ms": {"p50": round(percentile(firsts, 50)), "p95": round(percentile(firsts, 95))},
        "reply_ms": {"p50": round(percentile(replies, 50)), "p95": round(percentile(replies, 95))},
        "tokens": tokens,
        "replies": len(results),
        "wall_s": round(wall_s, 2),
    }


def _request(session: int, turn: int, max_tokens: int) -> GenerationRequest:
    question = QUESTIONS[(session * 3 + turn) % len(QUESTIONS)]
    messages = (ChatMessage("system", PERSONA), ChatMessage("user", question))
    return GenerationRequest(f"bench-{session}", messages, max_tokens=max_tokens, temperature=0.0, timeout_s=600)


async def _run(backend: Any, sessions: int, batch: int, turns: int, max_tokens: int) -> dict[str, Any]:
    core = InferenceCore(backend, max_batch_size=batch, close_backend=False, default_timeout_s=600)
    await core.start()
    try:
        # Warm-up, not counted: each session opens with its persona prompt, as at the start of a
        # consultation, so that prompt caches (llama.cpp slots) are primed alike in both modes.
        await asyncio.gather(*(core.generate(_request(i, 0, 2)) for i in range(sessions)))

        async def session(i: int) -> list[GenerationResult]:
            return [await core.generate(_request(i, t, max_tokens)) for t in range(turns)]

        start = time.perf_counter()
        per_session = await asyncio.gather(*(session(i) for i in range(sessions)))
        wall = time.perf_counter() - start
    finally:
        await core.aclose()
    return _summary([r for rs in per_session for r in rs], wall)


def run_bench(
    backend: Any,
    sessions: Sequence[int],
    *,
    turns: int = 2,
    max_tokens: int = 32,
    backend_name: str = "",
    model_name: str = "",
) -> dict[str, Any]:
    """Runs the benchmark and returns the JSON-ready report."""
    runner = as_runner(backend)
    runner.load()
    load_before = os.getloadavg()[0]  # other processes on the machine skew the figures: report them
    results = []
    for n in sessions:
        batched = asyncio.run(_run(runner, n, n, turns, max_tokens))
        sequential = asyncio.run(_run(runner, n, 1, turns, max_tokens))
        speedup = batched["tokens_per_s"] / sequential["tokens_per_s"] if sequential["tokens_per_s"] else 0.0
        results.append({"sessions": n, "batched": batched, "sequential": sequential, "speedup": round(speedup, 2)})
    return {
        "backend": backend_name or runner.backend_name,
        "model": model_name or runner.model_name,
        "turns_per_session": turns,
        "max_tokens": max_tokens,
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "latency_from": "submission (queue wait included)",
        "results": results,
    }
