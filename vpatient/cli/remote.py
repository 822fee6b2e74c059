"""`vpatient chat --server URL` and `vpatient talk --server URL`: the same consultations, with the models on
a `vpatient serve` server. The client only sends what the learner says (typed lines, or audio) and shows,
plays and saves what comes back; every turn is stored by the server."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any


def case_id(persona: str) -> str:
    """A case id from --persona (an id, or a persona file named after its id)."""
    return Path(persona).stem if persona.endswith((".yaml", ".yml")) or "/" in persona else persona


def _client(args: argparse.Namespace) -> Any:
    try:
        from vpatient.serve.client import ServerClient
    except ImportError as exc:
        from vpatient.errors import ModelUnavailableError

        raise ModelUnavailableError(
            f"--server needs the serve extra ({exc.name} is missing): pip install -e '.[serve]'"
        ) from exc
    return ServerClient(args.server)


def _open(args: argparse.Namespace, *, voice: bool) -> tuple[Any, dict[str, Any]]:
    client = _client(args)
    sid = getattr(args, "session", None) or client.start(case_id(args.persona), learner=getattr(args, "learner", None))
    hello = client.connect(sid, voice=voice)
    case = hello["case"]
    print(
        f"[session {sid} on {args.server}{', resumed' if hello['resumed'] else ''}] {case['title']}: {case['name']}. "
        "Type /quit to end.\n",
        file=sys.stderr,
    )
    if not getattr(args, "quiet", False):
        print(f"Brief: {case['brief']}\n", file=sys.stderr)
        for turn in hello["turns"]:
            who = "Learner" if turn["role"] == "learner" else case["name"]
            print(f"{who}: {turn['text']}")
    return client, hello


def chat(args: argparse.Namespace) -> int:
    from vpatient.cli.chat_cmd import _interactive, _lines

    script = _lines(args.script) if args.script else None
    client, hello = _open(args, voice=False)
    name = hello["case"]["name"]
    ended = False
    try:
        for utterance in iter(script) if script is not None else _interactive():
            if script is not None and not args.quiet:
                print(f"Learner: {utterance}")
            reply = client.say(utterance)
            if not args.quiet:
                print(f"{name}: {reply.text}", flush=True)
        client.end()
        ended = True
    finally:
        client.close()
    sid = hello["session"]
    if args.out:
        from vpatient.files import write_private

        write_private(Path(args.out), json.dumps(client.transcript(sid), indent=2) + "\n")
    if args.quiet:
        print(sid)
    else:
        print(f"session {sid} {'ended and ' if ended else ''}stored on {args.server}", file=sys.stderr)
    return 0


def talk(args: argparse.Namespace) -> int:
    """Audio files (one learner turn each; --script synthesises them) or, live, the microphone."""
    from vpatient.files import private_dir, write_private
    from vpatient.speech.audio import STT_RATE, load_audio, write_wav

    out_dir = private_dir(args.out_dir)
    files: list[str] = list(args.input_wav or [])
    if args.script:
        from vpatient.cli.chat_cmd import _lines
        from vpatient.speech.learner import learner_voices, synthesise_utterances

        voice = learner_voices()[0]
        files += [str(p) for p in synthesise_utterances(_lines(args.script), out_dir / "learner_input", voice)]
    if not files:
        return _live(args)
    import numpy as np

    client, hello = _open(args, voice=True)
    name = hello["case"]["name"]
    timings = []
    try:
        for path in files:
            audio = load_audio(path, STT_RATE)
            pad = np.zeros(STT_RATE // 4, dtype=np.float32)
            reply = client.speak(np.concatenate([pad, audio, pad]), STT_RATE, realtime=not args.fast)
            print(f"Learner: {reply.learner}\n{name}: {reply.text}", flush=True)
            if reply.audio:
                rate = reply.audio[0][0]
                write_wav(
                    out_dir / f"turn{reply.turn:02d}_patient.wav", np.concatenate([a for _, a in reply.audio]), rate
                )
            timings.append({"turn": reply.turn, "learner_text": reply.learner, **reply.metrics})
        client.end()
    finally:
        client.close()
    sid = hello["session"]
    write_private(out_dir / "transcript.json", json.dumps(client.transcript(sid), indent=2) + "\n")
    write_private(out_dir / "timings.json", json.dumps({"turns": timings}, indent=2) + "\n")
    print(f"transcript and audio in {out_dir}; session {sid} stored on {args.server}", file=sys.stderr)
    return 0


def _live(args: argparse.Namespace) -> int:
    """The microphone streams to the server; the patient's audio plays on the speaker."""
    from vpatient.speech.devices import DeviceSink, Microphone, find_devices

    status = find_devices()
    if not status.ok:
        print(f"vpatient: no audio devices: {status.reason}. Falling back to a text consultation.", file=sys.stderr)
        ns = argparse.Namespace(**{**vars(args), "script": None, "out": None, "quiet": False})
        return chat(ns)
    client, hello = _open(args, voice=True)
    name = hello["case"]["name"]
    sink = DeviceSink()
    send_lock = threading.Lock()
    client.send({"type": "audio", "sample_rate": 16000})

    def on_block(samples: Any) -> None:
        import numpy as np

        with send_lock:
            client.ws.send((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())

    mic = Microphone(on_block)
    print("Listening (hands-free). Ctrl-C ends the consultation.", file=sys.stderr)
    try:
        while True:
            msg = client._next(3600)
            kind = msg.get("type")
            if kind == "learner":
                print(f"Learner: {msg['text']}", flush=True)
            elif kind == "turn_done":
                print(f"{name}: {msg['text']}{' [cut off]' if msg.get('interrupted') else ''}", flush=True)
            elif kind == "audio":
                sink.play(msg["samples"], int(msg["sample_rate"]))
            elif kind == "stop_audio":
                sink.stop()
            elif kind == "pause_audio":
                sink.pause()
            elif kind == "resume_audio":
                sink.resume()
            elif kind == "error":
                print(f"vpatient: {msg['message']}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        mic.close()
        with send_lock:
            client.end()
        sink.close()
    return 0
