"""The speech stages: VAD/end of turn, speech-to-text, persona engine, text-to-speech, playback."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from vpatient.consultation import Consultation
from vpatient.persona.engine import Reply
from vpatient.persona.schema import Persona
from vpatient.pipeline.context import SessionContext
from vpatient.pipeline.messages import (
    AudioChunk,
    AudioOut,
    Backchannel,
    EndOfStream,
    ErrorMessage,
    Interruption,
    Message,
    PatientText,
    SpeechPaused,
    SpeechStarted,
    SpeechStopped,
    TurnDone,
    TurnSettled,
    UserText,
)
from vpatient.pipeline.stage import Stage
from vpatient.speech.audio import STT_RATE, resample, write_wav
from vpatient.speech.devices import AudioSink
from vpatient.speech.stt import STT, Recognition, is_backchannel, recognise
from vpatient.speech.tts import TTS, prosody, split_sentences
from vpatient.speech.turn import TurnModel
from vpatient.speech.vad import FRAME, FRAME_S, EndpointConfig, Endpointer, FrameVAD, sounds_unfinished


def _ms(a: float, b: float) -> float:
    return round((b - a) * 1000.0, 1)


class VADStage(Stage):
    """AudioChunk in; SpeechStarted / SpeechPaused / SpeechStopped / TurnSettled (and Interruption on
    barge-in) out.

    At each short pause the end-of-turn model (`turn`, e.g. Smart Turn) judges the audio so far in a worker
    thread while the audio keeps flowing; its verdict sets the silence that ends the turn (Endpointer).

    Learner speech over the patient pauses playback at once (SpeechStarted, urgent); once it has lasted
    `backchannel_max_ms` it is an interruption. Shorter speech is judged by its words downstream
    (STTStage): a backchannel resumes playback, anything else interrupts.
    """

    name = "vad"
    interruptible = False

    def __init__(
        self,
        vad: FrameVAD,
        ctx: SessionContext,
        config: EndpointConfig | None = None,
        backchannel_max_ms: int = 700,
        turn: TurnModel | None = None,
    ):
        super().__init__()
        self.vad = vad
        self.turn = turn
        self.verdicts: list[float] = []
        """Every end-of-turn probability the model gave (for the figures)."""
        self._judging: asyncio.Task[None] | None = None
        self._queued: tuple[np.ndarray, int] | None = None
        """A pause that came while the model was busy, judged next."""
        self.ctx = ctx
        self.endpointer = Endpointer(config or EndpointConfig())
        self.backchannel_max_s = backchannel_max_ms / 1000.0
        self._buf = np.zeros(0, dtype=np.float32)
        self._t = 0.0  # stream time of _buf[0]
        self._over = False
        self._barged = False

    def _probs(self, frames: list[np.ndarray]) -> list[float]:
        return [self.vad.prob(f) for f in frames]

    async def _stopped(self, last_voiced_wall: float) -> None:
        ep = self.endpointer
        await self.push(
            SpeechStopped(
                ep.take_audio(),
                ep.start_t,
                ep.last_voiced_t,
                last_voiced_wall,
                time.perf_counter(),
                over_patient=self._over,
                barged_in=self._barged,
            )
        )

    async def process(self, msg: Message) -> None:
        if isinstance(msg, EndOfStream) and self.endpointer.speaking:
            # the stream ended mid-speech (a file cut short, the microphone closed): the words so far are a turn
            self.endpointer.speaking = False
            await self._stopped(time.perf_counter())
        if not isinstance(msg, AudioChunk):
            await self.push(msg)
            return
        x = resample(msg.samples.astype(np.float32).reshape(-1), msg.sample_rate, STT_RATE)
        if self._buf.size == 0:
            self._t = msg.t
        self._buf = np.concatenate([self._buf, x])
        n = self._buf.size // FRAME
        if n == 0:
            return
        frames = [self._buf[i * FRAME : (i + 1) * FRAME] for i in range(n)]
        self._buf = self._buf[n * FRAME :]
        probs = await asyncio.to_thread(self._probs, frames)
        chunk_end_t = self._t + n * FRAME_S
        wall = msg.wall or time.perf_counter()
        ep = self.endpointer
        for i, (frame, p) in enumerate(zip(frames, probs, strict=True)):
            t = self._t + i * FRAME_S
            ep.unfinished = sounds_unfinished(self.ctx.partial_text)
            for event in ep.feed(frame, p, t):
                if event == "started":
                    self._over = self.ctx.patient_speaking
                    self._barged = False
                    self.ctx.partial_text = ""
                    await self.push(SpeechStarted(ep.start_t, over_patient=self._over))
                elif event == "paused":
                    audio = np.concatenate(ep.audio)
                    self._judge(audio, ep.pauses)
                    await self.push(SpeechPaused(audio, t))
                elif event == "settled":
                    await self.push(TurnSettled(t))
                else:
                    await self._stopped(wall - (chunk_end_t - ep.last_voiced_t))
            if ep.speaking and self._over and not self._barged and ep.voiced_s() >= self.backchannel_max_s:
                self._barged = True
                await self.push(Interruption(t, reason="learner spoke over the patient"))
        self._t = chunk_end_t
        self.ctx.stream_t = chunk_end_t

    def _judge(self, audio: np.ndarray, pause: int) -> None:
        """Ask the end-of-turn model about this pause, in a worker thread (one call at a time). A pause that
        comes while the model is still judging an earlier one ("started, [pause] um, [pause]") is judged next,
        on the audio up to it, and the turn is held open for that verdict: the newest pause is the one that
        decides, and a busy CPU must not turn it into the fixed `silence_ms`."""
        if self.turn is None:
            return
        self.endpointer.awaiting = pause
        if self._judging is not None and not self._judging.done():
            self._queued = (audio, pause)
            return
        turn = self.turn

        async def judge() -> None:
            prob = await asyncio.to_thread(turn.complete_prob, audio)
            self.verdicts.append(prob)
            self.endpointer.judge(pause, prob)
            queued, self._queued = self._queued, None
            ep = self.endpointer
            if queued is not None and queued[1] == ep.pauses and ep.speaking and ep.awaiting == queued[1]:
                self._judging = None
                self._judge(*queued)

        self._judging = asyncio.create_task(judge())

    async def close(self) -> None:
        if self._judging is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._judging


@dataclass
class _Heard:
    """A recognised stretch of the learner's speech, kept while the turn may still go on."""

    rec: Recognition
    audio: np.ndarray
    start_t: float
    end_t: float
    last_voiced_wall: float
    stt_ms: float


