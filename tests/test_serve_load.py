"""Graceful degradation under load (vpatient.serve.load): when the shared LLM queue holds `max_queue` waiting
requests or more, a served reply is the persona's scripted wording at once, stored as such, and the model is
not asked; below it the model phrases the reply. The queue is a real inference core whose fake backend is
held busy by other sessions' requests; the persona engine (and its scripted wording) is the real one."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from vpatient.consultation import Consultation
from vpatient.inference import ChatMessage, GenerationRequest
from vpatient.inference.core import InferenceCore
from vpatient.inference.fake import FakeStreamRunner
from vpatient.persona.engine import ScriptedEngine
from vpatient.persona.llm_engine import LLMEngine
from vpatient.pipeline.context import SessionContext
from vpatient.pipeline.messages import PatientText, UserText
from vpatient.pipeline.stage import run_stage
from vpatient.serve.load import LoadPolicy, ReplySource, queued_requests
from vpatient.store import Store

pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')

ROOT = Path(__file__).resolve().parent.parent
PERSONA = ROOT / "personas" / "chest_pain_exertional.yaml"
MODEL_WORDS = "Right. I smoke about fifteen a day, since I was sixteen."


class BusyBackend:
    """A fake backend with one place: other sessions' requests hold it (and queue) until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.runner = FakeStreamRunner(self._reply, max_batch_size=1)

    def _reply(self, request: GenerationRequest) -> str:
        if request.session_id.startswith("other-"):
            self.release.wait(30)
            return "Fine."
        return MODEL_WORDS


def _served_stage(consult: Consultation, policy: LoadPolicy) -> Any:
    from vpatient.serve.connection import ServedEngineStage

    conn = SimpleNamespace(hub=SimpleNamespace(scripted_under_load=0), sent=[])
    conn.send = conn.sent.append
    conn.state = lambda state: conn.sent.append({"type": "state", "state": state})
    return ServedEngineStage(conn, policy, consult, SessionContext(), consult.persona)


def _ask(stage: Any, text: str) -> tuple[list[str], Any]:
    msg = UserText(text, 0.0, 1.0, np.zeros(160, dtype=np.float32), 0.0, 1.0)
    out = asyncio.run(run_stage(stage, [msg]))
    return [m.text for m in out if isinstance(m, PatientText) and m.text], stage.replies[max(stage.replies)]


def test_the_decision_is_typed_and_follows_the_queue(chest_pain, embedder) -> None:  # type: ignore[no-untyped-def]
    scripted = ScriptedEngine(chest_pain, embedder)
    assert queued_requests(scripted) is None
    d = LoadPolicy(2).decide(scripted)
    assert d.source is ReplySource.MODEL and d.queued is None and not d.scripted

    def llm(waiting: int) -> Any:  # the shape the policy reads: engine.core.scheduler.num_waiting
        return SimpleNamespace(
            core=SimpleNamespace(scheduler=SimpleNamespace(num_waiting=waiting)), respond_scripted=lambda *a, **k: None
        )

    assert LoadPolicy(2).decide(llm(1)).source is ReplySource.MODEL
    d = LoadPolicy(2).decide(llm(2))
    assert d.source is ReplySource.SCRIPTED and d.scripted and d.queued == 2 and d.limit == 2
    assert "2 LLM requests waiting" in d.reason
    assert LoadPolicy(0).decide(llm(50)).source is ReplySource.MODEL  # 0: never shed


def test_a_long_llm_queue_gives_the_scripted_wording_at_once(chest_pain, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    busy = BusyBackend()
    core = InferenceCore(busy.runner)
    engine = LLMEngine(chest_pain, embedder, core, backend_name="fake", timeout_s=20, own_core=True)
    consult = Consultation(chest_pain, PERSONA, engine, Store(f"sqlite:///{tmp_path / 'vp.db'}"))
    stage = _served_stage(consult, LoadPolicy(max_queue=2))
    others = []
    try:
        # three other students' requests: one runs (held), two wait in the shared queue
        for i in range(3):
            msgs = [ChatMessage("user", "Hello")]
            req = GenerationRequest(session_id=f"other-{i}", messages=msgs, max_tokens=8, timeout_s=30)
            others.append(engine.host.submit(core.generate(req)))
        deadline = time.monotonic() + 20
        while core.scheduler.num_waiting < 2:
            assert time.monotonic() < deadline, "the other requests never queued"
            time.sleep(0.02)

        t0 = time.perf_counter()
        texts, reply = _ask(stage, "Do you smoke?")
        took = time.perf_counter() - t0
        # the reference: the real scripted engine's wording for the same question
        expected = ScriptedEngine(chest_pain, embedder).respond("Do you smoke?").text
        assert " ".join(texts) == reply.text == expected
        assert reply.mode == "llm-fallback" and reply.meta["llm"]["skipped"]
        assert "waiting (limit 2)" in reply.meta["llm"]["fallback"]
        assert took < 5.0  # no wait behind the busy model
        assert not any(r.startswith(engine.session_id) for r in busy.runner.started)  # never asked
        [decision] = stage.decisions
        assert decision.source is ReplySource.SCRIPTED and decision.queued == 2
        assert stage.conn.hub.scripted_under_load == 1
        stored = consult.store.transcript(consult.session_id).turns
        assert [t.role for t in stored] == ["learner"]  # the patient's turn is stored after playback

        # the queue drains: the model phrases the next reply
        busy.release.set()
        for f in others:
            f.result(20)
        texts, reply = _ask(stage, "How many do you smoke a day?")
        assert reply.mode == "llm" and texts == ["Right.", "I smoke about fifteen a day, since I was sixteen."]
        assert stage.decisions[-1].source is ReplySource.MODEL and stage.decisions[-1].queued == 0
    finally:
        busy.release.set()
        engine.close()
