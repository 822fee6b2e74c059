"""A voice consultation: the stages wired together, driven by audio files or by the devices.

File-driven (`run_files`): each file is one learner utterance, fed in 32 ms chunks as a microphone would
deliver them (in real time by default, so the latency figures mean what they say), followed by silence
until the patient's reply has been produced. Writes per-turn audio, the transcript JSON (with times) and
`timings.json`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vpatient.consultation import Consultation
from vpatient.persona.schema import Persona
from vpatient.pipeline.context import SessionContext, TurnMetrics
from vpatient.pipeline.messages import AudioChunk, AudioOut, ErrorMessage, Message, TurnDone
from vpatient.pipeline.stage import Pipeline
from vpatient.pipeline.stages import EngineStage, PlaybackStage, STTStage, TTSStage, VADStage
from vpatient.speech.audio import STT_RATE, AudioFileError, load_audio
from vpatient.speech.devices import AudioSink, VirtualSink
from vpatient.speech.stt import STT
from vpatient.speech.tts import TTS
from vpatient.speech.turn import TurnModel
from vpatient.speech.vad import FRAME, EndpointConfig, FrameVAD

STAGE_KEYS = ("voice_to_voice_ms", "endpoint_ms", "stt_ms", "first_token_ms", "first_audio_ms")


@dataclass
class SessionResult:
    metrics: list[TurnMetrics]
    errors: list[str]
    replies: list[AudioOut] = field(default_factory=list)

    def timings_json(self) -> dict[str, Any]:
        return {"turns": [m.to_json() for m in self.metrics], "summary": summarise(self.metrics)}


def percentile(values: Sequence[float], q: float) -> float:
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (k - lo), 1)


def summarise(metrics: Sequence[TurnMetrics]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key in STAGE_KEYS:
        vals = [v for m in metrics if (v := getattr(m, key)) is not None]
        if vals:
            out[key] = {
                "p50": percentile(vals, 0.5),
                "p95": percentile(vals, 0.95),
                "mean": round(statistics.fmean(vals), 1),
            }
    return out


class VoiceSession:
    def __init__(
        self,
        consultation: Consultation,
        persona: Persona,
        *,
        vad: FrameVAD,
        stt: STT,
        tts: TTS,
        sink: AudioSink | None = None,
        out_dir: Path | None = None,
        endpoint: EndpointConfig | None = None,
        turn: TurnModel | None = None,
        on_message: Callable[[Message], None] | None = None,
    ):
        """`turn`: the end-of-turn model (vpatient.speech.turn.SmartTurn); without it the fixed silence
        budget `endpoint.silence_ms` ends every turn."""
        self.consult = consultation
        self.persona = persona
        self.ctx = SessionContext(out_dir=out_dir)
        self.sink = sink or VirtualSink()
        self.endpoint = endpoint or EndpointConfig()
        self.on_message = on_message
        self.stt, self.tts = stt, tts
        self.turn = turn
        self.vad_stage = VADStage(vad, self.ctx, self.endpoint, turn=turn)
        self.engine_stage = EngineStage(consultation, self.ctx, persona)
        self.stt_stage = STTStage(stt, self.ctx)
        self.stages = [
            self.vad_stage,
            self.stt_stage,
            self.engine_stage,
            TTSStage(tts, persona),
            PlaybackStage(self.sink, self.ctx, self.engine_stage),
        ]
        self.replies: list[AudioOut] = []
        self._done: asyncio.Queue[TurnDone] | None = None

    async def _sink(self, msg: Message) -> None:
        if isinstance(msg, ErrorMessage):
            self.ctx.errors.append(f"{msg.stage}: {msg.message}")
            print(f"vpatient: {msg.stage}: {msg.message}", file=sys.stderr)
        elif isinstance(msg, AudioOut):
            self.replies.append(msg)
        elif isinstance(msg, TurnDone) and self._done is not None:
            self._done.put_nowait(msg)
        if self.on_message is not None:
            self.on_message(msg)

    async def warm_up(self) -> None:
        """Run each model once so the first turn does not pay for lazy initialisation."""
        await asyncio.to_thread(self.tts.synthesize, "Hello.")
        await asyncio.to_thread(self.stt.transcribe, np.zeros(STT_RATE, dtype=np.float32))
        if self.turn is not None:
            await asyncio.to_thread(self.turn.complete_prob, np.zeros(STT_RATE, dtype=np.float32))

    async def run_files(
        self, paths: Sequence[str | Path], *, realtime: bool = True, turn_timeout_s: float = 120.0
    ) -> SessionResult:
        self._done = asyncio.Queue()
        await self.warm_up()
        self.ctx.t0 = self.consult.clock()
        pipeline = Pipeline(self.stages, self._sink)
        pipeline.start()
        t_stream = 0.0
        start_wall = time.perf_counter()
        chunk_s = FRAME / STT_RATE
        silence = np.zeros(FRAME, dtype=np.float32)

        async def feed(samples: np.ndarray) -> None:
            nonlocal t_stream
            if realtime:
                delay = start_wall + t_stream + chunk_s - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:  # as fast as the stages go: wait for the VAD to keep up
                await asyncio.sleep(0)
                queue = self.stages[0]._queue
                while queue is not None and queue.qsize() > 2:
                    await asyncio.sleep(0.002)
            await pipeline.send(AudioChunk(samples, STT_RATE, t_stream, wall=time.perf_counter()))
            t_stream += chunk_s

        try:
            for path in paths:
                try:
                    audio = await asyncio.to_thread(load_audio, path, STT_RATE)
                except AudioFileError as exc:
                    self.ctx.errors.append(str(exc))
                    print(f"vpatient: {exc} (skipped; the session goes on)", file=sys.stderr)
                    continue
                turns_before = self.ctx.turn
                # a little room before the utterance, as a microphone would hear
                for _ in range(5):
                    await feed(silence)
                for i in range(0, audio.size, FRAME):
                    block = audio[i : i + FRAME]
                    if block.size < FRAME:
                        block = np.concatenate([block, np.zeros(FRAME - block.size, dtype=np.float32)])
                    await feed(block)
                # silence until the reply is out (or nothing was heard). The time limit is wall-clock time:
                # with --fast, stream seconds run far faster than the stages answer.
                waited = 0.0
                cfg = self.endpoint
                longest = max(cfg.silence_ms, cfg.hesitant_silence_ms, cfg.incomplete_silence_ms)
                budget = (longest + cfg.resume_ms + 1000) / 1000.0
                done: TurnDone | None = None
                give_up = time.perf_counter() + turn_timeout_s
                while time.perf_counter() < give_up:
                    await feed(silence)
                    waited += chunk_s
                    while not self._done.empty():
                        done = self._done.get_nowait()
                    if done is not None and self._quiet():
                        break
                    heard = self.ctx.turn > turns_before or self.vad_stage.endpointer.speaking
                    if not heard and waited > budget and not self._pending_work():
                        msg = f"{path}: no speech heard (check the file holds speech; nothing was answered)"
                        self.ctx.errors.append(msg)
                        print(f"vpatient: {msg}", file=sys.stderr)
                        break
                else:
                    self.ctx.errors.append(f"{path}: no reply within {turn_timeout_s:.0f} s")
            await pipeline.finish(turn_timeout_s)
        finally:
            await pipeline.stop()
        return SessionResult(list(self.ctx.metrics.values()), list(self.ctx.errors), list(self.replies))

    def _quiet(self) -> bool:
        """Nothing of the learner's is still on its way: no speech going on, no words held back as unfinished,
        no stage busy (after a reply, a file's words that went on past a pause are still a turn to answer)."""
        return not (self.vad_stage.endpointer.speaking or self.stt_stage.holding or self._pending_work())

    def _pending_work(self) -> bool:
        """A stage after the VAD (which always has audio to chew) is still busy."""
        after = self.stages[1:]
        return any(s._queue is not None and not s._queue.empty() for s in after) or any(
            s._current is not None and not s._current.done() for s in after
        )

    async def run_live(
        self, mic_factory: Callable[[Callable[[np.ndarray], None]], Any], stop: asyncio.Event
    ) -> SessionResult:
        """Live: blocks from the microphone go into the pipeline until `stop` is set (Ctrl-C)."""
        self._done = asyncio.Queue()
        await self.warm_up()
        self.ctx.t0 = self.consult.clock()
        pipeline = Pipeline(self.stages, self._sink)
        pipeline.start()
        loop = asyncio.get_running_loop()
        t_stream = 0.0

        def on_block(samples: np.ndarray) -> None:
            nonlocal t_stream
            chunk = AudioChunk(samples, STT_RATE, t_stream, wall=time.perf_counter())
            t_stream += samples.size / STT_RATE
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(pipeline.send(chunk)))

        mic = mic_factory(on_block)
        try:
            await stop.wait()
        finally:
            mic.close()
            try:
                await pipeline.finish(30.0)
            finally:
                await pipeline.stop()
        return SessionResult(list(self.ctx.metrics.values()), list(self.ctx.errors), list(self.replies))


def write_outputs(consult: Consultation, result: SessionResult, out_dir: Path) -> tuple[Path, Path]:
    from vpatient.files import write_private
    from vpatient.transcript import save

    transcript = out_dir / "transcript.json"
    consult.transcript.extra["errors"] = result.errors
    save(consult.transcript, str(transcript))
    timings = write_private(out_dir / "timings.json", json.dumps(result.timings_json(), indent=2) + "\n")
    return transcript, timings
