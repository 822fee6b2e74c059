"""`vpatient serve` as a real uvicorn process with the real models (MiniLM, Whisper tiny.en, hibari), driven
over loopback by the Python client: typed and spoken turns, storage order, resume, bad input, a client that
vanishes mid-reply, and `vpatient chat/talk --server`."""

from __future__ import annotations

import json
import shutil
import stat
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')
pytest.importorskip("websockets", reason='needs the serve extra: pip install -e ".[serve]"')

from vpatient.cli import main
from vpatient.serve.client import ServerClient, ServerError
from vpatient.store import Store

pytestmark = pytest.mark.slow
CASE = "chest_pain_exertional"


def _health(url: str) -> dict:  # type: ignore[type-arg]
    import urllib.request

    with urllib.request.urlopen(f"{url}/api/health", timeout=10) as res:
        out: dict = json.loads(res.read())  # type: ignore[type-arg]
        return out


def test_cases_and_health(serve_server) -> None:  # type: ignore[no-untyped-def]
    client = ServerClient(serve_server.url)
    cases = {c["id"]: c for c in client.cases()}
    assert len(cases) == 6 and "Robert Hale" in cases[CASE]["brief"]
    health = _health(serve_server.url)
    assert health["ok"] and health["speech"] and health["max_sessions"] == 6
    with pytest.raises(ServerError) as err:
        client.start("no_such_case")
    assert err.value.code == "not_found"


def test_typed_turns_are_stored_in_order_and_a_reconnect_resumes(serve_server) -> None:  # type: ignore[no-untyped-def]
    client = ServerClient(serve_server.url)
    sid = client.start(CASE)
    hello = client.connect(sid)
    assert hello["session"] == sid and not hello["resumed"] and hello["turns"] == []
    first = client.say("When did the chest pain start?")
    assert first.turn == 1 and "three weeks" in first.text
    assert first.states[-2:] == ["thinking", "speaking"] and first.sentences
    assert first.metrics["voice_to_voice_ms"] < 5000
    stored = client.transcript(sid)
    assert [t["role"] for t in stored["turns"]] == ["learner", "patient"]
    assert stored["turns"][1]["text"] == first.text and stored["turns"][1]["disclosed"]
    client.close()  # the connection drops; the consultation is not over

    again = ServerClient(serve_server.url)
    hello = again.connect(sid)
    assert hello["resumed"] and [t["text"] for t in hello["turns"]] == [t["text"] for t in stored["turns"]]
    second = again.say("Do you smoke?")
    assert second.turn == 2 and "fifteen" in second.text
    repeat = again.say("When did the chest pain start?")
    assert repeat.turn == 3 and repeat.text != first.text  # the patient remembers having said it
    again.end()
    stored = again.transcript(sid)
    assert stored["status"] == "ended" and len(stored["turns"]) == 6
    with pytest.raises(ServerError) as err:
        ServerClient(serve_server.url).connect(sid)
    assert err.value.code == "gone"


