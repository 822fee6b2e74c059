"""The LLM mode of the persona engine: the scripted engine decides what may be said, the model phrases it.

The prompt, in the order that lets the backend's prompt cache reuse the last reply's prompt: the persona's
character and a first-person instruction (system, the same all consultation); the recent real history as
alternating user (learner) / assistant (patient) messages, in a window that moves on in steps; a second
system message with this reply's feeling, the statements eligible now (never the others) and the scripted
wording of the plan; then the learner's words as the user turn. Each reply so processes only the last exchange and
its own plan (`prepare` has the character read before the first). A chat template that refuses a system
message after the first (Mistral's insist on alternating roles) needs an endpoint that accepts it.

The reply streams sentence by sentence. Each sentence is guarded (Guard.check_sentence) before it is
released; the first that fails ends the model's part (its generation is cancelled) and the scripted wording
completes the reply with what the model has not said yet (never repeating it). A backend that is missing,
crashes or times out gives the scripted wording from that point. What happened is stored with the turn.

Every engine of a process uses one inference core per configuration (vpatient.inference.shared), on one
shared event loop; requests carry the consultation's session id (barge-in cancels that session).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from vpatient.embeddings import Embedder
from vpatient.errors import VPatientError
from vpatient.language.acts import sentences
from vpatient.language.words import content_words
from vpatient.persona.engine import Reply, ReplyPlan, ScriptedEngine
from vpatient.persona.grounding import Grounding
from vpatient.persona.guard import Guard, is_conversational
from vpatient.persona.schema import Level, Persona

HISTORY_TURNS = 3
"""The fewest earlier exchanges the prompt carries (see history_window)."""
HISTORY_STEP = 4
"""The history window moves on this many exchanges at a time."""
MAX_SENTENCES = {Level.low: 2, Level.medium: 3, Level.high: 4}
"""The model's part of a reply stops after this many sentences, by talkativeness."""
COVERED = 0.6
"""A sentence of the scripted wording (not a statement) counts as said when a spoken sentence is this close."""
PARAPHRASED = 0.7
"""A statement's sentence this close to a spoken sentence is not repeated by the completion."""
NO_COMPLETION = ("small_talk", "clarify")
"""Plan kinds whose scripted wording is not appended when the model has said something that passed."""

_HEDGE = re.compile(
    r"\b(?:not (?:too |really )?sure|(?:don'?t|do not) (?:really )?know|can'?t (?:remember|say|recall)|"
    r"couldn'?t (?:tell|say)|no idea|not certain)\b",
    re.I,
)
"""Not knowing: a hedge of the model covers a hedge of the scripted wording."""
_BACKEND_ERRORS = (TimeoutError, VPatientError, OSError, RuntimeError)


def system_prompt(persona: Persona) -> str:
    """The character and the rules: the same every turn of a consultation, so the backend's prompt cache
    (llama.cpp's cache_prompt) keeps it, and the history after it, from one reply to the next."""
    ident, style = persona.identity, persona.style
    name = ident.name
    first = name.split()[0]
    simple = " Use short, simple sentences and everyday words." if style.language_proficiency == Level.low else ""
    chatty = {Level.low: "You say little.", Level.medium: "", Level.high: "You are chatty."}[style.talkativeness]
    return "\n".join(
        [
            f"You are {name}, {ident.age}, {ident.occupation or 'a patient'}, a patient talking to a doctor in a "
            f"{persona.setting or 'clinic'}. {style.personality} {chatty}{simple}".replace("  ", " ").strip(),
            f"Reply only with {first}'s spoken words, in the first person (I, me, my), in one to three short "
            f"sentences. Never say 'the patient', never speak as the doctor or as an assistant, never give "
            f"advice, never ask how you can help. Say only what you are told to say now or what you said "
            f"before; if it is not covered, say you're not sure, or no.",
        ]
    )


