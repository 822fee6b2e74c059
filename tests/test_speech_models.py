"""The speech stages with the real packaged models (Silero VAD, faster-whisper tiny.en, hibari, flite),
and a whole file-driven consultation through `vpatient talk`. Short clips only; no timed asserts."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faster_whisper", reason='needs the speech extra: pip install -e ".[speech]"')
pytest.importorskip("hibari", reason='needs the speech extra: pip install -e ".[speech]"')

from vpatient.pipeline.context import SessionContext
from vpatient.pipeline.messages import AudioChunk, SpeechStopped
from vpatient.pipeline.stage import run_stage
from vpatient.pipeline.stages import VADStage
from vpatient.speech.audio import STT_RATE, resample, write_wav
from vpatient.speech.bench import normalise, wer
from vpatient.speech.vad import FRAME, EndpointConfig, SileroVAD

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="Debian flite not installed (scripts/setup.sh)")


@pytest.fixture(scope="module")
def whisper():  # type: ignore[no-untyped-def]
    from vpatient.speech.stt import WhisperSTT

    return WhisperSTT(threads=2)


@pytest.fixture(scope="module")
def hibari():  # type: ignore[no-untyped-def]
    from vpatient.speech.tts import HibariTTS

    return HibariTTS()


def _chunks(audio: np.ndarray) -> list[AudioChunk]:
    return [AudioChunk(audio[i : i + FRAME], STT_RATE, i / STT_RATE) for i in range(0, audio.size - FRAME + 1, FRAME)]


def test_silero_finds_synthesised_speech_and_ignores_silence_and_hum(hibari) -> None:  # type: ignore[no-untyped-def]
    speech = resample(hibari.synthesize("Morning, doctor. It started three weeks ago."), hibari.sample_rate, STT_RATE)
    rng = np.random.default_rng(0)
    quiet = (0.003 * rng.standard_normal(STT_RATE)).astype(np.float32)
    hum = (0.05 * np.sin(2 * np.pi * 50 * np.arange(STT_RATE) / STT_RATE)).astype(np.float32)
    audio = np.concatenate([quiet, hum, speech, quiet, quiet]).astype(np.float32)
    stage = VADStage(SileroVAD(), SessionContext(), EndpointConfig(silence_ms=600))
    out = asyncio.run(run_stage(stage, _chunks(audio)))
    stops = [m for m in out if isinstance(m, SpeechStopped)]
    assert 1 <= len(stops) <= 2  # one per sentence at most
    assert stops[0].start_t > 1.4  # not triggered by the noise or the hum (500 ms pre-roll kept)
    assert stops[-1].end_t == pytest.approx(2.0 + speech.size / STT_RATE, abs=0.5)


def test_hibari_speech_is_recognised(hibari, whisper) -> None:  # type: ignore[no-untyped-def]
    text = "I have had a tight feeling in my chest for three weeks."
    audio = resample(hibari.synthesize(text), hibari.sample_rate, STT_RATE)
    assert hibari.sample_rate == 24000 and audio.dtype == np.float32
    assert wer([(text, whisper.transcribe(audio))]) <= 20


@needs_flite
def test_learner_voice_differs_and_is_recognised(whisper) -> None:  # type: ignore[no-untyped-def]
    from vpatient.speech.learner import learner_voices

    voice = learner_voices("hibari:heart")[0]
    assert voice.name != "hibari:heart"
    text = "Are you taking any regular medicines?"
    audio = resample(voice.synthesize(text), voice.sample_rate, STT_RATE)
    hyp = whisper.transcribe(audio)
    assert "medicines" in normalise(hyp) or wer([(text, hyp)]) <= 25


@needs_flite
def test_file_driven_consultation_through_the_real_models(tmp_path: Path) -> None:
    from vpatient.cli import main
    from vpatient.speech.tts import FliteTTS

    voice = FliteTTS("kal16")
    files = []
    for i, line in enumerate(["Hello, I'm Doctor Patel. What brings you in today?", "Do you smoke?"]):
        files.append(str(write_wav(tmp_path / f"q{i}.wav", voice.synthesize(line), voice.sample_rate)))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"")
    out = tmp_path / "out"
    code = main(
        [
            "talk",
            "--persona",
            str(ROOT / "personas" / "chest_pain_exertional.yaml"),
            "--input-wav",
            files[0],
            str(broken),
            files[1],
            "--out-dir",
            str(out),
            "--fast",
            "--learner",
            "sam",
        ]
    )
    assert code == 0
    data = json.loads((out / "transcript.json").read_text())
    from vpatient.store import Store

    record = Store().session(data["id"])  # the web app finds the learner and the audio of each turn
    assert record.learner == "sam" and Path(record.meta["audio_dir"]) == out.resolve()
    turns = data["turns"]
    assert [t["role"] for t in turns] == ["learner", "patient", "learner", "patient"]
    assert "smoke" in normalise(turns[2]["text"])
    assert "smok" in turns[3]["text"].lower()
    for t in turns:
        assert t["end"] >= t["start"]
        assert (out / t["audio"]).is_file()
    assert any("empty" in e for e in data["errors"])
    for t in turns:  # speech-recognised turns carry the recogniser's confidence; the patient's do not
        assert (0.0 < t["confidence"] <= 1.0) if t["role"] == "learner" else "confidence" not in t
    report = (out / "transcript.report.html").read_text()  # graded at the end (history_taking)
    assert "History taking" in report and "recognised " in report
    timings = json.loads((out / "timings.json").read_text())
    assert len(timings["turns"]) == 2
    for key in ("stt_ms", "first_token_ms", "first_audio_ms", "voice_to_voice_ms"):
        assert all(t[key] is not None and t[key] >= 0 for t in timings["turns"])
        assert set(timings["summary"][key]) >= {"p50", "p95"}


def test_voice_follows_the_persona(chest_pain, whisper) -> None:  # type: ignore[no-untyped-def]
    from vpatient.speech.tts import build_tts

    voice = build_tts("auto", persona=chest_pain)  # Robert Hale, male
    assert voice.name != "hibari:heart"  # piper's male voice, or the lowered hibari voice
    audio = resample(voice.synthesize("I smoke about fifteen a day."), voice.sample_rate, STT_RATE)
    assert wer([("I smoke about fifteen a day.", whisper.transcribe(audio))]) <= 20


@needs_flite
def test_whisper_gives_each_turn_a_recognition_confidence(whisper) -> None:  # type: ignore[no-untyped-def]
    from vpatient.speech.stt import WhisperSTT
    from vpatient.speech.tts import FliteTTS

    voice = FliteTTS("kal16")
    clear = resample(voice.synthesize("Do you smoke?"), voice.sample_rate, STT_RATE)
    heard = whisper.recognise(clear)
    assert "smoke" in normalise(heard.text) and heard.confidence is not None and 0.0 < heard.confidence <= 1.0
    noisy = (0.2 * clear + 0.08 * np.random.default_rng(1).standard_normal(clear.size)).astype(np.float32)
    garbled = whisper.recognise(noisy)
    if garbled.text:  # buried in noise the recogniser is less sure of what it heard
        assert garbled.confidence is not None and garbled.confidence < heard.confidence
    words = WhisperSTT(threads=2, word_confidence=True).recognise(clear)
    assert "smoke" in normalise(words.text) and words.confidence is not None and 0.0 < words.confidence <= 1.0
    assert whisper.recognise(np.zeros(800, dtype=np.float32)).confidence is None
