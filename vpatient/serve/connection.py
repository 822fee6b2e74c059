"""One WebSocket connection to a consultation: the protocol, and the voice pipeline behind it.

The connection runs the same stages as `vpatient talk` (VAD and end of turn, speech-to-text, the persona
engine, text-to-speech, playback), with the shared models of the server, this session's own VAD state,
and the client as the microphone and the speaker. Typed turns enter at the persona engine, so typed and
spoken turns are stored, answered and spoken in one order. The learner's turn is committed to the store
before the patient answers; the patient's once its audio has played on the client (or was cut off).

Client to server. Text frames are JSON objects:
    {"type": "text", "text": "..."}          a typed learner turn (at most 2000 characters)
    {"type": "audio", "sample_rate": 48000}  the rate of the audio frames that follow (default 16000)
    {"type": "ptt", "down": false}           push-to-talk released: the turn ends now, without the silence wait
    {"type": "end"}                          the consultation is over (stored as ended)
    {"type": "ping"}                         answered by {"type": "pong"}
Binary frames are learner audio: 16-bit little-endian mono PCM, at most 64 KiB each.

Server to client:
    {"type": "session", "session", "case", "turns", "resumed", "speech", "voice", "avatar"}   first, on every
        connect; "avatar": the patient's glTF URL and the face tables (vpatient.serve.avatar3d.face_tables)
    {"type": "state", "state": "listening" | "hearing" | "thinking" | "speaking"}   for the avatar
    {"type": "learner", "text", "turn"}                                   what was heard (or typed)
    {"type": "patient", "text", "index", "last", "turn", "emotion", "affect", "face"}   subtitles, by sentence;
        "face": the emotion's expression as ARKit weights
    {"type": "audio", "turn", "index", "sample_rate", "bytes", "text", "emotion", "phonemes", "visemes", "face"}
        then one binary frame: PCM16 mono; "visemes": {"rate", "source", "frames"}, the mouth track of this
        audio (viseme weights 0-100 per frame from its start, vpatient.serve.avatar3d.viseme_frames)
    {"type": "pause_audio"} | {"type": "resume_audio"} | {"type": "stop_audio"}  barge-in
    {"type": "turn_done", "turn", "text", "interrupted", "metrics"}       the reply is over and stored
    {"type": "error", "code", "message"}                                  the connection goes on
    {"type": "ended", "session"}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect

from vpatient.pipeline.context import SessionContext
from vpatient.pipeline.messages import (
    AudioChunk,
    AudioOut,
    EndOfStream,
    ErrorMessage,
    Message,
    PatientText,
    SpeechStarted,
    TurnDone,
    UserText,
)
from vpatient.pipeline.stage import Pipeline, Stage
from vpatient.pipeline.stages import EngineStage, PlaybackStage, STTStage, TTSStage, VADStage
from vpatient.serve.avatar3d import expression_face, face_tables, viseme_frames
from vpatient.serve.load import LoadPolicy, ReplyDecision
from vpatient.serve.models import SilentTTS
from vpatient.serve.sessions import Hub, LiveSession
from vpatient.speech.audio import STT_RATE
from vpatient.speech.devices import SimulatedSpeaker
from vpatient.speech.vad import EndpointConfig

MAX_AUDIO_FRAME = 64 * 1024
MAX_TEXT = 2000
RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
OUT_QUEUE = 4000


class ClientSpeaker(SimulatedSpeaker):
    """The client's speaker: playback takes the audio's own time (the client plays it as it arrives),
    and barge-in pauses, resumes and stops are forwarded to the client."""

    def __init__(self, conn: Connection):
        super().__init__()
        self.conn = conn
        self.gone = False

    def play(self, samples: np.ndarray, rate: int) -> None:
        if not self.gone:
            super().play(samples, rate)

    def pause(self) -> None:
        super().pause()
        self.conn.send({"type": "pause_audio"})

    def resume(self) -> None:
        super().resume()
        self.conn.send({"type": "resume_audio"})

    def stop(self) -> None:
        super().stop()
        self.conn.send({"type": "stop_audio"})

    def abandon(self) -> None:
        """The client went away: nothing is playing any more."""
        self.gone = True
        SimulatedSpeaker.stop(self)


class ServedEngineStage(EngineStage):
    """The persona engine stage, also telling the client what was heard and each sentence's subtitle (with
    the face of its emotion). Under load (`LoadPolicy`: the shared LLM queue too long) a reply is the
    scripted wording at once."""

    def __init__(self, conn: Connection, policy: LoadPolicy, *args: Any):
        super().__init__(*args)
        self.conn = conn
        self.policy = policy
        self.decisions: list[ReplyDecision] = []
        """The load decision of every LLM reply of this connection, in order."""

    def scripted_reason(self, engine: Any) -> str | None:
        decision = self.policy.decide(engine)
        if decision.queued is None:
            return None
        self.decisions.append(decision)
        if not decision.scripted:
            return None
        self.conn.hub.scripted_under_load += 1
        return decision.reason

    async def process(self, msg: Message) -> None:
        if isinstance(msg, UserText):
            self.conn.send({"type": "learner", "text": msg.text, "turn": self.ctx.turn + 1})
            self.conn.state("thinking")
        await super().process(msg)

    async def push(self, msg: Message) -> None:
        if isinstance(msg, PatientText) and (msg.text or msg.last):
            self.conn.send(
                {
                    "type": "patient",
                    "text": msg.text,
                    "index": msg.index,
                    "last": msg.last,
                    "turn": msg.turn,
                    "emotion": msg.emotion,
                    "affect": msg.affect,
                    "face": expression_face(msg.emotion),
                }
            )
        await super().push(msg)


class Connection:
    def __init__(
        self,
        ws: WebSocket,
        hub: Hub,
        live: LiveSession,
        *,
        voice: bool,
        endpoint: EndpointConfig | None = None,
        drain_s: float = 20.0,
    ):
        self.ws = ws
        self.hub = hub
        self.live = live
        self.endpoint = endpoint or EndpointConfig()
        self.drain_s = drain_s
        models = hub.models
        self.speech = models.stt is not None
        self.voice = voice and self.speech
        self.ctx = SessionContext()
        self.ctx.out_dir = hub.session_audio(live.id)  # the turns' WAVs, when the server keeps audio
        self.speaker = ClientSpeaker(self)
        persona = live.case.persona
        policy = LoadPolicy(models.options.llm_max_queue)
        self.engine_stage = ServedEngineStage(self, policy, live.consult, self.ctx, persona)
        tts = models.voice(persona) if self.voice else SilentTTS()
        stages: list[Stage] = []
        if self.speech:
            assert models.stt is not None
            stages += [VADStage(models.vad(), self.ctx, self.endpoint), STTStage(models.stt, self.ctx)]
        stages += [self.engine_stage, TTSStage(tts, persona), PlaybackStage(self.speaker, self.ctx, self.engine_stage)]
        self.stages = stages
        self.pipeline = Pipeline(stages, self._on_message)
        self._out: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(OUT_QUEUE)
        self._drained = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._ending = False
        self._rate = STT_RATE
        self._t_stream = 0.0
        self._speaking_turn = 0

    # ------------------------------------------------------------------ sending
    def send(self, obj: dict[str, Any]) -> None:
        self._put(("json", obj))

    def state(self, state: str) -> None:
        self.send({"type": "state", "state": state})

    def error(self, code: str, message: str) -> None:
        self.send({"type": "error", "code": code, "message": message})

    def _put(self, item: tuple[str, Any]) -> None:
        try:
            self._out.put_nowait(item)
        except asyncio.QueueFull:  # the client stopped reading: let it go, keep serving the others
            self.kick(1008, "the client did not read its messages")

    async def _writer(self) -> None:
        while True:
            kind, data = await self._out.get()
            if kind == "json":
                await self.ws.send_text(json.dumps(data))
            else:
                await self.ws.send_bytes(data)

    # ------------------------------------------------------------------ pipeline output
    async def _on_message(self, msg: Message) -> None:
        if isinstance(msg, AudioOut):
            if msg.turn != self._speaking_turn:
                self._speaking_turn = msg.turn
                self.state("speaking")
            if msg.samples.size and not self.speaker.gone:
                pcm = (np.clip(msg.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
                visemes = await asyncio.to_thread(viseme_frames, msg.samples, msg.sample_rate, msg.phonemes)
                self.send(
                    {
                        "type": "audio",
                        "turn": msg.turn,
                        "index": msg.index,
                        "sample_rate": msg.sample_rate,
                        "bytes": len(pcm),
                        "emotion": msg.emotion,
                        "text": msg.text,
                        "phonemes": msg.phonemes,
                        "visemes": visemes,
                        "face": expression_face(msg.emotion),
                    }
                )
                self._put(("bytes", pcm))
        elif isinstance(msg, TurnDone):
            m = self.ctx.metrics.get(msg.turn)
            metrics = m.to_json() if m is not None else {}
            self.send(
                {"type": "turn_done", "turn": msg.turn, "text": msg.text, "interrupted": msg.interrupted, **metrics}
            )
            self.state("listening")
        elif isinstance(msg, ErrorMessage):
            self.error(f"stage:{msg.stage}", msg.message)
        elif isinstance(msg, SpeechStarted):
            self.state("hearing")
        elif isinstance(msg, EndOfStream):
            self._drained.set()

    # ------------------------------------------------------------------ the connection's life
    def kick(self, code: int = 4000, reason: str = "replaced by a newer connection to this session") -> None:
        """End this connection from outside (a newer connection for the same session, or a slow reader)."""
        if self._close is None:
            self._close = (code, reason)
        if self._receiver is not None:
            self._receiver.cancel()

    async def serve(self, *, resumed: bool) -> None:
        writer = asyncio.create_task(self._writer())
        self.ctx.t0 = self.live.consult.clock()
        # turn numbers go on from the stored turns (a resumed session)
        self.ctx.turn = sum(1 for t in self.live.consult.transcript.turns if t.role == "learner")
        self.pipeline.start()
        consult = self.live.consult
        self.send(
            {
                "type": "session",
                "session": self.live.id,
                "case": self.live.case.to_json(),
                "turns": [t.to_json() for t in consult.transcript.turns],
                "resumed": resumed,
                "speech": self.speech,
                "voice": self.voice,
                "avatar": {"model": f"/api/cases/{self.live.case.id}/patient.glb", **face_tables()},
            }
        )
        self.state("listening")
        pending: asyncio.Task[None] | None = None
        if self.live.pending is not None:
            pending = asyncio.create_task(self._answer_pending(self.live.pending))
            self.live.pending = None
        self._receiver = asyncio.create_task(self._receive_loop())
        if self._close is not None:
            self._receiver.cancel()
        try:
            await asyncio.wait({self._receiver})
        finally:
            if not self._receiver.done():
                self._receiver.cancel()
            await self._teardown(writer, pending)

    async def _teardown(self, writer: asyncio.Task[None], pending: asyncio.Task[None] | None) -> None:
        gone = not self._ending
        if gone:
            self.speaker.abandon()  # nothing plays any more: a reply in progress is stored at once
        try:
            # finish the work under way (a learner turn already stored gets its answer stored too)
            await self.pipeline.send(EndOfStream())
            await asyncio.wait_for(self._drained.wait(), self.drain_s)
            if pending is not None:
                await asyncio.wait_for(pending, self.drain_s)
        except (TimeoutError, asyncio.CancelledError):
            pass
        finally:
            await self.pipeline.stop()
            if self._ending:
                await self.hub.end(self.live)
                self.send({"type": "ended", "session": self.live.id})
            if not gone:  # let the last messages out
                with contextlib.suppress(TimeoutError):
                    for _ in range(200):
                        if self._out.empty():
                            break
                        await asyncio.sleep(0.01)
            writer.cancel()
            with contextlib.suppress(BaseException):
                await writer
            code, reason = self._close or (1000, "")
            with contextlib.suppress(Exception):
                await self.ws.close(code, reason or None)

    async def _answer_pending(self, utterance: str) -> None:
        """After a restart: the learner's last turn was stored but never answered; answer it now."""
        consult = self.live.consult
        self.state("thinking")
        reply = await asyncio.to_thread(consult.respond, utterance)
        now = consult.clock()
        await asyncio.to_thread(
            consult.add_patient_turn, reply, start=now, end=now, meta={"answered_after_restart": True}
        )
        turn = self.ctx.turn  # the stored learner turn's number
        self.send(
            {
                "type": "patient",
                "text": reply.text,
                "index": 0,
                "last": True,
                "turn": turn,
                "emotion": reply.emotion,
                "affect": reply.affect,
            }
        )
        self.send({"type": "turn_done", "turn": turn, "text": reply.text, "interrupted": False})
        self.state("listening")

    async def _receive_loop(self) -> None:
        while True:
            try:
                msg = await self.ws.receive()
            except WebSocketDisconnect:
                return
            if msg["type"] == "websocket.disconnect":
                return
            data = msg.get("bytes")
            if data is not None:
                await self._audio(data)
                continue
            text = msg.get("text")
            if text is not None and await self._command(text):
                return

    async def _command(self, raw: str) -> bool:
        """Handles one JSON message; True when the connection should end."""
        try:
            obj = json.loads(raw)
        except ValueError:
            self.error("bad_json", 'messages must be JSON objects, e.g. {"type": "text", "text": "Hello"}')
            return False
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            self.error("bad_message", 'messages must be JSON objects with a "type"')
            return False
        kind = obj["type"]
        if kind == "text":
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                self.error("bad_text", 'a text message needs a non-empty "text"')
            elif len(text) > MAX_TEXT:
                self.error("too_long", f"a turn is at most {MAX_TEXT} characters (got {len(text)})")
            else:
                await self._typed(text.strip())
        elif kind == "audio":
            rate = obj.get("sample_rate")
            if not self.speech:
                self.error("no_speech", "this server was started without speech recognition; type instead")
            elif rate not in RATES:
                self.error("bad_rate", f"sample_rate must be one of {', '.join(map(str, RATES))} (got {rate!r})")
            else:
                self._rate = int(rate)
        elif kind == "ptt":
            if obj.get("down") is False and self.speech:
                await self._end_of_speech()
        elif kind == "end":
            self._ending = True
            return True
        elif kind == "ping":
            self.send({"type": "pong"})
        else:
            self.error("unknown_type", f"unknown message type {kind!r}")
        return False

    async def _typed(self, text: str) -> None:
        now_t = self.live.consult.clock() - self.ctx.t0
        interrupted = self.ctx.patient_speaking
        await self.engine_stage.receive(
            UserText(
                text,
                now_t,
                now_t,
                np.zeros(0, dtype=np.float32),
                time.perf_counter(),
                0.0,
                interrupted=interrupted,
            )
        )

    async def _audio(self, data: bytes) -> None:
        if not self.speech:
            self.error("no_speech", "this server was started without speech recognition; type instead")
            return
        if len(data) > MAX_AUDIO_FRAME:
            self.error("frame_too_large", f"audio frames are at most {MAX_AUDIO_FRAME} bytes (got {len(data)})")
            return
        if len(data) % 2:
            self.error("bad_audio", "audio frames are 16-bit PCM: an even number of bytes")
            return
        samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        await self._feed(samples, self._rate)

    async def _feed(self, samples: np.ndarray, rate: int) -> None:
        chunk = AudioChunk(samples, rate, self._t_stream, wall=time.perf_counter())
        self._t_stream += samples.size / rate
        await self.pipeline.send(chunk)

    async def _end_of_speech(self) -> None:
        """Push-to-talk released: enough silence (in stream time, at once) for the end of turn to fire."""
        ms = max(self.endpoint.silence_ms, self.endpoint.hesitant_silence_ms) + 200
        await self._feed(np.zeros(STT_RATE * ms // 1000, dtype=np.float32), STT_RATE)
