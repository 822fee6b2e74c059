"""Issue 15: hostile input and faults end as one clear error per file or turn; nothing said is lost."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT
from vpatient.cli import main
from vpatient.testing import HashingEmbedder

PERSONA = str(ROOT / "personas" / "chest_pain_exertional.yaml")


@pytest.fixture(autouse=True)
def _fast_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    import vpatient.embeddings

    monkeypatch.setattr(vpatient.embeddings, "default_embedder", lambda *a, **k: HashingEmbedder())


def _script(tmp_path: Path, *lines: str) -> str:
    path = tmp_path / "script.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


# ---------------------------------------------------------------- defect 4: the database fails mid-consultation
def test_database_failure_mid_chat_keeps_the_reply_and_writes_the_transcript(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sqlalchemy import event

    from vpatient.store import Store

    original = Store.add_turn
    calls = {"n": 0}

    def add_turn(self: Store, *args: object, **kw: object) -> int:
        calls["n"] += 1
        if calls["n"] == 4:  # the patient's second reply: the disk turns read-only under us
            event.listen(self.engine, "connect", lambda conn, _rec: conn.execute("PRAGMA query_only=ON"))
            self.engine.dispose()
        return original(self, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "add_turn", add_turn)
    out = tmp_path / "t.json"
    script = _script(tmp_path, "What brings you in today?", "Do you smoke?", "Any allergies?")
    code = main(["chat", "--persona", PERSONA, "--script", script, "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert "Robert Hale: I smoke about fifteen a day." in captured.out  # the reply computed is shown
    assert "Any allergies?" not in captured.out  # and the consultation stops there
    assert "cannot store a patient turn" in captured.err and "read-only" in captured.err
    assert "Traceback" not in captured.err
    data = json.loads(out.read_text())
    assert [t["role"] for t in data["turns"]] == ["learner", "patient", "learner", "patient"]
    assert data["turns"][3]["text"].startswith("I smoke about fifteen a day.")
    assert data["status"] == "incomplete" and "read-only" in data["store_error"]


def test_without_out_the_transcript_is_kept_beside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vpatient.errors import StoreError
    from vpatient.store import Store

    def fail(self: Store, *args: object, **kw: object) -> int:
        raise StoreError("cannot store a learner turn in the session database x: database or disk is full")

    monkeypatch.setattr(Store, "add_turn", fail)
    monkeypatch.chdir(tmp_path)
    code = main(["chat", "--persona", PERSONA, "--script", _script(tmp_path, "Do you smoke?")])
    assert code == 2
    [kept] = list(tmp_path.glob("vpatient-unsaved-*.json"))
    assert kept.stat().st_mode & 0o777 == 0o600
    assert json.loads(kept.read_text())["turns"][1]["text"].startswith("I smoke about fifteen a day.")
    assert str(kept.name) in capsys.readouterr().err


# ---------------------------------------------------------------- defect 6: bad text input
def test_latin1_line_on_stdin_is_skipped_and_the_chat_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = b"caf\xe9 ol\xe9\nDo you smoke?\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    assert main(["chat", "--persona", PERSONA]) == 0
    captured = capsys.readouterr()
    assert "not UTF-8 text and was skipped" in captured.err
    assert "I smoke about fifteen a day." in captured.out


@pytest.mark.parametrize("kind", ["missing", "latin1", "folder"])
def test_bad_script_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    script = tmp_path / "s.txt"
    if kind == "latin1":
        script.write_bytes(b"Do you smoke, se\xf1or?\n")
    elif kind == "folder":
        script.mkdir()
    assert main(["chat", "--persona", PERSONA, "--script", str(script)]) == 2
    err = capsys.readouterr().err
    assert str(script) in err and {"missing": "no such", "latin1": "not UTF-8", "folder": "is a folder"}[kind] in err


def test_one_bad_transcript_does_not_stop_a_grade_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"id": '=HYPERLINK("x")', "turns": [{"role": "learner", "text": "Hello"}]}))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"id": "\x1b]0;pwned\x07", "turns": [{"role": "learner", "text": "Hi"}]}))
    bad = {
        "latin1.json": b'{"id": "caf\xe9", "turns": []}',
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "digits.json": b'{"id": "d", "turns": [{"role": "learner", "text": "x", "start": ' + b"9" * 5000 + b"}]}",
        "nan.json": b'{"id": "n", "turns": [{"role": "learner", "text": "x", "start": NaN}]}',
        "huge.json": b'{"id": "h", "turns": [{"role": "learner", "text": "x", "start": 1e999}]}',
    }
    paths = []
    for name, content in bad.items():
        (tmp_path / name).write_bytes(content)
        paths.append(str(tmp_path / name))
    (tmp_path / "folder.json").mkdir()
    paths += [str(tmp_path / "folder.json"), str(tmp_path / "missing.json")]
    csv_out = tmp_path / "grades.csv"
    html = tmp_path / "r.html"
    code = main(
        [
            "grade",
            str(good),
            *paths,
            str(other),
            "--rubric",
            "history_taking",
            "--csv",
            str(csv_out),
            "--html",
            str(html),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and "\x1b" not in err
    for path in paths:
        assert path in err, path
    rows = csv_out.read_text().splitlines()
    assert len(rows) == 3  # header + the two good transcripts
    assert rows[1].startswith("\"'=HYPERLINK")  # quoted as text: no formula for a spreadsheet to run
    assert len(list(tmp_path.glob("r-*.html"))) == 2


def test_report_names_of_different_ids_never_collide(tmp_path: Path) -> None:
    from vpatient.cli.grade_cmd import _html_path

    used: set[Path] = set()
    names = {_html_path(str(tmp_path / "r.html"), tid, True, used) for tid in ("a/b", "a_b", "a?b", "a/b")}
    assert len(names) == 4


@pytest.mark.parametrize("option", ["--out", "--html", "--csv"])
def test_output_option_pointing_at_a_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps({"id": "t", "turns": [{"role": "learner", "text": "Hello"}]}))
    if option == "--out":
        argv = ["chat", "--persona", PERSONA, "--script", _script(tmp_path, "Hello"), "--out", str(tmp_path)]
    else:
        argv = ["grade", str(transcript), "--rubric", "history_taking", option, str(tmp_path)]
    assert main(argv) == 2
    assert f"{tmp_path}: is a folder" in capsys.readouterr().err


@pytest.mark.parametrize(("backend", "needs"), [("openai", "--endpoint"), ("transformers", "--model")])
def test_llm_backend_without_its_options_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], backend: str, needs: str
) -> None:
    argv = ["chat", "--persona", PERSONA, "--script", _script(tmp_path, "Hi"), "--engine", "llm", "--backend", backend]
    assert main(argv) == 2
    assert f"--backend {backend} needs {needs}" in capsys.readouterr().err


def test_stt_model_name_is_not_fetched_without_opt_in() -> None:
    pytest.importorskip("faster_whisper")
    from vpatient.errors import UsageError
    from vpatient.speech.stt import WhisperSTT

    with pytest.raises(UsageError, match="--stt-download"):
        WhisperSTT("small.en")


def test_printed_password_is_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["sessions", "--db", "postgresql+psycopg://vp:hunter2@127.0.0.1:1/x", "list"])
    assert code == 2
    err = capsys.readouterr().err
    assert "hunter2" not in err and "vp:***@" in err


# ---------------------------------------------------------------- defect 2: bad WAV files in a voice consultation
def _wav(rate_in_header: int, seconds: float = 1.0) -> bytes:
    buf = io.BytesIO()
    tone = (0.3 * np.sin(np.linspace(0, 2 * np.pi * 220 * seconds, int(16000 * seconds))) * 32767).astype("<i2")
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(tone.tobytes())
    data = bytearray(buf.getvalue())
    data[24:28] = struct.pack("<I", rate_in_header)
    return bytes(data)


HOSTILE = {
    "rate0.wav": _wav(0),
    "rate1.wav": _wav(1),  # would be resampled into 4.3 GiB
    "oversized_chunk.wav": b"RIFF" + struct.pack("<I", 22) + b"WAVEdata" + struct.pack("<I", 0x7FFFFFF0) + b"\0" * 10,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_wav_headers_are_audio_file_errors(tmp_path: Path, name: str) -> None:
    from vpatient.speech.audio import AudioFileError, load_audio

    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    with pytest.raises(AudioFileError, match=name):
        load_audio(path)


def test_bad_wavs_are_skipped_and_the_consultation_goes_on(tmp_path: Path, chest_pain) -> None:  # type: ignore[no-untyped-def]
    from vpatient.consultation import Consultation
    from vpatient.persona.engine import ScriptedEngine
    from vpatient.pipeline.session import VoiceSession, write_outputs
    from vpatient.speech.stt import FakeSTT
    from vpatient.speech.tts import FakeTTS
    from vpatient.speech.vad import EndpointConfig, EnergyVAD
    from vpatient.store import Store

    good = tmp_path / "good.wav"
    good.write_bytes(_wav(16000))
    files = [good]
    for name, content in HOSTILE.items():
        (tmp_path / name).write_bytes(content)
        files.append(tmp_path / name)
    files.append(good)
    consult = Consultation(
        chest_pain,
        Path(PERSONA),
        ScriptedEngine(chest_pain, HashingEmbedder()),
        Store(f"sqlite:///{tmp_path / 's.db'}"),
    )
    out = tmp_path / "out"
    session = VoiceSession(
        consult,
        chest_pain,
        vad=EnergyVAD(),
        stt=FakeSTT(["What brings you in today?", "Do you smoke?"]),
        tts=FakeTTS(),
        out_dir=out,
        endpoint=EndpointConfig(silence_ms=400, hesitant_silence_ms=800),
    )
    result = asyncio.run(session.run_files(files, realtime=False))
    consult.end()
    transcript, timings = write_outputs(consult, result, out)
    assert len(result.metrics) == 2  # both good files answered
    for name in HOSTILE:
        assert any(name in e for e in result.errors), (name, result.errors)
    data = json.loads(transcript.read_text())
    assert [t["text"] for t in data["turns"] if t["role"] == "learner"] == [
        "What brings you in today?",
        "Do you smoke?",
    ]
    assert timings.is_file()
    # privacy: the learner's recorded voice and the transcript are the owner's only
    for path in [transcript, timings, *out.glob("*.wav")]:
        assert path.stat().st_mode & 0o077 == 0, path
    assert out.stat().st_mode & 0o077 == 0


class _SlowSTT:
    """Answers after a wall-clock pause: with --fast, stream seconds run ahead of it."""

    name = "slow-fake"

    def __init__(self, texts: list[str]):
        self.texts = list(texts)

    def transcribe(self, audio: np.ndarray, *, prompt: str = "") -> str:
        import time

        if audio.size < 8000:
            return ""
        time.sleep(0.5)
        return self.texts.pop(0) if self.texts else ""


def test_fast_files_wait_for_each_reply_instead_of_running_one_behind(tmp_path: Path, chest_pain) -> None:  # type: ignore[no-untyped-def]
    from vpatient.consultation import Consultation
    from vpatient.persona.engine import ScriptedEngine
    from vpatient.pipeline.session import VoiceSession
    from vpatient.speech.tts import FakeTTS
    from vpatient.speech.vad import EndpointConfig, EnergyVAD
    from vpatient.store import Store

    good = tmp_path / "good.wav"
    good.write_bytes(_wav(16000))
    consult = Consultation(
        chest_pain,
        Path(PERSONA),
        ScriptedEngine(chest_pain, HashingEmbedder()),
        Store(f"sqlite:///{tmp_path / 's.db'}"),
    )
    session = VoiceSession(
        consult,
        chest_pain,
        vad=EnergyVAD(),
        stt=_SlowSTT(["Do you smoke?", "Any allergies?"]),
        tts=FakeTTS(),
        out_dir=tmp_path / "out",
        endpoint=EndpointConfig(silence_ms=400, hesitant_silence_ms=800),
    )
    session.warm_up = _no_warm_up  # type: ignore[method-assign]
    # the limit is 5 s per file: as wall-clock time it is plenty; as stream time it passes in a few milliseconds
    result = asyncio.run(session.run_files([good, good], realtime=False, turn_timeout_s=5.0))
    assert not [e for e in result.errors if "no reply" in e], result.errors
    turns = consult.transcript.turns
    assert [(t.role, t.text) for t in turns[:2]] == [("learner", "Do you smoke?"), ("patient", turns[1].text)]
    assert "smoke" in turns[1].text
    assert [t.role for t in turns] == ["learner", "patient", "learner", "patient"]


async def _no_warm_up() -> None:
    return None


# ---------------------------------------------------------------- defect 8: which rubric is used
def test_a_rubrics_folder_in_the_working_directory_does_not_replace_the_shipped_rubric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vpatient.grading.rubric import resolve
    from vpatient.shipped import RUBRICS

    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "history_taking.yaml").write_text("not: a rubric\n")
    monkeypatch.chdir(tmp_path)
    assert resolve("history_taking") == RUBRICS / "history_taking.yaml"
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps({"id": "t", "turns": [{"role": "learner", "text": "Hello"}]}))
    assert main(["grade", str(transcript), "--rubric", "history_taking"]) == 0
    assert f"rubric history_taking: {RUBRICS / 'history_taking.yaml'}" in capsys.readouterr().err