def turn_prompt(persona: Persona, emotion: str, plan: ReplyPlan) -> str:
    """This reply's feeling, the statements eligible now (never the others) and the scripted wording."""
    first = persona.identity.name.split()[0]
    lines = [f"Now {first} feels {emotion.replace('_', ' ')}."]
    extra = [s.says for s in plan.statements if s.says not in plan.text]
    if extra:  # facts the wording does not already hold word for word
        lines += ["Facts you can tell now:", *[f"- {says}" for says in extra]]
    lines.append(f'What {first} means to say now, in your own words: "{plan.text}"')
    return "\n".join(lines)


def history_window(history: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The last HISTORY_TURNS to HISTORY_TURNS + HISTORY_STEP - 1 exchanges: the window moves on in steps,
    so that most turns only add to the prompt of the last one (which the backend has cached)."""
    start = max(0, (len(history) - HISTORY_TURNS) // HISTORY_STEP * HISTORY_STEP)
    return history[start:]


def chat_messages(
    persona: Persona, emotion: str, plan: ReplyPlan, utterance: str, history: list[tuple[str, str]]
) -> tuple[Any, ...]:
    """The character (system), the recent exchanges as user/assistant messages, what to say now (system),
    and the learner's words as the user turn: the prompt up to the history's end is the last prompt's (plus
    the last exchange), so only the newest part is processed again. (The plan after the learner's words
    was a little faster, but the 1.5B model then answered it: "Thank you." to "Is it a sharp pain?".)"""
    from vpatient.inference import ChatMessage

    msgs = [ChatMessage("system", system_prompt(persona))]
    for learner, patient in history_window(history):
        msgs += [ChatMessage("user", learner), ChatMessage("assistant", patient)]
    msgs.append(ChatMessage("system", turn_prompt(persona, emotion, plan)))
    msgs.append(ChatMessage("user", utterance.strip() or "..."))
    return tuple(msgs)


MAX_RAW_CHARS = 4000
"""The most of the model's raw output kept with a turn (a misbehaving endpoint cannot fill the store)."""
TOKEN_SLACK = 2
"""A stream is cut after this many times max_tokens chunks, whatever the backend does with max_tokens."""


@dataclass
class _Spoken:
    """The sentences of the model's part released so far (thread-safe; closed once the caller moved on)."""

    sentences: list[str] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sentence: str, told: list[str]) -> bool:
        with self._lock:
            if self.closed:
                return False
            self.sentences.append(sentence)
            self.told += [t for t in told if t not in self.told]
            return True

    def close(self) -> tuple[list[str], list[str]]:
        with self._lock:
            self.closed = True
            return list(self.sentences), list(self.told)


@dataclass
class _Outcome:
    raw: str = ""
    ended: str = ""
    """Why the model's part ended early: a guard verdict or a backend failure ("" when it ended by itself)."""
    rejected: str = ""
    first_sentence_ms: float | None = None
    first_token_ms: float | None = None
    total_ms: float = 0.0
    tokens: int = 0