class STTStage(Stage):
    """Speech-to-text with speculative decoding, biased by the consultation's context.

    At each short pause inside the turn (SpeechPaused) the audio so far is decoded in a worker thread,
    while the end-of-turn silence is still running; if the learner does not speak again, SpeechStopped
    finds the transcript ready or nearly so. If the learner goes on, that guess is dropped and the whole
    turn is decoded at its end. Each decode is prompted with what the patient last said
    (`SessionContext.patient_said`). A transcript that sounds unfinished ("and, um") is held back until the
    learner has stayed quiet for `resume_ms` (TurnSettled): if they go on, the two parts are one turn.
    Emits UserText (with each word's probability), or Backchannel for a short acknowledgement over the
    patient (anything else said over the patient becomes an Interruption first)."""

    name = "stt"
    interruptible = False

    def __init__(self, stt: STT, ctx: SessionContext):
        super().__init__()
        self.stt = stt
        self.ctx = ctx
        self._guess: asyncio.Task[Recognition] | None = None
        self._guess_len = 0
        self._held: _Heard | None = None
        self.speculative_hits = 0
        self.held_turns = 0
        """Turns held back because they sounded unfinished (whether or not the learner went on)."""

    @property
    def holding(self) -> bool:
        """Words that sounded unfinished are held back, waiting to hear whether the learner goes on."""
        return self._held is not None

    def _prompt(self) -> str:
        return " ".join(x for x in (self.ctx.patient_said, self._held.rec.text if self._held else "") if x)

    def _decode(self, audio: np.ndarray, prompt: str) -> Recognition:
        return recognise(self.stt, audio, prompt=prompt)

    async def process(self, msg: Message) -> None:
        if isinstance(msg, SpeechPaused):
            if self._guess is None or self._guess.done():
                if self._guess is not None and self._guess.exception() is None:
                    self.ctx.partial_text = self._guess.result().text
                self._guess_len = msg.audio.size
                new_guess = asyncio.create_task(asyncio.to_thread(self._decode, msg.audio, self._prompt()))
                self._guess = new_guess

                def partial(task: asyncio.Task[Recognition]) -> None:
                    if task is self._guess and not task.cancelled() and task.exception() is None:
                        self.ctx.partial_text = task.result().text

                new_guess.add_done_callback(partial)
            return
        if isinstance(msg, TurnSettled):
            await self._release()
            return
        if isinstance(msg, EndOfStream):
            await self._release()
            await self.push(msg)
            return
        if not isinstance(msg, SpeechStopped):
            await self.push(msg)
            return
        guess, self._guess = self._guess, None
        rec = Recognition("")
        try:
            if guess is not None and msg.audio.size <= self._guess_len:
                try:
                    rec = await guess
                    self.speculative_hits += 1
                except Exception as exc:
                    await self.push(ErrorMessage(self.name, f"speculative decoding failed: {exc}"))
                    guess = None
            if guess is None or msg.audio.size > self._guess_len:
                if guess is not None:  # stale guess: let it finish first (one decode at a time on the CPU)
                    with contextlib.suppress(Exception):
                        await guess
                rec = await asyncio.to_thread(self._decode, msg.audio, self._prompt())
        finally:
            self.ctx.partial_text = ""
        rec.text = rec.text.strip()
        stt_ms = _ms(msg.detected_wall, time.perf_counter())
        held, self._held = self._held, None
        if held is not None:  # the learner went on after an unfinished-sounding pause: one turn
            gap = np.zeros(int((msg.start_t - held.end_t) * STT_RATE) if msg.start_t > held.end_t else 0, np.float32)
            heard = _Heard(
                Recognition(" ".join(x for x in (held.rec.text, rec.text) if x), held.rec.words + rec.words),
                np.concatenate([held.audio, gap, msg.audio]),
                held.start_t,
                msg.end_t,
                msg.last_voiced_wall,
                stt_ms,
            )
        else:
            heard = _Heard(rec, msg.audio, msg.start_t, msg.end_t, msg.last_voiced_wall, stt_ms)
            if msg.over_patient and not msg.barged_in:
                if is_backchannel(rec.text):
                    await self.push(Backchannel(rec.text))
                    return
                await self.push(Interruption(msg.end_t, reason=f"learner spoke over the patient: {rec.text!r}"))
            if not rec.text:
                return  # a noise, not a turn
            if msg.over_patient:
                await self._emit(heard, interrupted=True)
                return
        if sounds_unfinished(heard.rec.text):
            self._held = heard
            self.held_turns += 1
            return
        await self._emit(heard)

    async def _release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            await self._emit(held)

    async def _emit(self, heard: _Heard, *, interrupted: bool = False) -> None:
        rec = heard.rec
        await self.push(
            UserText(
                rec.text,
                heard.start_t,
                heard.end_t,
                heard.audio,
                heard.last_voiced_wall,
                heard.stt_ms,
                interrupted=interrupted,
                words=[(w.text, w.probability) for w in rec.words],
                confidence=rec.confidence,
            )
        )


