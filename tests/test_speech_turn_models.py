"""End of turn and recognition with the real packaged models: Smart Turn v3.2 (from the pipecat-ai wheel),
Silero VAD, faster-whisper tiny.en, flite learner voices. Speech with pauses inside the sentence must not
be cut off. No timing asserts (speed is measured by `vpatient bench latency`)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faster_whisper", reason='needs the speech extra: pip install -e ".[speech]"')

from vpatient.errors import ModelUnavailableError
from vpatient.speech.audio import STT_RATE, resample, write_wav
from vpatient.speech.bench import normalise, wer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="Debian flite not installed (scripts/setup.sh)"),
]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def smart_turn():  # type: ignore[no-untyped-def]
    from vpatient.speech.turn import SmartTurn

    try:
        return SmartTurn()
    except ModelUnavailableError as exc:
        pytest.skip(f"{exc}")


def _say(voice: str, text: str) -> np.ndarray:
    from vpatient.speech.tts import FliteTTS

    tts = FliteTTS(voice)
    return resample(tts.synthesize(text), tts.sample_rate, STT_RATE)


@pytest.mark.parametrize("voice", ["kal16", "slt", "rms"])
def test_smart_turn_hears_a_finished_question_and_a_trailing_and(smart_turn, voice: str) -> None:  # type: ignore[no-untyped-def]
    pause = np.zeros(int(0.2 * STT_RATE), dtype=np.float32)
    done = smart_turn.complete_prob(np.concatenate([_say(voice, "What brings you in today?"), pause]))
    unfinished = smart_turn.complete_prob(np.concatenate([_say(voice, "I have had this pain in my chest and"), pause]))
    assert done >= 0.5 > unfinished


def test_smart_turn_is_found_in_the_installed_package(smart_turn) -> None:  # type: ignore[no-untyped-def]
    from vpatient.speech.turn import smart_turn_path

    path = smart_turn_path()
    assert path.name == "smart-turn-v3.2-cpu.onnx" and path.stat().st_size > 8_000_000


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vpatient.speech.turn import SmartTurn

    monkeypatch.setenv("VPATIENT_SMART_TURN", str(tmp_path / "nope.onnx"))
    with pytest.raises(ModelUnavailableError, match=r"nope\.onnx: no such file"):
        SmartTurn()
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(ModelUnavailableError, match="cannot load the end-of-turn model"):
        SmartTurn(bad)


def test_words_and_confidence_from_whisper() -> None:
    from vpatient.speech.stt import WhisperSTT

    stt = WhisperSTT(vocabulary=["ramipril", "amlodipine"])
    rec = stt.recognise(_say("kal16", "My doctor put me on amlodipine for my blood pressure."))
    assert wer([("My doctor put me on amlodipine for my blood pressure.", rec.text)]) <= 20
    assert [normalise(w.text) for w in rec.words if normalise(w.text)] == [[w] for w in normalise(rec.text)]
    assert all(0.0 <= w.probability <= 1.0 for w in rec.words)
    assert rec.confidence is not None and 0.3 < rec.confidence <= 1.0
    assert stt.recognise(np.zeros(STT_RATE // 2, dtype=np.float32)).words == []


HESITANT = [
    (["I've had this pain in my chest and", 1.2, "it goes down my left arm."], "arm"),
    (["The pain started, um,", 1.0, "about three days ago."], "ago"),
    (["Can you tell me about the", 0.9, "medicines you take?"], "take"),
]


def test_pauses_inside_a_sentence_do_not_cut_the_learner_off(tmp_path: Path, chest_pain, smart_turn) -> None:  # type: ignore[no-untyped-def]
    """Real time through the whole loop: each hesitant turn is one learner turn with all its words."""
    from vpatient.consultation import Consultation
    from vpatient.persona.engine import ScriptedEngine
    from vpatient.pipeline.session import VoiceSession
    from vpatient.speech.stt import WhisperSTT, persona_vocabulary
    from vpatient.speech.tts import FakeTTS, FliteTTS
    from vpatient.speech.vad import SileroVAD
    from vpatient.store import Store
    from vpatient.testing import HashingEmbedder

    voice = FliteTTS("kal16")
    files = []
    for i, (parts, _last) in enumerate(HESITANT):
        pieces = [
            np.zeros(int(p * voice.sample_rate), dtype=np.float32) if isinstance(p, float) else voice.synthesize(p)
            for p in parts
        ]
        files.append(write_wav(tmp_path / f"h{i}.wav", np.concatenate(pieces), voice.sample_rate))
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    consult = Consultation(
        chest_pain,
        ROOT / "personas" / "chest_pain_exertional.yaml",
        ScriptedEngine(chest_pain, HashingEmbedder()),
        store,
    )
    session = VoiceSession(
        consult,
        chest_pain,
        vad=SileroVAD(),
        stt=WhisperSTT(vocabulary=persona_vocabulary(chest_pain)),
        tts=FakeTTS(),
        turn=smart_turn,
    )
    result = asyncio.run(session.run_files(files, realtime=True))
    consult.end()
    assert result.errors == []
    learner = [t for t in consult.transcript.turns if t.role == "learner"]
    assert len(learner) == len(HESITANT), [t.text for t in learner]
    for turn, (parts, last) in zip(learner, HESITANT, strict=True):
        assert last in normalise(turn.text), turn.text
        assert normalise(str(parts[0]))[0] in normalise(turn.text)[:2], turn.text
        assert 0.0 < turn.meta["confidence"] <= 1.0 and len(turn.meta["words"]) >= 5