class LLMEngine:
    """Grounded LLM persona engine: `respond` (synchronous), `arespond` and `respond_streaming` (async,
    from any event loop)."""

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
        session_id: str | None = None,
        host: Any = None,
        own_core: bool = False,
    ):
        from vpatient.inference.shared import core_host

        self.persona = persona
        self.scripted = ScriptedEngine(persona, embedder)
        self.guard = Guard(Grounding(persona, embedder))
        self.core = core
        self.host = host or core_host()
        self.own_core = own_core
        self.backend_name = backend_name or type(core).__name__
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.session_id = session_id or f"llm-{uuid.uuid4().hex[:12]}"
        self._started = False
        self._warming: Any = None
        self.last_reply: Reply | None = None
        """The reply committed by the last respond_streaming, even one cut off by a barge-in."""

    # ------------------------------------------------------------------ public API
    def prepare(self) -> None:
        """Loads the model and has it read the character prompt now, in the background, so that the first
        reply only processes the learner's words and the plan (the prompt cache keeps the rest). Call it
        when the consultation opens; a failure here shows again, and is handled, at the first reply."""
        if self._warming is None:
            self._warming = self.host.submit(self._warm())

    def respond(self, utterance: str, *, interrupted: bool = False) -> Reply:
        plan = self.scripted.plan(utterance, interrupted=interrupted)
        if not plan.text.strip():
            return self.scripted.commit(utterance, plan, plan.text)
        spoken = _Spoken()
        try:
            outcome = self.host.run(self._speak(utterance, plan, spoken, None), self._budget())
        except TimeoutError:
            outcome = _Outcome(ended="the LLM did not answer in time")
        return self._finish(utterance, plan, spoken, outcome)

    def respond_scripted(self, utterance: str, *, interrupted: bool = False, reason: str) -> Reply:
        """The scripted wording at once, without asking the model (e.g. the server's LLM queue is too long);
        stored as an `llm-fallback` reply with the reason."""
        plan = self.scripted.plan(utterance, interrupted=interrupted)
        if not plan.text.strip():
            return self.scripted.commit(utterance, plan, plan.text)
        reply = self.last_reply = self.scripted.commit(utterance, plan, plan.text, mode="llm-fallback")
        reply.meta["llm"] = {
            "backend": self.backend_name,
            "model_sentences": 0,
            "completion_sentences": [],
            "fallback": reason,
            "skipped": True,
            "guard": {"passed": False, "reasons": [reason], "told": []},
        }
        return reply

    async def arespond(self, utterance: str, *, interrupted: bool = False) -> Reply:
        async def ignore(sentence: str) -> None:
            return None

        return await self.respond_streaming(utterance, ignore, interrupted=interrupted)

    async def respond_streaming(
        self,
        utterance: str,
        on_sentence: Callable[[str], Awaitable[None]],
        *,
        interrupted: bool = False,
    ) -> Reply:
        """Calls `on_sentence` (on the caller's loop) with each sentence as soon as it has passed the guard,
        then with the scripted completion, and returns the committed Reply. Cancelling the caller (barge-in)
        cancels the generation; nothing is committed then."""
        plan = await asyncio.to_thread(self.scripted.plan, utterance, interrupted=interrupted)
        if not plan.text.strip():
            return self.scripted.commit(utterance, plan, plan.text)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        spoken = _Spoken()

        def emit(sentence: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, sentence)

        future = self.host.submit(self._speak(utterance, plan, spoken, emit))
        future.add_done_callback(lambda f: loop.call_soon_threadsafe(queue.put_nowait, None))
        deadline = loop.time() + self._budget()
        outcome: _Outcome | None = None
        try:
            while True:
                item = await asyncio.wait_for(queue.get(), max(0.01, deadline - loop.time()))
                if item is None:
                    break
                await on_sentence(item)
            outcome = future.result()
        except TimeoutError:
            future.cancel()
            outcome = _Outcome(ended="the LLM did not answer in time")
        except asyncio.CancelledError:
            future.cancel()  # barge-in: keep only what was released
            self.last_reply = self._commit_interrupted(utterance, plan, spoken, outcome or _Outcome())
            raise
        except BaseException:
            future.cancel()
            spoken.close()
            raise
        reply = self.last_reply = self._finish(utterance, plan, spoken, outcome)
        for sentence in reply.meta["llm"].get("completion_sentences", []):
            await on_sentence(sentence)
        return reply

    def close(self) -> None:
        """Stops this session's generation; the shared core stays for the other sessions (unless owned)."""
        core = self.core
        if hasattr(core, "cancel_session"):
            self.host.call_soon(core.cancel_session, self.session_id)
        if self.own_core and hasattr(core, "aclose"):
            with contextlib.suppress(Exception):  # best effort on the way out
                self.host.run(core.aclose(), 30)

    # ------------------------------------------------------------------ internals
    def _budget(self) -> float:
        # The first call also loads the model (up to 4 x timeout_s); later ones only generate.
        return self.timeout_s * (1 if self._started else 5) + 5

    async def _ensure_started(self) -> None:
        if not self._started:
            await asyncio.wait_for(self.core.start(), self.timeout_s * 4)
            self._started = True

    async def _warm(self) -> None:
        from vpatient.inference import ChatMessage, GenerationRequest

        await self._ensure_started()
        request = GenerationRequest(
            session_id=self.session_id,
            messages=(ChatMessage("system", system_prompt(self.persona)),),
            max_tokens=1,
            temperature=0.0,
            timeout_s=self.timeout_s * 4,
        )
        async with self.core.stream(request) as handle:
            async for _ in handle:
                pass

    async def _speak(
        self, utterance: str, plan: ReplyPlan, spoken: _Spoken, emit: Callable[[str], None] | None
    ) -> _Outcome:
        """Runs on the host loop: generate, guard each sentence, release it. Never commits."""
        from vpatient.inference import GenerationRequest

        out = _Outcome()
        t0 = time.perf_counter()
        required = [s.id for s in plan.statements]
        eligible = set(required) | set(self.scripted.state.told)
        limit = MAX_SENTENCES[self.persona.style.talkativeness]
        if self._warming is not None:  # the character prompt first, so that this request finds it cached
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(self._warming)
        try:
            await self._ensure_started()
        except _BACKEND_ERRORS as exc:
            out.ended = f"backend failed: {type(exc).__name__}: {exc}"
            return out
        request = GenerationRequest(
            session_id=self.session_id,
            messages=chat_messages(
                self.persona, self.scripted.affect.emotion, plan, utterance, self.scripted.state.history
            ),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            stop=("\nDoctor:", "Doctor:", "\n\n", "<|", "\nUser:", "\nuser"),
            timeout_s=self.timeout_s,
        )
        t_gen = time.perf_counter()
        buffer = ""

        async def release(sentence: str) -> bool:
            """True to go on generating."""
            sentence = _clean(sentence, self.persona.identity.name)
            if not sentence:
                return True
            verdict = await asyncio.to_thread(
                self.guard.check_sentence, sentence, eligible=eligible, plan_text=plan.text
            )
            if not verdict.ok:
                out.ended = "guard: " + "; ".join(verdict.reasons)
                out.rejected = sentence
                return False
            if not spoken.add(sentence, verdict.told):
                return False
            if out.first_sentence_ms is None:
                out.first_sentence_ms = round((time.perf_counter() - t_gen) * 1000, 1)
            if emit is not None:
                emit(sentence)
            done = required and set(required) <= set(spoken.told)
            return not done and len(spoken.sentences) < limit

        try:
            async with self.core.stream(request) as handle:
                async for chunk in handle:
                    if out.first_token_ms is None:
                        out.first_token_ms = round((time.perf_counter() - t_gen) * 1000, 1)
                    out.tokens += 1
                    if out.tokens > self.max_tokens * TOKEN_SLACK:
                        out.ended = f"the backend sent more than {self.max_tokens} tokens (max_tokens ignored); cut"
                        break
                    if len(out.raw) < MAX_RAW_CHARS:
                        out.raw += chunk.text
                    buffer += chunk.text
                    parts = sentences(buffer)
                    if len(parts) < 2:
                        continue
                    buffer = parts[-1]
                    for part in parts[:-1]:
                        if not await release(part):
                            return out
                for part in sentences(buffer):
                    if not await release(part):
                        return out
        except _BACKEND_ERRORS as exc:
            out.ended = f"backend failed: {type(exc).__name__}: {exc}"
        finally:
            out.total_ms = round((time.perf_counter() - t0) * 1000, 1)
        return out

    def _completion(self, plan: ReplyPlan, said: list[str], told: list[str]) -> list[str]:
        """The scripted sentences the model has not said: every statement not told, and (unless the plan is
        small talk) every other sentence of the scripted wording that no spoken sentence covers."""
        parts = sentences(plan.text)
        if not said:
            return parts
        owner: dict[str, str] = {}
        for s in plan.statements:
            for unit in sentences(s.says):
                owner.setdefault(unit, s.id)
        names = [self.persona.identity.name]
        # a greeting or thanks of the script is not worth adding after the model's words
        others = [p for p in parts if p not in owner and not is_conversational(p, names)]
        covered = {p for p in parts if p not in owner and p not in others}
        if others and plan.kind not in NO_COMPLETION:
            sims = self.guard.grounding.similarity(others, said)
            covered |= {p for i, p in enumerate(others) if sims[i].max() >= COVERED}
            if any(_HEDGE.search(s) for s in said):
                covered |= {p for p in others if _HEDGE.search(p)}
        # a statement's sentence the model has closely paraphrased is not said again (even when the
        # paraphrase is too loose to count as telling it)
        units = [p for p in parts if p in owner and owner[p] not in told]
        if units:
            sims = self.guard.grounding.similarity(units, said)
            covered |= {p for i, p in enumerate(units) if sims[i].max() >= PARAPHRASED}
            covered |= {p for p in units if _restated(p, said)}
        out: list[str] = []
        for p in parts:
            sid = owner.get(p)
            if sid is not None:
                if sid not in told and p not in covered:
                    out.append(p)
            elif plan.kind not in NO_COMPLETION and p not in covered:
                out.append(p)
        return out

    def _commit_interrupted(self, utterance: str, plan: ReplyPlan, spoken: _Spoken, outcome: _Outcome) -> Reply:
        """Cut off: only the sentences released so far were said, and only their statements told."""
        said, told = spoken.close()
        kept = dataclasses.replace(plan, statements=[s for s in plan.statements if s.id in told])
        reply = self.scripted.commit(utterance, kept, " ".join(said), mode="llm")
        reply.meta["llm"] = {"backend": self.backend_name, "interrupted": True, "model_sentences": len(said)}
        return reply

    def _finish(self, utterance: str, plan: ReplyPlan, spoken: _Spoken, outcome: _Outcome) -> Reply:
        said, told = spoken.close()
        completion = self._completion(plan, said, told)
        text = " ".join([*said, *completion]).strip() or plan.text
        mode = "llm" if said and not completion else "llm-partial" if said else "llm-fallback"
        reply = self.scripted.commit(utterance, plan, text, mode=mode)
        meta: dict[str, Any] = {
            "backend": self.backend_name,
            "raw": outcome.raw[:MAX_RAW_CHARS] or None,
            "model_sentences": len(said),
            "completion_sentences": completion,
            "first_token_ms": outcome.first_token_ms,
            "first_sentence_ms": outcome.first_sentence_ms,
            "total_ms": outcome.total_ms,
            "tokens": float(outcome.tokens),
        }
        if outcome.ended:
            meta["ended"] = outcome.ended
            if outcome.rejected:
                meta["rejected"] = outcome.rejected
        if mode == "llm-fallback":
            meta["fallback"] = outcome.ended or "the model said nothing usable"
        elif mode == "llm-partial":
            meta["completed"] = outcome.ended or "the model left out part of the plan"
        meta["guard"] = {
            "passed": bool(said) and not outcome.rejected,
            "reasons": [outcome.ended] if outcome.ended else [],
            "told": told,
        }
        reply.meta["llm"] = meta
        return reply


RESTATED = 0.6
"""Share of a scripted sentence's content words, or of one spoken sentence's, found in the other at which the
model counts as having said it (it said part of it: "Three or four times a week." for "Three or four times a
week now, whenever I have to walk any distance.")."""


def _restated(unit: str, said: list[str]) -> bool:
    """The model already said this sentence, or the core of it: adding it would repeat the reply."""
    words = content_words(unit)
    if not words:
        return False
    for sentence in said:
        spoken = content_words(sentence)
        shared = len(words & spoken)
        if spoken and (shared >= RESTATED * len(words) or shared >= max(2, RESTATED * len(spoken) + 0.5)):
            return True
    return False


def _clean(sentence: str, name: str) -> str:
    text = sentence.strip().strip('"').strip()
    prefixes = ["You:", "Patient:", "Me:", "Assistant:", f"{name}:", f"{name.split()[0]}:"]
    for prefix in prefixes:
        if text.lower().startswith(prefix.lower()):
            text = text[len(prefix) :].strip().strip('"').strip()
    text = re.sub(r"^\*+|\*+$", "", text).strip()
    return " ".join(text.split())