class EngineStage(Stage):
    """UserText in: stores the learner's turn, asks the persona engine (in a worker thread) and streams
    the reply by sentence as PatientText. An Interruption cancels generation (LLM: cancel_session)."""

    name = "engine"

    def __init__(self, consultation: Consultation, ctx: SessionContext, persona: Persona | None = None):
        super().__init__()
        self.consult = consultation
        self.ctx = ctx
        self.persona = persona
        self.replies: dict[int, Reply] = {}

    def scripted_reason(self, engine: Any) -> str | None:
        """Why this reply should be the scripted wording without asking the model (an engine with
        `respond_scripted`), or None to ask it. Always None here; the server's stage sheds load with it."""
        return None

    async def on_urgent(self, msg: Message) -> None:
        if isinstance(msg, Interruption):
            engine: Any = self.consult.engine
            core = getattr(engine, "core", None)
            if core is not None and hasattr(core, "cancel_session_threadsafe"):
                core.cancel_session_threadsafe(getattr(engine, "session_id", self.consult.session_id))

    async def process(self, msg: Message) -> None:
        if not isinstance(msg, UserText):
            await self.push(msg)
            return
        m = self.ctx.new_turn()
        m.learner_text = msg.text
        m.last_voiced_wall = msg.last_voiced_wall
        m.stt_ms = msg.stt_ms
        m.text_wall = time.perf_counter()
        m.endpoint_ms = None
        meta: dict[str, Any] = {"stt_ms": msg.stt_ms}
        if msg.confidence is not None:
            meta["confidence"] = msg.confidence
            meta["words"] = [[w, p] for w, p in msg.words]
        path = self.ctx.audio_path(m.turn, "learner")
        if path is not None:
            await asyncio.to_thread(write_wav, path, msg.audio, STT_RATE)
            meta["audio"] = path.name
        if msg.interrupted:
            meta["interrupted_patient"] = True
        t0 = self.ctx.t0
        await asyncio.to_thread(
            self.consult.add_learner_turn,
            msg.text,
            start=round(t0 + msg.start_t, 3),
            end=round(t0 + msg.end_t, 3),
            meta=meta,
        )
        engine: Any = self.consult.engine
        shed = self.scripted_reason(engine)
        if shed is not None:  # the model is not asked: its scripted wording at once
            reply = await asyncio.to_thread(engine.respond_scripted, msg.text, interrupted=msg.interrupted, reason=shed)
        elif callable(getattr(engine, "respond_streaming", None)):
            await self._stream(engine, msg, m)
            return
        else:
            reply = await asyncio.to_thread(self.consult.respond, msg.text, interrupted=msg.interrupted)
        self.replies[m.turn] = reply
        self.ctx.patient_said = reply.text
        m.reply_wall = time.perf_counter()
        m.first_token_ms = _ms(m.text_wall, m.reply_wall)
        pros = prosody(self.persona, reply.emotion)
        sentences = split_sentences(reply.text) or [""]
        for i, sentence in enumerate(sentences):
            await self.push(
                PatientText(sentence, i, i == len(sentences) - 1, m.turn, reply.emotion, dict(reply.affect), pros.speed)
            )

    async def _stream(self, engine: Any, msg: UserText, m: Any) -> None:
        """LLM mode: each sentence goes to text-to-speech as soon as the guard has passed it; an empty last
        PatientText closes the reply once the engine has committed it."""
        index = 0
        affect = engine.scripted.affect

        async def on_sentence(sentence: str) -> None:
            nonlocal index
            if index == 0:
                m.reply_wall = time.perf_counter()
                m.first_token_ms = _ms(m.text_wall, m.reply_wall)
            speed = prosody(self.persona, affect.emotion).speed
            for part in split_sentences(sentence) or [sentence]:
                await self.push(PatientText(part, index, False, m.turn, affect.emotion, affect.snapshot(), speed))
                index += 1

        try:
            reply = await engine.respond_streaming(msg.text, on_sentence, interrupted=msg.interrupted)
        except asyncio.CancelledError:
            partial = getattr(engine, "last_reply", None)
            if partial is not None and index:
                self.replies[m.turn] = partial  # what was released before the barge-in
            raise
        self.replies[m.turn] = reply
        self.ctx.patient_said = reply.text
        if index == 0:
            m.reply_wall = time.perf_counter()
            m.first_token_ms = _ms(m.text_wall, m.reply_wall)
        pros = prosody(self.persona, reply.emotion)
        await self.push(PatientText("", index, True, m.turn, reply.emotion, dict(reply.affect), pros.speed))


