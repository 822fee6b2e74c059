"""`vpatient bench ...`: benchmarks. Each sub-action registers itself on the `bench` parser;
`bench inference` compares batched with one-at-a-time serving (vpatient.inference.bench)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("bench", help="benchmarks (inference, ...)")
    actions = p.add_subparsers(dest="bench_action", required=True, metavar="ACTION")
    register_inference(actions)
    from vpatient.cli.grade_cmd import register_bench_grader

    register_bench_grader(actions)
    register_engine(actions)
    register_latency(actions)
    register_avatar(actions)
    register_serve(actions)


def register_serve(actions: Any) -> None:
    p = actions.add_parser(
        "serve",
        help="N simulated students speaking at once to a running `vpatient serve`",
        description="Each student streams synthesised questions (flite) in real time, hands-free, and waits "
        "for the spoken reply; prints voice-to-voice p50/p95, turns sent and stored, errors and the "
        "server's CPU and memory per number of students.",
    )
    p.add_argument("--server", required=True, metavar="URL", help="e.g. http://127.0.0.1:8000")
    p.add_argument("--sessions", default="1,2,4", help="comma-separated student counts (default: %(default)s)")
    p.add_argument("--turns", type=int, default=4, help="questions per student (default: %(default)s)")
    p.add_argument("--case", default="chest_pain_exertional", help="case id (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_bench_serve)


def _bench_serve(args: argparse.Namespace) -> int:
    from vpatient.serve.bench import bench_serve

    counts = [int(x) for x in args.sessions.split(",") if x.strip()]
    report = bench_serve(args.server, counts, turns=args.turns, case=args.case)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for run in report["runs"]:
        v = run["voice_to_voice_ms"]
        print(
            f"{run['sessions']:3} students: voice-to-voice p50 {v['p50']:7.1f} ms p95 {v['p95']:7.1f} ms; "
            f"turns sent {run['turns_sent']}, stored {run['turns_stored']}; errors {run['errors']}, "
            f"refused {run['refused']}, failed {run['failed']}; server CPU {run['server_cpu_cores']} cores, "
            f"{run['server_max_rss_mb']} MB"
        )
    return 0


def register_latency(actions: Any) -> None:
    p = actions.add_parser(
        "latency",
        help="voice loop: voice-to-voice latency per stage, and recognition word error rate",
        description="Plays synthesised learner questions (a flite voice, never the patient's) in real time "
        "through the voice loop with the embedded defaults and prints p50/p95 of voice_to_voice_ms and of "
        "each stage; then the word error rate on synthesised clinical utterances.",
    )
    p.add_argument("--questions", type=int, default=24, help="learner questions to play (default: %(default)s)")
    p.add_argument("--stt-model", metavar="PATH", help="a CTranslate2 Whisper model folder (default: tiny.en)")
    p.add_argument("--silence-ms", type=int, default=600, help="end-of-turn silence budget (default: %(default)s)")
    p.add_argument(
        "--end-of-turn",
        default="smart",
        choices=["smart", "silence"],
        help="smart: Smart Turn's verdict sets the wait; silence: a fixed --silence-ms (default: %(default)s)",
    )
    p.add_argument("--beam-size", type=int, default=5, help="speech-to-text beam width (default: %(default)s)")
    p.add_argument("--skip-hesitation", action="store_true", help="skip the turns with pauses inside them")
    p.add_argument("--skip-wer", action="store_true", help="latency only")
    p.add_argument("--skip-latency", action="store_true", help="word error rate only")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_bench_latency)


def _bench_latency(args: argparse.Namespace) -> int:
    import os

    from vpatient.speech.bench import bench_hesitation, bench_latency, bench_wer

    report: dict[str, Any] = {"load_average_before": [round(x, 2) for x in os.getloadavg()]}
    opts = {"end_of_turn": args.end_of_turn, "beam_size": args.beam_size}
    if not args.skip_latency:
        report.update(bench_latency(args.questions, args.stt_model, silence_ms=args.silence_ms, **opts))
        if not args.skip_hesitation:
            report["hesitation"] = bench_hesitation(silence_ms=args.silence_ms, **opts)
    if not args.skip_wer:
        report["recognition"] = bench_wer(args.stt_model, beam_size=args.beam_size)
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for key in ("voice_to_voice_ms", "endpoint_ms", "stt_ms", "first_token_ms", "first_audio_ms"):
        if key in report:
            print(f"{key:18} p50 {report[key]['p50']:7.1f}  p95 {report[key]['p95']:7.1f}")
    if "turns" in report:
        print(
            f"{report['turns']} turns; learner voice {report['learner_voice']}, "
            f"patient voice {report['patient_voice']}; "
            f"end of turn: {report['end_of_turn']} ({report['complete_verdicts']} judged complete); "
            f"WER on the questions {report['wer_percent_on_questions']}%"
        )
    if "hesitation" in report:
        h = report["hesitation"]
        wait = h["endpoint_ms"]["p50"] if h["endpoint_ms"] else float("nan")
        print(
            f"hesitation: {h['turns_played']} turns with pauses inside, {h['heard_whole']} heard whole, "
            f"{h['cut_off']} cut off or garbled, "
            f"{h['held_turns']} held for an unfinished transcript; end-of-turn wait p50 {wait:.0f} ms"
        )
    if "recognition" in report:
        r = report["recognition"]
        print(
            f"WER {r['wer_percent']}% on {r['utterances']} clinical utterances (beam {r['beam_size']}, vocabulary "
            f"in the prompt; greedy without it: {r['wer_percent_plain']}%); by voice {r['wer_percent_by_voice']}"
        )
    print(f"load average before {report['load_average_before']}, after {report['load_average_after']}")
    return 0


def register_engine(actions: Any) -> None:
    p = actions.add_parser("engine", help="scripted persona engine: time per reply on every shipped persona")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_bench_engine)


def _bench_engine(args: argparse.Namespace) -> int:
    from vpatient.persona.bench import bench_engine

    result = bench_engine()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for row in result["personas"]:
            print(
                f"{row['persona']:28} {row['turns']:3} replies  p50 {row['reply_ms']['p50']:6.1f} ms  "
                f"p95 {row['reply_ms']['p95']:6.1f} ms  engine start {row['start_ms']:7.0f} ms"
            )
        print(
            f"all: p50 {result['reply_ms']['p50']:.1f} ms, p95 {result['reply_ms']['p95']:.1f} ms "
            f"(model load {result['model_load_ms']:.0f} ms)"
        )
    return 0


def register_inference(actions: Any) -> None:
    p = actions.add_parser(
        "inference",
        help="simulated concurrent sessions, batched vs one at a time",
        description="Simulates N concurrent sessions asking typical questions, served batched and one at "
        "a time by the same backend and model; prints tokens/s and first-token / reply latency.",
    )
    p.add_argument("--backend", default="llamacpp", choices=["llamacpp", "transformers", "openai"])
    p.add_argument(
        "--model",
        metavar="PATH",
        help="llamacpp: a .gguf file (default: packaged SmolLM2-135M); transformers: a Hugging Face folder, "
        "'smollm2' (the packaged GGUF dequantised; needs gguf and accelerate) or 'tiny' (random test "
        "model); openai: the model name",
    )
    p.add_argument("--endpoint", metavar="URL", help="openai: base URL, e.g. http://127.0.0.1:8080/v1")
    p.add_argument("--sessions", default="1,4,8", metavar="N,N,...", help="session counts (default: %(default)s)")
    p.add_argument("--turns", type=int, default=2, help="questions per session (default: %(default)s)")
    p.add_argument("--max-tokens", type=int, default=32, help="reply length cap (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for local backends")
    p.add_argument("--json", action="store_true", help="print the JSON report")
    p.set_defaults(handler=bench_inference)


def _backend(args: argparse.Namespace, slots: int, scratch: str) -> Any:
    from vpatient.inference import create_backend

    if args.backend == "llamacpp":
        return create_backend("llamacpp", model=args.model, n_parallel=slots, ctx_per_slot=1024, n_threads=args.threads)
    if args.backend == "transformers":
        model = args.model or "tiny"
        if model == "tiny":
            return create_backend("transformers", model=f"tiny:{scratch}/tiny", batch_size=slots, threads=args.threads)
        if model == "smollm2":
            from vpatient.inference.llamacpp import packaged_model_path

            gguf = packaged_model_path()
            return create_backend(
                "transformers",
                model=str(gguf.parent),
                gguf_file=gguf.name,
                batch_size=slots,
                threads=args.threads,
            )
        return create_backend("transformers", model=model, batch_size=slots, threads=args.threads)
    return create_backend("openai", endpoint=args.endpoint, model=args.model, concurrency=slots)


def bench_inference(args: argparse.Namespace) -> int:
    from vpatient.inference.bench import run_bench

    try:
        sessions = [int(s) for s in args.sessions.split(",") if s.strip()]
    except ValueError:
        print(
            f"vpatient: --sessions {args.sessions!r}: give whole numbers separated by commas, e.g. 1,4,8",
            file=sys.stderr,
        )
        return 2
    if not sessions or min(sessions) < 1:
        print("vpatient: --sessions needs at least one count of 1 or more", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="vpatient-bench-") as scratch:
        backend = _backend(args, max(sessions), scratch)
        report = run_bench(backend, sessions, turns=args.turns, max_tokens=args.max_tokens)
        backend.close()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"backend {report['backend']}  model {report['model']}  ({args.turns} turns/session, "
        f"<= {args.max_tokens} tokens, latency from submission)"
    )
    print(f"{'sessions':>8} {'mode':>10} {'tok/s':>7} {'first p50':>9} {'p95':>6} {'reply p50':>9} {'p95':>6}")
    for row in report["results"]:
        for mode in ("batched", "sequential"):
            r = row[mode]
            print(
                f"{row['sessions']:>8} {mode:>10} {r['tokens_per_s']:>7} {r['first_token_ms']['p50']:>9} "
                f"{r['first_token_ms']['p95']:>6} {r['reply_ms']['p50']:>9} {r['reply_ms']['p95']:>6}"
            )
        print(f"{'':>8} {'speedup':>10} {row['speedup']:>7}")
    return 0


def register_avatar(actions: Any) -> None:
    p = actions.add_parser(
        "avatar",
        help="desktop avatar frame rate (offscreen, 3D patient) while a scripted consultation runs",
        description="Renders the desktop avatar offscreen while the scripted engine answers a persona's "
        "question file in a thread (with a fake voice driving the lip-sync); prints frames per second. "
        "Runs uncapped (capacity) and capped at --fps (what a window would show); goal 60.",
    )
    p.add_argument("--seconds", type=float, default=10.0, help="duration of each run (default: %(default)s)")
    p.add_argument("--size", default="1280x720", metavar="WxH", help="frame size (default: %(default)s)")
    p.add_argument("--fps", type=int, default=60, help="cap for the second run; 0 skips it (default: %(default)s)")
    p.add_argument("--persona", default="chest_pain_exertional", help="persona id (default: %(default)s)")
    p.add_argument("--window", action="store_true", help="draw in a real window instead of offscreen")
    p.add_argument(
        "--renderer", default="auto", choices=["auto", "3d", "2d"], help="3D patient or 2D face (default: %(default)s)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_bench_avatar)


def _bench_avatar(args: argparse.Namespace) -> int:
    from vpatient.avatar.bench import bench_avatar

    w, _, h = args.size.partition("x")
    size = (int(w), int(h))
    runs = [bench_avatar(args.seconds, size, args.persona, 0, args.window, args.renderer)]
    if args.fps:
        runs.append(bench_avatar(args.seconds, size, args.persona, args.fps, args.window, args.renderer))
    if args.json:
        print(json.dumps(runs, indent=2))
    else:
        for r in runs:
            cap = f"capped at {r['cap_fps']}" if r["cap_fps"] else "uncapped"
            cap += " window" if args.window else ""
            print(
                f"avatar {r['renderer']} {r['size']} {cap:14} {r['fps']:7.1f} fps  "
                f"p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  "
                f"({r['frames']} frames, {r['replies']} replies in {r['seconds']:.0f} s)"
            )
    return 0
