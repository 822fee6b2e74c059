"""End of turn by the end-of-turn model's verdict, unfinished transcripts held back, context prompts and
word confidences: fakes only (no models, no timing asserts)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.test_speech_stages import chunks, kinds, silence, tone
from vpatient.consultation import Consultation
from vpatient.persona.engine import ScriptedEngine
from vpatient.pipeline.context import SessionContext
from vpatient.pipeline.messages import EndOfStream, Message, SpeechPaused, SpeechStopped, TurnSettled, UserText
from vpatient.pipeline.session import VoiceSession
from vpatient.pipeline.stage import run_stage
from vpatient.pipeline.stages import STTStage, VADStage
from vpatient.speech.audio import write_wav
from vpatient.speech.stt import FakeSTT, Recognition, Word, context_prompt
from vpatient.speech.tts import FakeTTS
from vpatient.speech.turn import FakeTurn, last_window, log_mel
from vpatient.speech.vad import FRAME, FRAME_S, EndpointConfig, Endpointer, EnergyVAD, sounds_unfinished
from vpatient.store import Store
from vpatient.testing import HashingEmbedder

ROOT = Path(__file__).resolve().parent.parent
ZERO = np.zeros(FRAME, dtype=np.float32)
CFG = EndpointConfig(silence_ms=600, complete_silence_ms=250, incomplete_silence_ms=2000, pause_ms=160)


def _silence_until_stop(ep: Endpointer, verdict: float | None, start: int = 10) -> float | None:
    """Speech for `start` frames, then silence; the verdict arrives at the pause. Silence (s) at the stop."""
    for i in range(start):
        ep.feed(ZERO, 0.9, i * FRAME_S)
    for i in range(start, start + 150):
        events = ep.feed(ZERO, 0.0, i * FRAME_S)
        if "paused" in events and verdict is not None:
            ep.judge(ep.pauses, verdict)
        if "stopped" in events:
            return (i - start + 1) * FRAME_S
    return None


def test_a_complete_turn_ends_after_a_short_silence() -> None:
    waited = _silence_until_stop(Endpointer(CFG), 0.95)
    assert waited is not None and 0.25 <= waited < 0.35


def test_an_unfinished_turn_waits_longer() -> None:
    waited = _silence_until_stop(Endpointer(CFG), 0.05)
    assert waited is not None and waited >= 2.0


def test_without_a_verdict_the_fixed_budget_applies() -> None:
    waited = _silence_until_stop(Endpointer(CFG), None)
    assert waited is not None and 0.6 <= waited < 0.7


def test_a_verdict_still_awaited_holds_the_turn_open_and_a_late_one_still_counts() -> None:
    ep = Endpointer(CFG)
    for i in range(10):
        ep.feed(ZERO, 0.9, i * FRAME_S)
    stopped_at = None
    for i in range(10, 160):
        events = ep.feed(ZERO, 0.0, i * FRAME_S)
        if "paused" in events:
            ep.awaiting = ep.pauses  # asked; the busy model has not answered
        if i == 10 + int(1.0 / FRAME_S):  # the verdict comes a second into the pause: complete
            ep.judge(ep.pauses, 0.95)
        if "stopped" in events:
            stopped_at = (i - 10 + 1) * FRAME_S
            break
    assert stopped_at is not None and 1.0 <= stopped_at < 1.1  # not cut at the fixed 600 ms budget
    assert ep.awaiting == 0


def test_an_unfinished_transcript_outweighs_a_complete_verdict() -> None:
    ep = Endpointer(CFG)
    for i in range(10):
        ep.feed(ZERO, 0.9, i * FRAME_S)
    ep.unfinished = True
    ep.judge(ep.pauses, 0.99)  # no pause yet: ignored
    assert ep.complete_prob is None
    for i in range(10, 20):
        if "paused" in ep.feed(ZERO, 0.0, i * FRAME_S):
            ep.judge(ep.pauses, 0.99)
    assert ep.complete_prob == 0.99 and ep.budget_ms() == CFG.hesitant_silence_ms


def test_a_verdict_for_an_earlier_pause_is_ignored() -> None:
    ep = Endpointer(CFG)
    for i in range(10):
        ep.feed(ZERO, 0.9, i * FRAME_S)
    i = 10
    while "paused" not in ep.feed(ZERO, 0.0, i * FRAME_S):
        i += 1
    first = ep.pauses
    ep.feed(ZERO, 0.9, (i + 1) * FRAME_S)  # the learner goes on
    ep.judge(first, 0.99)
    assert ep.complete_prob is None


def test_settled_follows_a_quiet_resume_window_only() -> None:
    ep = Endpointer(EndpointConfig(silence_ms=300, resume_ms=500))
    events: list[str] = []
    probs = [0.9] * 10 + [0.0] * 10 + [0.0] * 20
    for i, p in enumerate(probs):
        events += ep.feed(ZERO, p, i * FRAME_S)
    assert events == ["started", "paused", "stopped", "settled"]
    ep2 = Endpointer(EndpointConfig(silence_ms=300, resume_ms=500))
    events = []
    probs = [0.9] * 10 + [0.0] * 12 + [0.9] * 10 + [0.0] * 30  # resumes 80 ms after the stop
    for i, p in enumerate(probs):
        events += ep2.feed(ZERO, p, i * FRAME_S)
    assert events == ["started", "paused", "stopped", "started", "paused", "stopped", "settled"]


def _vad_run(turn: FakeTurn, audio: np.ndarray) -> tuple[list[Message], list[float]]:
    """What the stage pushed, and the stream time (end of the chunk) at which each came out."""
    stage = VADStage(EnergyVAD(), SessionContext(), CFG, turn=turn)

    async def go() -> tuple[list[Message], list[float]]:
        out: list[Message] = []
        when: list[float] = []
        for c in chunks(audio):
            got = await run_stage(stage, [c])
            out += got
            when += [c.t + FRAME_S] * len(got)
            await asyncio.sleep(0.002)  # lets the verdict (a worker thread) come back, as real time would
        return out, when

    return asyncio.run(go())


def test_vad_stage_asks_the_turn_model_and_ends_a_complete_turn_early() -> None:
    turn = FakeTurn(default=0.9)
    out, when = _vad_run(turn, np.concatenate([silence(0.3), tone(1.0), silence(1.0)]))
    assert turn.calls == 1
    assert kinds(out)[:3] == ["SpeechStarted", "SpeechPaused", "SpeechStopped"]
    stop = out[2]
    assert isinstance(stop, SpeechStopped) and stop.end_t == pytest.approx(1.3, abs=0.05)
    assert 0.25 <= when[2] - stop.end_t < 0.35  # not the fixed 600 ms


def test_vad_stage_does_not_cut_a_pause_judged_unfinished() -> None:
    turn = FakeTurn(default=0.1)
    audio = np.concatenate([silence(0.3), tone(1.0), silence(1.2), tone(0.8), silence(2.5)])
    out, when = _vad_run(turn, audio)
    stops = [(m, t) for m, t in zip(out, when, strict=True) if isinstance(m, SpeechStopped)]
    assert len(stops) == 1 and stops[0][0].end_t == pytest.approx(3.3, abs=0.05)
    assert stops[0][1] - stops[0][0].end_t >= 2.0
    assert turn.calls == 2  # one verdict per pause


class _BusyTurn(FakeTurn):
    """The first verdict is held back until the test lets it go (a model still busy at the next pause)."""

    def __init__(self, probs: list[float]):
        super().__init__(probs)
        self.gate = threading.Event()
        self.heard: list[int] = []

    def complete_prob(self, audio: np.ndarray) -> float:
        if not self.heard:
            self.gate.wait(10)
        self.heard.append(audio.size)
        return super().complete_prob(audio)


def test_a_pause_that_comes_while_the_model_is_busy_is_judged_next_and_decides() -> None:
    """ "The pain started, [pause] um, [pause] about three days ago": the verdict on "started" (complete) comes
    back after the "um" pause; the "um" pause is judged next (unfinished) and the turn waits for the rest."""
    turn = _BusyTurn([0.95, 0.05])
    stage = VADStage(EnergyVAD(), SessionContext(), CFG, turn=turn)
    audio = np.concatenate([silence(0.3), tone(1.0), silence(0.3), tone(0.3), silence(1.0), tone(0.8), silence(2.5)])

    async def go() -> list[Message]:
        out: list[Message] = []
        for c in chunks(audio):
            out += await run_stage(stage, [c])
            if kinds(out).count("SpeechPaused") == 2:
                turn.gate.set()
            await asyncio.sleep(0.002)
        return out

    out = asyncio.run(go())
    stops = [m for m in out if isinstance(m, SpeechStopped)]
    assert len(stops) == 1 and stops[0].end_t == pytest.approx(3.7, abs=0.05), kinds(out)
    assert len(turn.heard) == 3 and turn.heard[1] > turn.heard[0]  # one per pause; the second on the longer audio


def test_speech_going_on_when_the_stream_ends_is_still_a_turn() -> None:
    stage = VADStage(EnergyVAD(), SessionContext(), CFG)
    out = asyncio.run(run_stage(stage, [*chunks(np.concatenate([silence(0.3), tone(1.0)])), EndOfStream()]))
    assert kinds(out) == ["SpeechStarted", "SpeechStopped", "EndOfStream"]
    stop = out[1]
    assert isinstance(stop, SpeechStopped) and stop.end_t == pytest.approx(1.3, abs=0.05)


def _stopped(audio: np.ndarray, start: float, end: float) -> SpeechStopped:
    return SpeechStopped(audio, start, end, 0.0, 0.0)


def test_an_unfinished_transcript_is_held_and_joined_to_what_follows() -> None:
    stt = FakeSTT(["I have had this pain in my chest and", "it goes down my left arm."])
    stage = STTStage(stt, SessionContext(patient_said="Morning, doctor."))
    out = asyncio.run(
        run_stage(stage, [_stopped(tone(1.0), 0.0, 1.0), _stopped(tone(0.8), 2.2, 3.0), TurnSettled(5.0)])
    )
    assert kinds(out) == ["UserText"]
    said = out[0]
    assert isinstance(said, UserText)
    assert said.text == "I have had this pain in my chest and it goes down my left arm."
    assert said.start_t == 0.0 and said.end_t == 3.0
    assert said.audio.size == pytest.approx(3.0 * 16000, abs=1600)  # both parts with the gap between
    assert len(said.words) == len(said.text.split()) and said.confidence == 0.9
    assert stt.prompts == ["Morning, doctor.", "Morning, doctor. I have had this pain in my chest and"]
    assert stage.held_turns == 1


@pytest.mark.parametrize("release", [TurnSettled(3.0), EndOfStream()])
def test_a_held_turn_is_released_when_the_learner_stays_quiet(release: Message) -> None:
    stage = STTStage(FakeSTT(["So the pain goes to my, um"]), SessionContext())
    out = asyncio.run(run_stage(stage, [_stopped(tone(1.0), 0.0, 1.0)]))
    assert out == []
    out = asyncio.run(run_stage(stage, [release]))
    assert kinds(out)[0] == "UserText" and out[0].text == "So the pain goes to my, um"  # type: ignore[attr-defined]


def test_trailing_off_sounds_unfinished() -> None:
    assert sounds_unfinished("Can you tell me about the...") and sounds_unfinished("and then…")
    assert sounds_unfinished("It goes to my, um.") and sounds_unfinished("I was walking and.")
    assert sounds_unfinished("Do you have any?") and sounds_unfinished("I was wondering whether.")
    assert not sounds_unfinished("Who do you live with?") and not sounds_unfinished("What are you taking it for?")
    assert not sounds_unfinished("Do you have any allergies?")


def test_a_finished_transcript_is_not_held() -> None:
    stage = STTStage(FakeSTT(["Do you have any allergies?"]), SessionContext())
    out = asyncio.run(run_stage(stage, [_stopped(tone(1.0), 0.0, 1.0)]))
    assert kinds(out) == ["UserText"] and stage.held_turns == 0


def test_speculative_decoding_uses_the_context_prompt() -> None:
    stt = FakeSTT(["any allergies"])
    stage = STTStage(stt, SessionContext(patient_said="I get it when I walk uphill."))

    async def go() -> list[Message]:
        await run_stage(stage, [SpeechPaused(tone(1.0), 1.0)])
        await asyncio.sleep(0.05)
        return await run_stage(stage, [_stopped(tone(0.9), 0.0, 0.9)])

    out = asyncio.run(go())
    assert kinds(out) == ["UserText"] and stage.speculative_hits == 1
    assert stt.prompts == ["I get it when I walk uphill."]


def test_context_prompt_and_confidence() -> None:
    assert context_prompt(["Robert", "ramipril"], "It's in my chest.") == "Robert, ramipril. It's in my chest."
    assert context_prompt([], "") == ""
    long = context_prompt([], "word " * 200, max_chars=50)
    assert len(long) <= 50 and long.startswith("word")
    assert Recognition("a b", [Word("a", 0.5), Word("b", 1.0)]).confidence == 0.75
    assert Recognition("").confidence is None


def test_features_have_the_model_shape() -> None:
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(3 * 16000)).astype(np.float32)
    window = last_window(x)
    assert window.size == 8 * 16000 and np.all(window[: 5 * 16000] == 0) and np.all(window[-x.size :] == x)
    feats = log_mel(window)
    assert feats.shape == (80, 800) and feats.dtype == np.float32
    assert float(feats.min()) >= -1.5 and float(feats.max()) <= 2.5
    long = (0.1 * rng.standard_normal(10 * 16000)).astype(np.float32)
    assert np.all(last_window(long) == long[-8 * 16000 :])


def test_confidence_and_words_reach_the_transcript(tmp_path: Path, chest_pain) -> None:  # type: ignore[no-untyped-def]
    path = write_wav(tmp_path / "u.wav", np.concatenate([tone(1.0), silence(0.1)]), 16000)
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
        vad=EnergyVAD(),
        stt=FakeSTT(["What brings you in today?"]),
        tts=FakeTTS(),
        endpoint=EndpointConfig(silence_ms=400),
        turn=FakeTurn(default=0.9),
    )
    asyncio.run(session.run_files([path], realtime=False))
    consult.end()
    learner = next(t for t in consult.transcript.turns if t.role == "learner")
    assert learner.meta["confidence"] == 0.9
    assert learner.meta["words"] == [["What", 0.9], ["brings", 0.9], ["you", 0.9], ["in", 0.9], ["today?", 0.9]]


def test_a_long_first_sentence_is_spoken_in_two_parts() -> None:
    from vpatient.pipeline.messages import AudioOut, PatientText
    from vpatient.pipeline.stages import TTSStage, first_clause

    assert first_clause("Well, it started about three weeks ago, when I was walking the dog.") == (
        "Well, it started about three weeks ago,",
        "when I was walking the dog.",
    )
    assert first_clause("No, never.") is None
    tts = FakeTTS()
    stage = TTSStage(tts)
    long = "It started about three weeks ago, when I was walking the dog up the hill."
    out = asyncio.run(
        run_stage(stage, [PatientText(long, 0, False, 1), PatientText("It went off after a rest.", 1, True, 1)])
    )
    audio = [m for m in out if isinstance(m, AudioOut)]
    assert [a.text for a in audio] == [
        "It started about three weeks ago,",
        "when I was walking the dog up the hill.",
        "It went off after a rest.",
    ]
    assert [a.last for a in audio] == [False, False, True] and all(a.samples.size for a in audio)
    assert tts.calls == [a.text for a in audio]


def test_a_finished_pipeline_works_through_what_it_holds_and_closes_each_stage_once() -> None:
    from vpatient.pipeline.stage import Pipeline, Stage

    class Counting(Stage):
        closes = 0

        async def process(self, msg: Message) -> None:
            await asyncio.sleep(0.01)  # still busy when the stream ends
            await self.push(msg)

        async def close(self) -> None:
            Counting.closes += 1

    async def go() -> list[Message]:
        out: list[Message] = []

        async def sink(m: Message) -> None:
            out.append(m)

        pipeline = Pipeline([Counting(), Counting()], sink)
        pipeline.start()
        await pipeline.send(TurnSettled(1.0))
        await pipeline.finish(5.0)
        await pipeline.stop()
        return out

    out = asyncio.run(go())
    assert kinds(out) == ["TurnSettled", "EndOfStream"]
    assert Counting.closes == 2