_FIRST_CLAUSE = re.compile(r"^(.{12,}?[,;:])\s+(\S.{12,})$")


def first_clause(text: str, min_chars: int = 48) -> tuple[str, str] | None:
    """A long sentence cut after its first clause ("Well, it started about three weeks ago, ..."), so that a
    slower voice can start speaking the first part while it synthesises the rest; None if it is short."""
    if len(text) < min_chars:
        return None
    m = _FIRST_CLAUSE.match(text.strip())
    return (m.group(1), m.group(2)) if m else None


class TTSStage(Stage):
    """PatientText in, AudioOut out (one per sentence, synthesised in a worker thread; the first sentence of a
    reply in two parts when it is long, so that the reply starts sooner). A failed synthesis is reported and
    the sentence goes on as text only (empty audio)."""

    name = "tts"

    def __init__(self, tts: TTS, persona: Persona | None = None):
        super().__init__()
        self.tts = tts
        self.persona = persona

    async def process(self, msg: Message) -> None:
        if not isinstance(msg, PatientText):
            await self.push(msg)
            return
        parts = first_clause(msg.text) if msg.index == 0 else None
        if parts is not None:
            head = await self._synthesize(parts[0], msg.speed)
            clause_pause = np.zeros(int(0.08 * self.tts.sample_rate), dtype=np.float32)
            head = np.concatenate([head, clause_pause]) if head.size else head
            ipa = await self._phonemes(parts[0]) if head.size else ""
            await self.push(AudioOut(head, self.tts.sample_rate, parts[0], 0, False, msg.turn, msg.emotion, ipa))
            text = parts[1]
        else:
            text = msg.text
        samples = await self._synthesize(text, msg.speed)
        if not msg.last and samples.size:
            pause = prosody(self.persona, msg.emotion).pause_s
            samples = np.concatenate([samples, np.zeros(int(pause * self.tts.sample_rate), dtype=np.float32)])
        ipa = await self._phonemes(text) if samples.size else ""
        await self.push(AudioOut(samples, self.tts.sample_rate, text, msg.index, msg.last, msg.turn, msg.emotion, ipa))

    async def _phonemes(self, text: str) -> str:
        """The voice's IPA for the avatar's visemes ('' if the voice has no phonemes or they fail: the avatar
        then follows the audio envelope)."""
        get = getattr(self.tts, "phonemes", None)
        if get is None:
            return ""
        try:
            return str(await asyncio.to_thread(get, text))
        except asyncio.CancelledError:
            raise
        except Exception:
            return ""

    async def _synthesize(self, text: str, speed: float) -> np.ndarray:
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        try:
            return await asyncio.to_thread(self.tts.synthesize, text, speed=speed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self.push(ErrorMessage(self.name, f"{self.tts.name} failed on {text!r}: {exc}; text only"))
            return np.zeros(0, dtype=np.float32)


class PlaybackStage(Stage):
    """AudioOut to the speaker (or a virtual one), the reply's audio file and the transcript; passes the
    AudioOut on (lip-sync and emotion for the avatar) and ends each reply with TurnDone.

    SpeechStarted over the patient pauses playback; Backchannel resumes it; Interruption stops it and
    stores the reply as cut off, with the sentences actually started."""

    name = "playback"

    def __init__(self, sink: AudioSink, ctx: SessionContext, engine_stage: EngineStage):
        super().__init__()
        self.sink = sink
        self.ctx = ctx
        self.engine_stage = engine_stage
        self._turn = 0
        self._audio: list[np.ndarray] = []
        self._rate = 0
        self._spoken: list[str] = []
        self._offsets: list[float] = []
        self._start = 0.0
        self._open = False

    async def on_urgent(self, msg: Message) -> None:
        if isinstance(msg, SpeechStarted) and msg.over_patient:
            self.sink.pause()
        elif isinstance(msg, Backchannel):
            self.sink.resume()
        elif isinstance(msg, Interruption):
            left = self.sink.remaining_s()
            self.sink.stop()
            if self._open and self._rate:
                # keep only what was actually heard: the sentences that had started playing
                played = sum(a.size for a in self._audio) / self._rate - left
                keep = max(1, sum(1 for off in self._offsets if off < played))
                self._spoken = self._spoken[:keep]
                self._audio = [np.concatenate(self._audio)[: max(0, int(played * self._rate))]]
            if self._open:
                await self._finish(interrupted=True)
            self.ctx.patient_speaking = False

    async def process(self, msg: Message) -> None:
        if isinstance(msg, EndOfStream):
            await asyncio.to_thread(self.sink.drain)
            await self.push(msg)
            return
        if not isinstance(msg, AudioOut):
            await self.push(msg)
            return
        if not self._open or msg.turn != self._turn:
            self._turn, self._audio, self._spoken, self._offsets, self._open = msg.turn, [], [], [], True
            self._rate = msg.sample_rate
            self._start = self.ctx.t0 + self.ctx.stream_t
            m = self.ctx.metrics.get(msg.turn)
            if m is not None:
                now = time.perf_counter()
                m.first_audio_ms = _ms(m.reply_wall, now)
                m.voice_to_voice_ms = _ms(m.last_voiced_wall, now)
                m.endpoint_ms = round(
                    m.voice_to_voice_ms - (m.stt_ms or 0) - (m.first_token_ms or 0) - (m.first_audio_ms or 0), 1
                )
            self.ctx.patient_speaking = True
        self.sink.play(msg.samples, msg.sample_rate)
        self._offsets.append(sum(a.size for a in self._audio) / self._rate if self._rate else 0.0)
        self._audio.append(resample(msg.samples, msg.sample_rate, self._rate))
        self._spoken.append(msg.text)
        await self.push(msg)
        if msg.last:
            await asyncio.to_thread(self.sink.drain)  # the patient is speaking until this returns
            if self._open:
                await self._finish(interrupted=False)

    async def _finish(self, *, interrupted: bool) -> None:
        self._open = False
        turn = self._turn
        audio = np.concatenate(self._audio) if self._audio else np.zeros(0, dtype=np.float32)
        meta: dict[str, Any] = {}
        path = self.ctx.audio_path(turn, "patient")
        if path is not None and self._rate:
            await asyncio.to_thread(write_wav, path, audio, self._rate)
            meta["audio"] = path.name
        m = self.ctx.metrics.get(turn)
        if m is not None:
            m.interrupted = interrupted
            meta.update({k: v for k, v in m.to_json().items() if k.endswith("_ms") and v is not None})
        if interrupted:
            meta["interrupted"] = True
        text = " ".join(s for s in self._spoken if s)
        reply = self.engine_stage.replies.pop(turn, None)
        if reply is not None:
            end = self._start + (audio.size / self._rate if self._rate else 0.0)
            await asyncio.to_thread(
                self.engine_stage.consult.add_patient_turn,
                reply,
                start=round(self._start, 3),
                end=round(end, 3),
                text=text if interrupted else None,
                meta=meta,
            )
        self.ctx.patient_speaking = False
        await self.push(TurnDone(turn, text, interrupted))
