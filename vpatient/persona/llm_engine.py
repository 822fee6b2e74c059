"""The LLM mode of the persona engine: the scripted engine decides what may be said, the model phrases it.

The prompt holds the persona's character, style, language proficiency and current affect, the statements
eligible for this reply (never the others) and a short history. Every reply passes the guard; a reply that
fails it, or a backend that is missing, crashes or times out, gives way to the scripted wording, and the
reason is stored with the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from vpatient.embeddings import Embedder
from vpatient.errors import VPatientError
from vpatient.language.acts import sentences
from vpatient.persona.engine import Reply, ReplyPlan, ScriptedEngine
from vpatient.persona.grounding import Grounding
from vpatient.persona.guard import Guard, Verdict
from vpatient.persona.schema import Level, Persona

T = TypeVar("T")

HISTORY_TURNS = 3
"""How many earlier exchanges the prompt carries."""


def system_prompt(persona: Persona, emotion: str) -> str:
    ident, style = persona.identity, persona.style
    simple = " Use short, simple sentences and everyday words." if style.language_proficiency == Level.low else ""
    chatty = {Level.low: "You say little.", Level.medium: "", Level.high: "You are chatty."}[style.talkativeness]
    return (
        f"You are {ident.name}, {ident.age}, {ident.occupation or 'a patient'}, talking to a doctor in a "
        f"{persona.setting or 'clinic'}. {style.personality} {chatty} You feel {emotion.replace('_', ' ')}. "
        "Answer as the patient, in the first person, in one to three short sentences."
        f"{simple} Say only what is in WHAT YOU SAY, in your own words. Never add medical details, never give "
        "advice, never ask how you can help."
    ).replace("  ", " ")


def user_prompt(utterance: str, plan: ReplyPlan, history: list[tuple[str, str]]) -> str:
    lines = []
    for doctor, patient in history[-HISTORY_TURNS:]:
        lines += [f"Doctor: {doctor}", f"You: {patient}"]
    lines.append(f"Doctor: {utterance}")
    lines.append(f"WHAT YOU SAY: {plan.text}")
    lines.append("Your reply:")
    return "\n".join(lines)


class _LoopThread:
    """An event loop in a daemon thread, so synchronous callers can use the async inference core."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="vpatient-llm", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()  # never let a late reply be committed after the fallback
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self.loop.is_running():
            self.loop.close()


class LLMEngine:
    """Grounded LLM persona engine; `respond` is synchronous, `arespond` async."""

    mode = "llm"

    def __init__(
        self,
        persona: Persona,
        embedder: Embedder,
        core: Any,
        *,
        backend_name: str = "",
        timeout_s: float = 15.0,
        max_tokens: int = 90,
        temperature: float = 0.7,
        session_id: str = "session",
    ):
        self.persona = persona
        self.scripted = ScriptedEngine(persona, embedder)
        self.guard = Guard(Grounding(persona, embedder))
        self.core = core
        self.backend_name = backend_name or type(core).__name__
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.session_id = session_id
        self._loop: _LoopThread | None = None
        self._started = False

    # ------------------------------------------------------------------ public API
    def respond(self, utterance: str, *, interrupted: bool = False) -> Reply:
        if self._loop is None:
            self._loop = _LoopThread()
        try:
            # The first call also loads the model (up to 4 x timeout_s); later ones only generate.
            budget = self.timeout_s * (1 if self._started else 5) + 5
            return self._loop.run(self.arespond(utterance, interrupted=interrupted), budget)
        except FutureTimeout:
            plan = self.scripted.plan(utterance, interrupted=interrupted)
            return self._fallback(utterance, plan, "the LLM did not answer in time", raw=None)

    async def arespond(self, utterance: str, *, interrupted: bool = False) -> Reply:
        plan = self.scripted.plan(utterance, interrupted=interrupted)
        if not plan.text.strip():
            return self.scripted.commit(utterance, plan, plan.text)
        try:
            raw, timings = await self._generate(utterance, plan)
        except (TimeoutError, VPatientError, OSError, RuntimeError) as exc:
            return self._fallback(utterance, plan, f"backend failed: {type(exc).__name__}: {exc}", raw=None)
        reply_text = self._trim(_clean(raw), [s.id for s in plan.statements])
        eligible = {s.id for s in plan.statements} | set(self.scripted.state.told)
        verdict = self.guard.check(reply_text, eligible=eligible, required=[s.id for s in plan.statements])
        if not verdict.ok:
            return self._fallback(
                utterance, plan, "guard: " + "; ".join(verdict.reasons), raw=raw, verdict=verdict, timings=timings
            )
        reply = self.scripted.commit(utterance, plan, reply_text, mode="llm")
        reply.meta["llm"] = {"backend": self.backend_name, "raw": raw, "guard": verdict.to_json(), **timings}
        return reply

    def close(self) -> None:
        if self._loop is not None:
            loop = self._loop

            async def shutdown() -> None:
                await self.core.aclose()

            with contextlib.suppress(Exception):  # best effort on the way out
                loop.run(shutdown(), 10)
            loop.stop()
            self._loop = None

    # ------------------------------------------------------------------ internals
    async def _generate(self, utterance: str, plan: ReplyPlan) -> tuple[str, dict[str, float]]:
        from vpatient.inference import ChatMessage, GenerationRequest

        request = GenerationRequest(
            session_id=self.session_id,
            messages=(
                ChatMessage("system", system_prompt(self.persona, self.scripted.affect.emotion)),
                ChatMessage("user", user_prompt(utterance, plan, self.scripted.state.history)),
            ),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=("\nDoctor:", "Doctor:", "\n\n"),
            timeout_s=self.timeout_s,
        )
        if not self._started:
            await asyncio.wait_for(self.core.start(), self.timeout_s * 4)
            self._started = True
        t0 = time.perf_counter()
        result = await asyncio.wait_for(self.core.generate(request), self.timeout_s)
        return result.text, {
            "first_token_ms": round(result.first_token_ms or 0.0, 1),
            "total_ms": round((time.perf_counter() - t0) * 1000, 1),
            "tokens": float(result.tokens),
        }

    def _trim(self, text: str, required: list[str]) -> str:
        """Stop where the answer is complete: small models ramble on after it (and invent as they go)."""
        parts = sentences(text)
        if len(parts) < 2:
            return text
        grounding = self.guard.grounding
        for k in range(1, len(parts)):
            prefix = " ".join(parts[:k])
            if set(required) <= set(grounding.told(prefix)):
                return prefix
        return text

    def _fallback(
        self,
        utterance: str,
        plan: ReplyPlan,
        why: str,
        *,
        raw: str | None,
        verdict: Verdict | None = None,
        timings: dict[str, float] | None = None,
    ) -> Reply:
        reply = self.scripted.commit(utterance, plan, plan.text, mode="llm-fallback")
        reply.meta["llm"] = {
            "backend": self.backend_name,
            "fallback": why,
            "raw": raw,
            **({"guard": verdict.to_json()} if verdict else {}),
            **(timings or {}),
        }
        return reply


def _clean(raw: str) -> str:
    text = raw.strip().strip('"').strip()
    for prefix in ("You:", "Patient:", "Me:"):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
    return " ".join(text.split())