@pytest.mark.skipif(shutil.which("flite") is None, reason="Debian flite (the learner's voice) is not installed")
def test_spoken_turn_streamed_from_a_wav(serve_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from vpatient.speech.audio import load_audio, resample
    from vpatient.speech.learner import learner_voices, synthesise_utterances

    [wav] = synthesise_utterances(["Do you smoke?"], tmp_path, learner_voices()[0])
    audio = load_audio(wav, 16000)
    audio48 = resample(np.concatenate([np.zeros(4000, np.float32), audio, np.zeros(4000, np.float32)]), 16000, 48000)
    client = ServerClient(serve_server.url)
    sid = client.start(CASE)
    hello = client.connect(sid, voice=True)
    assert hello["voice"] and hello["speech"]
    reply = client.speak(audio48, 48000)  # a browser's rate; push-to-talk released at the end
    assert "smoke" in reply.learner.lower() and "fifteen" in reply.text
    assert "hearing" in reply.states and "speaking" in reply.states
    rate = reply.audio[0][0]
    assert sum(a.size for _, a in reply.audio) / rate > 1.0  # the patient's voice came back
    assert reply.metrics["stt_ms"] > 0
    client.end()
    turns = Store(serve_server.db).transcript(sid).turns
    assert [t.role for t in turns] == ["learner", "patient"] and "smoke" in turns[0].text.lower()
    assert turns[0].meta["stt_ms"] > 0 and turns[1].text == reply.text
    # both turns' audio is kept for review, in the session's own folder, readable by the server's user only
    folder = Path(Store(serve_server.db).session(sid).meta["audio_dir"])
    assert folder.name == sid and stat.S_IMODE(folder.stat().st_mode) == 0o700
    for turn in turns:
        wav = folder / turn.meta["audio"]
        assert wav.stat().st_size > 10000 and stat.S_IMODE(wav.stat().st_mode) == 0o600


def test_bad_input_gets_clear_errors_and_the_server_goes_on(serve_server) -> None:  # type: ignore[no-untyped-def]
    client = ServerClient(serve_server.url)
    client.connect(client.start(CASE))
    other = ServerClient(serve_server.url)
    other.connect(other.start(CASE))
    client.ws.send("this is not json")
    client.send({"type": "dance"})
    client.send({"type": "text", "text": "x" * 3000})
    client.send({"type": "audio", "sample_rate": 12345})
    client.ws.send(b"\x01\x02\x03")
    client.ws.send(bytes(70000))
    codes: list[str] = []
    while len(codes) < 6:
        msg = client._next(10)
        if msg["type"] == "error":
            codes.append(msg["code"])
    assert codes == ["bad_json", "unknown_type", "too_long", "bad_rate", "bad_audio", "frame_too_large"]
    assert "three weeks" in other.say("When did the chest pain start?").text  # others unaffected
    assert "fifteen" in client.say("Do you smoke?").text  # and this client goes on
    client.ws.send(bytes(2 * 1024 * 1024))  # over the server's frame limit: this connection is closed
    with pytest.raises(Exception):  # noqa: B017 - the websockets library's ConnectionClosed
        for _ in range(5):
            client._next(10)
    assert "fifteen" in other.say("Do you smoke?").text
    other.end()
    assert _health(serve_server.url)["ok"]


def test_a_client_that_vanishes_mid_reply_frees_its_connection(serve_server) -> None:  # type: ignore[no-untyped-def]
    client = ServerClient(serve_server.url)
    sid = client.start(CASE)
    client.connect(sid, voice=True)
    client.send({"type": "text", "text": "When did the chest pain start?"})
    while client._next(30)["type"] != "audio":  # the patient has started speaking
        pass
    client.ws.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _health(serve_server.url)["connected"]:
        time.sleep(0.2)
    assert _health(serve_server.url)["connected"] == 0
    turns = Store(serve_server.db).transcript(sid).turns
    assert [t.role for t in turns] == ["learner", "patient"]  # the reply under way was stored


def test_chat_and_talk_cli_against_the_server(serve_server, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "lines.txt"
    script.write_text("When did the chest pain start?\nDo you smoke?\n")
    assert main(["chat", "--server", serve_server.url, "--persona", CASE, "--script", str(script), "--quiet"]) == 0
    sid = capsys.readouterr().out.strip()
    stored = ServerClient(serve_server.url).transcript(sid)
    assert stored["status"] == "ended" and len(stored["turns"]) == 4 and "fifteen" in stored["turns"][3]["text"]
    if shutil.which("flite") is None:
        return
    out = tmp_path / "talk"
    one = tmp_path / "one.txt"
    one.write_text("Do you smoke?\n")
    assert main(["talk", "--server", serve_server.url, "--script", str(one), "--fast", "--out-dir", str(out)]) == 0
    transcript = json.loads((out / "transcript.json").read_text())
    assert [t["role"] for t in transcript["turns"]] == ["learner", "patient"]
    assert (out / "turn01_patient.wav").stat().st_size > 10000
