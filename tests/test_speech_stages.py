"""Stages fed with synthetic audio and hand-made messages (fake VAD, STT and TTS; no models)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from vpatient.consultation import Consultation
from vpatient.persona.engine import ScriptedEngine
from vpatient.pipeline.context import SessionContext
from vpatient.pipeline.messages import (
    AudioChunk,
    AudioOut,
    Backchannel,
    Interruption,
    Message,
    PatientText,
    SpeechPaused,
    SpeechStarted,
    SpeechStopped,
    UserText,
)
from vpatient.pipeline.session import VoiceSession, summarise, write_outputs
from vpatient.pipeline.stage import Pipeline, Stage, run_stage
from vpatient.pipeline.stages import EngineStage, PlaybackStage, STTStage, TTSStage, VADStage
from vpatient.speech.audio import write_wav
from vpatient.speech.devices import SimulatedSpeaker, VirtualSink
from vpatient.speech.stt import FakeSTT, is_backchannel
from vpatient.speech.tts import FakeTTS, prosody, split_sentences
from vpatient.speech.vad import FRAME, FRAME_S, EndpointConfig, Endpointer, EnergyVAD, sounds_unfinished
from vpatient.store import Store
from vpatient.testing import HashingEmbedder

ROOT = Path(__file__).resolve().parent.parent
RATE = 16000


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(RATE * seconds)) / RATE
    return (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds), dtype=np.float32)


def chunks(audio: np.ndarray, t0: float = 0.0) -> list[AudioChunk]:
    return [AudioChunk(audio[i : i + FRAME], RATE, t0 + i / RATE) for i in range(0, audio.size - FRAME + 1, FRAME)]


def kinds(msgs: list[Message]) -> list[str]:
    return [type(m).__name__ for m in msgs]


# ---------------------------------------------------------------- end of turn
def test_endpointer_start_pause_stop() -> None:
    ep = Endpointer(EndpointConfig(silence_ms=600, pause_ms=200, min_speech_ms=96))
    events: list[str] = []
    probs = [0.0] * 5 + [0.9] * 30 + [0.0] * 25
    for i, p in enumerate(probs):
        events += ep.feed(np.zeros(FRAME, dtype=np.float32), p, i * FRAME_S)
    assert events == ["started", "paused", "stopped"]
    assert ep.voiced_s() == pytest.approx(30 * FRAME_S, abs=0.05)


def test_short_gap_inside_speech_does_not_end_the_turn() -> None:
    ep = Endpointer(EndpointConfig(silence_ms=600))
    events: list[str] = []
    probs = [0.9] * 20 + [0.0] * 12 + [0.9] * 20 + [0.0] * 25  # a 384 ms gap mid-sentence
    for i, p in enumerate(probs):
        events += ep.feed(np.zeros(FRAME, dtype=np.float32), p, i * FRAME_S)
    assert events.count("stopped") == 1 and events.count("started") == 1


def test_hesitant_speaker_gets_a_longer_budget() -> None:
    ep = Endpointer(EndpointConfig(silence_ms=600, hesitant_silence_ms=1400))
    ep.unfinished = False
    for i in range(10):
        ep.feed(np.zeros(FRAME, dtype=np.float32), 0.9, i * FRAME_S)
    ep.unfinished = True
    stopped_at = None
    for i in range(10, 80):
        if "stopped" in ep.feed(np.zeros(FRAME, dtype=np.float32), 0.0, i * FRAME_S):
            stopped_at = (i - 9) * FRAME_S
            break
    assert stopped_at is not None and stopped_at >= 1.4
    assert sounds_unfinished("the pain goes to my, um")
    assert sounds_unfinished("and I was walking and")
    assert not sounds_unfinished("It started three weeks ago.")


def test_vad_stage_segments_a_synthetic_utterance() -> None:
    ctx = SessionContext()
    stage = VADStage(EnergyVAD(), ctx, EndpointConfig(silence_ms=500))
    audio = np.concatenate([silence(0.3), tone(1.0), silence(0.8)])
    out = asyncio.run(run_stage(stage, chunks(audio)))
    assert kinds(out) == ["SpeechStarted", "SpeechPaused", "SpeechStopped"]
    stopped = out[-1]
    assert isinstance(stopped, SpeechStopped)
    assert stopped.end_t == pytest.approx(1.3, abs=0.05)
    assert stopped.audio.size / RATE == pytest.approx(0.3 + 1.0 + 0.1, abs=0.1)  # preroll + tail kept


def test_vad_stage_converts_other_rates() -> None:
    ctx = SessionContext()
    stage = VADStage(EnergyVAD(), ctx, EndpointConfig(silence_ms=500))
    x = np.concatenate([silence(0.3), tone(1.0), silence(0.8)])
    up = np.interp(np.arange(int(x.size * 3)) / 3, np.arange(x.size), x).astype(np.float32)  # 48 kHz
    msgs = [AudioChunk(up[i : i + 1536], 48000, i / 48000) for i in range(0, up.size, 1536)]
    out = asyncio.run(run_stage(stage, msgs))
    assert kinds(out) == ["SpeechStarted", "SpeechPaused", "SpeechStopped"]


# ---------------------------------------------------------------- barge-in and backchannels
def test_long_speech_over_the_patient_is_an_interruption() -> None:
    ctx = SessionContext(patient_speaking=True)
    stage = VADStage(EnergyVAD(), ctx, EndpointConfig(silence_ms=500), backchannel_max_ms=700)
    out = asyncio.run(run_stage(stage, chunks(np.concatenate([silence(0.2), tone(1.5), silence(0.7)]))))
    assert kinds(out)[:2] == ["SpeechStarted", "Interruption"]
    started = out[0]
    assert isinstance(started, SpeechStarted) and started.over_patient
    stopped = out[-1]
    assert isinstance(stopped, SpeechStopped) and stopped.barged_in


def test_short_speech_over_the_patient_waits_for_its_words() -> None:
    ctx = SessionContext(patient_speaking=True)
    stage = VADStage(EnergyVAD(), ctx, EndpointConfig(silence_ms=500), backchannel_max_ms=700)
    out = asyncio.run(run_stage(stage, chunks(np.concatenate([silence(0.2), tone(0.4), silence(0.7)]))))
    assert "Interruption" not in kinds(out)
    stopped = out[-1]
    assert isinstance(stopped, SpeechStopped) and stopped.over_patient and not stopped.barged_in


def _stopped(over: bool, barged: bool = False) -> SpeechStopped:
    return SpeechStopped(tone(0.4), 0.0, 0.4, 0.0, 0.0, over_patient=over, barged_in=barged)


@pytest.mark.parametrize("said", ["mm-hm", "Yeah.", "okay", "Mm hmm.", "I see", "right"])
def test_backchannel_over_the_patient_is_not_an_interruption(said: str) -> None:
    stage = STTStage(FakeSTT([said]), SessionContext())
    out = asyncio.run(run_stage(stage, [_stopped(over=True)]))
    assert kinds(out) == ["Backchannel"]


def test_words_over_the_patient_interrupt_then_become_a_turn() -> None:
    stage = STTStage(FakeSTT(["Sorry, can I stop you there?"]), SessionContext())
    out = asyncio.run(run_stage(stage, [_stopped(over=True)]))
    assert kinds(out) == ["Interruption", "UserText"]
    text = out[1]
    assert isinstance(text, UserText) and text.interrupted


def test_a_backchannel_between_turns_is_an_ordinary_turn() -> None:
    stage = STTStage(FakeSTT(["okay"]), SessionContext())
    out = asyncio.run(run_stage(stage, [_stopped(over=False)]))
    assert kinds(out) == ["UserText"]


def test_is_backchannel() -> None:
    assert is_backchannel("Mm-hm.") and is_backchannel("uh huh") and is_backchannel("Okay, okay")
    assert not is_backchannel("Okay, and when did it start?")
    assert not is_backchannel("stop")


def test_stt_uses_the_speculative_transcript_when_the_learner_stays_quiet() -> None:
    stt = FakeSTT(["what brings you in today"], default="WRONG")
    stage = STTStage(stt, SessionContext())
    audio = tone(1.0)

    async def go() -> list[Message]:
        out = await run_stage(stage, [SpeechPaused(audio, 1.0)])
        await asyncio.sleep(0.05)
        return out + await run_stage(stage, [SpeechStopped(audio[:15000], 0.0, 0.9, 0.0, 0.0)])

    out = asyncio.run(go())
    assert kinds(out) == ["UserText"] and out[0].text == "what brings you in today"  # type: ignore[attr-defined]
    assert stt.calls == 1 and stage.speculative_hits == 1


def test_stt_decodes_again_when_the_learner_went_on() -> None:
    stt = FakeSTT(["what brings", "what brings you in today"])
    stage = STTStage(stt, SessionContext())

    async def go() -> list[Message]:
        await run_stage(stage, [SpeechPaused(tone(0.5), 0.5)])
        return await run_stage(stage, [SpeechStopped(tone(1.5), 0.0, 1.5, 0.0, 0.0)])

    out = asyncio.run(go())
    assert out[0].text == "what brings you in today"  # type: ignore[attr-defined]
    assert stt.calls == 2


def test_playback_pauses_resumes_and_stops() -> None:
    sink = VirtualSink()
    ctx = SessionContext(patient_speaking=True)
    consult_stage = EngineStage.__new__(EngineStage)  # playback only needs .replies and .consult
    consult_stage.replies = {}
    stage = PlaybackStage(sink, ctx, consult_stage)
    a = AudioOut(tone(0.5), RATE, "First sentence.", 0, False, 1)

    async def go() -> list[Message]:
        out = await run_stage(stage, [a, SpeechStarted(1.0, over_patient=True), Backchannel("mm-hm")])
        out += await run_stage(stage, [SpeechStarted(2.0, over_patient=True), Interruption(2.7)])
        return out

    out = asyncio.run(go())
    assert sink.events == ["pause", "resume", "pause", "stop"]
    done = [m for m in out if type(m).__name__ == "TurnDone"]
    assert len(done) == 1 and done[0].interrupted and done[0].text == "First sentence."  # type: ignore[attr-defined]
    assert not ctx.patient_speaking


# ---------------------------------------------------------------- the stage contract
class Slow(Stage):
    name = "slow"

    def __init__(self) -> None:
        super().__init__()
        self.finished = 0

    async def process(self, msg: Message) -> None:
        await asyncio.sleep(30)
        self.finished += 1
        await self.push(msg)


class Broken(Stage):
    name = "broken"

    async def process(self, msg: Message) -> None:
        raise RuntimeError("synthesiser crashed")


def test_interruption_cancels_busy_work_and_drops_the_queue() -> None:
    slow = Slow()
    seen: list[Message] = []

    async def sink(m: Message) -> None:
        seen.append(m)

    async def go() -> None:
        p = Pipeline([slow], sink)
        p.start()
        for i in range(3):
            await p.send(PatientText(f"s{i}", i, i == 2, 1))
        await asyncio.sleep(0.05)
        await p.send(Interruption(0.0))
        await asyncio.sleep(0.05)
        assert slow._queue is not None and slow._queue.empty()
        await p.stop()

    asyncio.run(go())
    assert kinds(seen) == ["Interruption"] and slow.finished == 0


def test_a_failing_stage_reports_and_the_session_goes_on() -> None:
    out = asyncio.run(run_stage(Broken(), [PatientText("a", 0, True, 1)]))
    assert kinds(out) == ["ErrorMessage"] and "synthesiser crashed" in out[0].message  # type: ignore[attr-defined]


class FailingTTS(FakeTTS):
    name = "failing"

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        raise OSError("no voice")


def test_failed_synthesis_degrades_to_text() -> None:
    out = asyncio.run(run_stage(TTSStage(FailingTTS()), [PatientText("Hello.", 0, True, 1)]))
    assert kinds(out) == ["ErrorMessage", "AudioOut"]
    assert out[1].samples.size == 0 and out[1].text == "Hello."  # type: ignore[attr-defined]


def test_sentences_and_prosody(chest_pain) -> None:  # type: ignore[no-untyped-def]
    assert split_sentences("It started three weeks ago. I first noticed it walking. Mr. Hale?") == [
        "It started three weeks ago.",
        "I first noticed it walking.",
        "Mr. Hale?",
    ]
    assert (
        prosody(chest_pain, "sad").speed < prosody(chest_pain, "neutral").speed < prosody(chest_pain, "anxious").speed
    )


# ---------------------------------------------------------------- a whole session with fakes
def test_file_driven_session_with_fakes_survives_a_broken_file(tmp_path: Path, chest_pain) -> None:  # type: ignore[no-untyped-def]
    files = []
    for i in range(2):
        files.append(write_wav(tmp_path / f"u{i}.wav", np.concatenate([tone(1.0), silence(0.1)]), RATE))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not a wav")
    silent = write_wav(tmp_path / "silent.wav", silence(0.5), RATE)
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    consult = Consultation(
        chest_pain,
        ROOT / "personas" / "chest_pain_exertional.yaml",
        ScriptedEngine(chest_pain, HashingEmbedder()),
        store,
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
    result = asyncio.run(session.run_files([files[0], broken, silent, files[1]], realtime=False))
    consult.end()
    transcript, timings = write_outputs(consult, result, out)
    assert len(result.metrics) == 2
    assert any("broken.wav" in e for e in result.errors) and any("no speech" in e for e in result.errors)
    data = json.loads(transcript.read_text())
    roles = [t["role"] for t in data["turns"]]
    assert roles == ["learner", "patient", "learner", "patient"]
    for t in data["turns"]:
        assert t["end"] >= t["start"] and (out / t["audio"]).is_file()
    assert data["turns"][0]["text"] == "What brings you in today?"
    assert data["turns"][1]["start"] >= data["turns"][0]["end"]
    tj = json.loads(timings.read_text())
    for key in ("stt_ms", "first_token_ms", "first_audio_ms", "voice_to_voice_ms"):
        assert all(turn[key] is not None for turn in tj["turns"])
    assert set(summarise(result.metrics)["voice_to_voice_ms"]) == {"p50", "p95", "mean"}
    stored = store.load_transcript(consult.session_id) if hasattr(store, "load_transcript") else None
    if stored is not None:
        assert stored.turns[0].meta.get("audio") == "turn01_learner.wav"


# ---------------------------------------------------------------- barge-in through the whole pipeline
def _session(tmp_path: Path, persona, texts: list[str], sink: SimulatedSpeaker):  # type: ignore[no-untyped-def]
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    consult = Consultation(
        persona, ROOT / "personas" / "chest_pain_exertional.yaml", ScriptedEngine(persona, HashingEmbedder()), store
    )
    session = VoiceSession(
        consult,
        persona,
        vad=EnergyVAD(),
        stt=FakeSTT(texts),
        tts=FakeTTS(),
        sink=sink,
        endpoint=EndpointConfig(silence_ms=300, hesitant_silence_ms=600),
    )
    return consult, session


async def _drive(session: VoiceSession, first: np.ndarray, over: np.ndarray) -> list[Message]:
    """Say `first`; once the patient is speaking, say `over`; then wait for the end of the turn."""
    seen: list[Message] = []

    async def sink(m: Message) -> None:
        seen.append(m)

    pipeline = Pipeline(session.stages, sink)
    pipeline.start()
    t = 0.0

    async def feed(audio: np.ndarray) -> None:
        nonlocal t
        for c in chunks(audio, t):
            await pipeline.send(c)
            await asyncio.sleep(0.001)
        t += audio.size / RATE

    await feed(np.concatenate([tone(1.0), silence(0.5)]))
    for _ in range(2000):
        if session.ctx.patient_speaking:
            break
        await feed(silence(0.032))
    assert session.ctx.patient_speaking
    await feed(np.concatenate([over, silence(0.5)]))
    for _ in range(3000):  # at most ~30 s
        if sum(type(m).__name__ == "TurnDone" for m in seen) >= 1 and not session._pending_work():
            break
        await feed(silence(0.032))
        await asyncio.sleep(0.01)
    await pipeline.stop()
    return seen


def test_barge_in_stops_playback_and_is_stored(tmp_path: Path, chest_pain) -> None:  # type: ignore[no-untyped-def]
    speaker = SimulatedSpeaker(time_scale=1.0)
    consult, session = _session(tmp_path, chest_pain, ["What brings you in today?", "Sorry, do you smoke?"], speaker)
    seen = asyncio.run(_drive(session, tone(1.0), tone(1.5)))
    names = kinds(seen)
    assert "Interruption" in names
    assert speaker.events[:2] == ["pause", "stop"]
    done = [m for m in seen if type(m).__name__ == "TurnDone"]
    assert done[0].interrupted  # type: ignore[attr-defined]
    turns = consult.transcript.turns
    assert turns[1].role == "patient" and turns[1].meta.get("interrupted") is True
    assert len(turns[1].text) < len(turns[1].meta["planned_text"])  # only what was heard is kept
    assert turns[2].role == "learner" and turns[2].text == "Sorry, do you smoke?"
    assert turns[2].meta.get("interrupted_patient") is True


def test_backchannel_resumes_playback(tmp_path: Path, chest_pain) -> None:  # type: ignore[no-untyped-def]
    speaker = SimulatedSpeaker(time_scale=0.2)
    consult, session = _session(tmp_path, chest_pain, ["What brings you in today?", "mm-hm"], speaker)
    seen = asyncio.run(_drive(session, tone(1.0), tone(0.3)))
    names = kinds(seen)
    assert "Backchannel" in names and "Interruption" not in names
    assert speaker.events == ["pause", "resume"]
    done = [m for m in seen if type(m).__name__ == "TurnDone"]
    assert len(done) == 1 and not done[0].interrupted  # type: ignore[attr-defined]
    assert [t.role for t in consult.transcript.turns] == ["learner", "patient"]


class _Core:
    def __init__(self) -> None:
        self.cancelled: list[str] = []

    def cancel_session_threadsafe(self, session_id: str) -> None:
        self.cancelled.append(session_id)


class _LLMLikeEngine:
    mode = "llm"

    def __init__(self) -> None:
        self.core = _Core()
        self.session_id = "s-7"


def test_interruption_cancels_llm_generation_in_the_core() -> None:
    consult = Consultation.__new__(Consultation)
    consult.engine = _LLMLikeEngine()  # type: ignore[assignment]
    stage = EngineStage(consult, SessionContext())
    out = asyncio.run(run_stage(stage, [Interruption(1.0)]))
    assert kinds(out) == ["Interruption"]
    assert consult.engine.core.cancelled == ["s-7"]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- recognition confidence
def test_recognition_confidence_is_stored_with_each_learner_turn(tmp_path: Path, chest_pain) -> None:  # type: ignore[no-untyped-def]
    files = [write_wav(tmp_path / f"u{i}.wav", np.concatenate([tone(1.0), silence(0.1)]), RATE) for i in range(2)]
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    consult = Consultation(
        chest_pain,
        ROOT / "personas" / "chest_pain_exertional.yaml",
        ScriptedEngine(chest_pain, HashingEmbedder()),
        store,
    )
    session = VoiceSession(
        consult,
        chest_pain,
        vad=EnergyVAD(),
        stt=FakeSTT(["What brings you in today?", "Do you smoke?"], confidences=[0.93, 0.41234]),
        tts=FakeTTS(),
        out_dir=tmp_path / "out",
        endpoint=EndpointConfig(silence_ms=400, hesitant_silence_ms=800),
    )
    result = asyncio.run(session.run_files(files, realtime=False))
    consult.end()
    transcript, _ = write_outputs(consult, result, tmp_path / "out")
    learner = [t for t in json.loads(transcript.read_text())["turns"] if t["role"] == "learner"]
    assert [t["confidence"] for t in learner] == [0.93, 0.412]
    stored = [t for t in store.transcript(consult.session_id).turns if t.role == "learner"]
    assert [t.meta["confidence"] for t in stored] == [0.93, 0.412]
    assert all("confidence" not in t.meta for t in consult.transcript.turns if t.role == "patient")


def test_a_recogniser_without_confidence_stores_none() -> None:
    class TextOnly:
        name = "text-only"

        def transcribe(self, audio: np.ndarray, *, prompt: str = "") -> str:
            return "Do you smoke?"

    out = asyncio.run(run_stage(STTStage(TextOnly(), SessionContext()), [_stopped(over=False)]))
    assert isinstance(out[0], UserText) and out[0].text == "Do you smoke?" and out[0].confidence is None
