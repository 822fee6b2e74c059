"""`vpatient talk`: a voice consultation, live (microphone and speaker) or driven by audio files."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from vpatient.errors import StoreError
from vpatient.shipped import DEFAULT_PERSONA, persona_path


def register(sub: Any) -> None:
    p = sub.add_parser(
        "talk",
        help="voice consultation: live, or one learner utterance per audio file",
        description="Live: speak to the patient (microphone and speaker; falls back to text without them). "
        "With --input-wav (or --script), runs without devices and writes the reply audio per turn, "
        "transcript.json (with times) and timings.json to --out-dir.",
    )
    p.add_argument(
        "--persona",
        default=str(DEFAULT_PERSONA),
        metavar="FILE_OR_ID",
        help="persona file, or the id of a shipped persona (default: chest_pain_exertional)",
    )
    p.add_argument("--input-wav", nargs="+", metavar="WAV", help="learner utterances, one file per turn")
    p.add_argument(
        "--script",
        metavar="FILE",
        help="learner utterances as text, one per line: synthesised in a learner voice (not the patient's), "
        "then run as --input-wav",
    )
    p.add_argument("--out-dir", default="out/talk", metavar="DIR", help="where audio, transcript and timings go")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the session store")
    p.add_argument("--stt-model", metavar="PATH", help="a CTranslate2 Whisper model folder (default: packaged tiny.en)")
    p.add_argument(
        "--stt-download",
        action="store_true",
        help="allow --stt-model to be a model hub name (e.g. small.en) fetched from the network",
    )
    p.add_argument(
        "--voice",
        default="auto",
        choices=["auto", "hibari", "piper-onnx", "piper", "flite"],
        help="patient voice engine",
    )
    p.add_argument(
        "--silence-ms",
        type=int,
        default=600,
        help="silence that ends the learner's turn when the end-of-turn model gives no verdict (%(default)s)",
    )
    p.add_argument(
        "--end-of-turn",
        default="smart",
        choices=["smart", "silence"],
        help="smart: Smart Turn judges whether the learner has finished (a short wait when they have, a long "
        "one when not); silence: a fixed --silence-ms (default: %(default)s)",
    )
    p.add_argument("--beam-size", type=int, default=5, help="speech-to-text beam search width (%(default)s)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for speech-to-text (%(default)s)")
    p.add_argument("--fast", action="store_true", help="files: feed audio as fast as possible, not in real time")
    p.add_argument(
        "--avatar",
        default="none",
        choices=["none", "desktop", "vr"],
        help="show the patient: desktop (pygame window), vr (OpenXR headset; desktop window without one), none",
    )
    from vpatient.cli.chat_cmd import add_engine_options

    add_engine_options(p, speech=True)
    from vpatient.cli.feedback import add_grade_options

    add_grade_options(p)
    from vpatient.cli.chat_cmd import add_server_options

    add_server_options(p)
    p.set_defaults(handler=talk)


def _turn_model(kind: str) -> Any:
    """Smart Turn for `smart` (with a note and the fixed budget when it is not installed), None for `silence`."""
    if kind != "smart":
        return None
    from vpatient.errors import ModelUnavailableError
    from vpatient.speech.turn import SmartTurn

    try:
        return SmartTurn()
    except ModelUnavailableError as exc:
        print(f"vpatient: {exc}; ending turns after a fixed silence instead", file=sys.stderr)
        return None


def talk(args: argparse.Namespace) -> int:
    from vpatient.cli.chat_cmd import _lines, check_engine_options, engine_from_args
    from vpatient.consultation import Consultation
    from vpatient.embeddings import default_embedder
    from vpatient.files import private_dir
    from vpatient.persona.loader import load_persona
    from vpatient.pipeline.session import VoiceSession, write_outputs
    from vpatient.speech.devices import find_devices
    from vpatient.speech.stt import WhisperSTT, persona_vocabulary
    from vpatient.speech.tts import build_tts
    from vpatient.speech.vad import EndpointConfig, SileroVAD
    from vpatient.store import Store

    if args.server:
        from vpatient.cli.remote import talk as remote_talk

        return remote_talk(args)
    args.persona = persona_path(args.persona)
    persona = load_persona(args.persona)
    check_engine_options(args)
    out_dir = private_dir(args.out_dir)
    files: list[str] = list(args.input_wav or [])
    live = not files and not args.script
    if live:
        status = find_devices()
        if not status.ok:
            print(f"vpatient: no audio devices: {status.reason}. Falling back to a text consultation.", file=sys.stderr)
            from vpatient.cli.chat_cmd import chat

            ns = argparse.Namespace(
                **{**vars(args), "script": None, "out": str(out_dir / "transcript.json"), "quiet": False}
            )
            code: int = chat(ns)
            return code
    tts = build_tts(args.voice, persona=persona)
    if args.script:
        from vpatient.speech.learner import learner_voices, synthesise_utterances

        voice = learner_voices(tts.name)[0]
        files += [str(p) for p in synthesise_utterances(_lines(args.script), out_dir / "learner_input", voice)]
        print(f"learner audio synthesised with {voice.name} (patient: {tts.name})", file=sys.stderr)
    stt = WhisperSTT(
        args.stt_model,
        threads=args.threads,
        beam_size=getattr(args, "beam_size", 5),
        vocabulary=persona_vocabulary(persona),
        allow_download=getattr(args, "stt_download", False),
    )
    turn = _turn_model(getattr(args, "end_of_turn", "smart"))
    store = Store(args.db)
    engine = engine_from_args(args, persona, default_embedder())
    consult = Consultation(persona, Path(args.persona), engine, store, learner=getattr(args, "learner", None))
    with contextlib.suppress(StoreError):  # the turns' WAVs, for review (a failing store is reported later)
        store.set_meta(consult.session_id, "audio_dir", str(out_dir.resolve()))
    name = persona.identity.name

    def show(msg: Any) -> None:
        from vpatient.pipeline.messages import PatientText, TurnDone, UserText

        if isinstance(msg, UserText):
            print(f"Learner: {msg.text}")
        elif isinstance(msg, TurnDone):
            print(f"{name}: {msg.text}{' [cut off]' if msg.interrupted else ''}")
        elif isinstance(msg, PatientText):
            pass
        sys.stdout.flush()
        if avatar is not None:
            avatar.handle(msg)

    avatar = _start_avatar(args.avatar, persona)
    sink: Any = None
    if live:
        from vpatient.speech.devices import DeviceSink

        sink = DeviceSink(rate=tts.sample_rate)
    elif not args.fast:
        # Files in real time: the patient's reply takes as long to "play" as it would aloud, so the next
        # learner file starts after it, as a learner would, and the transcript times do not overlap.
        from vpatient.speech.devices import SimulatedSpeaker

        sink = SimulatedSpeaker()
    session = VoiceSession(
        consult,
        persona,
        vad=SileroVAD(),
        stt=stt,
        tts=tts,
        sink=sink,
        out_dir=out_dir,
        endpoint=EndpointConfig(silence_ms=args.silence_ms),
        turn=turn,
        on_message=show,
    )
    print(
        f"[session {consult.session_id}] {persona.title}: {name} (voice {tts.name}, {stt.name}, "
        f"end of turn: {turn.name if turn else f'{args.silence_ms} ms of silence'})",
        file=sys.stderr,
    )
    from vpatient.pipeline.session import SessionResult

    result = SessionResult([], [])
    try:
        runner = _live(session) if live else session.run_files(files, realtime=not args.fast)
        try:
            result = asyncio.run(runner)
        except KeyboardInterrupt:  # Ctrl-C ends a live consultation; keep what was said
            result = SessionResult(list(session.ctx.metrics.values()), list(session.ctx.errors))
    finally:
        consult.end()
        if hasattr(engine, "close"):
            engine.close()
        if sink is not None and hasattr(sink, "close"):
            sink.close()
        if avatar is not None:
            avatar.close()
        if not result.metrics and not result.errors:  # the run itself failed: keep what the session saw
            result = SessionResult(list(session.ctx.metrics.values()), list(session.ctx.errors))
        transcript, timings = write_outputs(consult, result, out_dir)
    print(json.dumps(result.timings_json()["summary"]), file=sys.stderr)
    if not args.no_grade:
        from vpatient.cli.feedback import grade_consultation, report_path

        grade_consultation(consult, rubric=args.rubric, html=report_path(transcript))
    if consult.store_error is not None:
        raise StoreError(
            f"{consult.store_error}. Every turn is in {transcript} (session {consult.session_id} is marked "
            "incomplete where the database allows)"
        )
    print(
        f"transcript {transcript}, timings {timings}, audio in {out_dir}; session {consult.session_id} "
        f"stored in {store.url}",
        file=sys.stderr,
    )
    return 0


def _start_avatar(kind: str, persona: Any) -> Any:
    """The avatar front end, or None; a front end that cannot start (no display) never ends the session."""
    if kind == "none":
        return None
    from vpatient.avatar import make_frontend

    try:
        avatar = make_frontend(kind, persona)
        avatar.start()
    except Exception as exc:  # pygame and OpenGL raise their own types: report and go on
        print(f"vpatient: cannot show the avatar ({type(exc).__name__}: {exc}); continuing without it", file=sys.stderr)
        return None
    return avatar


async def _live(session: Any) -> Any:
    from vpatient.speech.devices import Microphone

    stop = asyncio.Event()
    print(
        "Listening. Speak to the patient (headphones keep the patient's voice out of the microphone); "
        "Ctrl-C ends the consultation.",
        file=sys.stderr,
    )
    try:
        return await session.run_live(lambda cb: Microphone(cb), stop)
    except (KeyboardInterrupt, asyncio.CancelledError):
        stop.set()
        raise
