"""`vpatient demo`: a whole consultation on the embedded defaults, no microphone, GPU or network needed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vpatient.shipped import DEFAULT_PERSONA, persona_path


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run a scripted consultation with the default persona and store it")
    p.add_argument(
        "--persona",
        default=str(DEFAULT_PERSONA),
        metavar="FILE_OR_ID",
        help="persona file, or the id of a shipped persona (default: chest_pain_exertional)",
    )
    p.add_argument(
        "--script", default=None, metavar="FILE", help="learner utterances (default: personas/scripts/<persona id>.txt)"
    )
    p.add_argument("--out-dir", default="out/demo", metavar="DIR", help="where the transcript goes")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the session store")
    p.add_argument("--no-grade", action="store_true", help="skip grading the consultation")
    p.add_argument("--text", action="store_true", help="a text consultation instead of a voice one (faster)")
    from vpatient.cli.chat_cmd import add_engine_options

    add_engine_options(p, speech=True)
    p.set_defaults(handler=demo)


def _voice(args: argparse.Namespace, script: str) -> int:
    """The script spoken by a synthetic learner voice, heard, answered and spoken by the patient."""
    from vpatient.cli.talk_cmd import register as register_talk
    from vpatient.cli.talk_cmd import talk
    from vpatient.errors import VPatientError

    # Every option of `vpatient talk` at its default (so that a new talk option never breaks the demo), then
    # the demo's own: its persona, output folder, store and engine options, and the script in a learner voice.
    talk_parser = argparse.ArgumentParser(prog="vpatient")
    register_talk(talk_parser.add_subparsers(dest="command"))
    defaults = vars(talk_parser.parse_args(["talk", "--script", script]))
    options = {**defaults, **{k: v for k, v in vars(args).items() if k in defaults}, "script": script, "avatar": "none"}
    try:
        return talk(argparse.Namespace(**options))
    except (VPatientError, ImportError) as exc:
        from vpatient.cli.chat_cmd import chat

        print(f"vpatient: the voice loop cannot run here ({exc}); running the consultation as text", file=sys.stderr)
        out = str(Path(args.out_dir) / "transcript.json")
        return chat(argparse.Namespace(**{**vars(args), "script": script, "out": out, "quiet": False}))


def demo(args: argparse.Namespace) -> int:
    from vpatient.cli.chat_cmd import chat
    from vpatient.persona.loader import load_persona

    args.persona = persona_path(args.persona)
    persona = load_persona(args.persona)
    script = args.script or str(Path(args.persona).parent / "scripts" / f"{persona.id}.txt")
    out = Path(args.out_dir) / "transcript.json"
    if args.text:
        code = chat(argparse.Namespace(**{**vars(args), "script": script, "out": str(out), "quiet": False}))
    else:
        code = _voice(args, script)
    if code != 0 or args.no_grade:
        return code
    # Grade the consultation with the rubric of the persona's scenario, as an assessor would see it.
    from vpatient import transcript as tjson
    from vpatient.embeddings import default_embedder
    from vpatient.grading.grader import Grader
    from vpatient.grading.report import html_report, text_summary, write_text
    from vpatient.grading.rubric import load_rubric, resolve
    from vpatient.terminal import finite

    rubric = load_rubric(persona.scenario)
    print(f"rubric {rubric.id}: {resolve(persona.scenario)}", file=sys.stderr)
    t = tjson.load(out)
    grade = Grader(rubric, default_embedder()).grade(t)
    write_text(out.parent / "grade.json", json.dumps(finite(grade.to_json()), indent=2) + "\n")
    write_text(out.parent / "report.html", html_report(grade, t, rubric))
    print("\n" + text_summary(grade))
    print(f"\nin {out.parent}/: transcript.json, grade.json, report.html (and for voice: timings.json, audio)")
    return 0
