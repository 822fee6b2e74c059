"""`vpatient demo`: a whole consultation on the embedded defaults, no microphone, GPU or network needed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run a scripted consultation with the default persona and store it")
    p.add_argument("--persona", default=str(ROOT / "personas" / "chest_pain_exertional.yaml"), metavar="FILE")
    p.add_argument(
        "--script", default=None, metavar="FILE", help="learner utterances (default: personas/scripts/<persona id>.txt)"
    )
    p.add_argument("--out-dir", default="out/demo", metavar="DIR", help="where the transcript goes")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the session store")
    from vpatient.cli.chat_cmd import add_engine_options

    add_engine_options(p)
    p.set_defaults(handler=demo)


def demo(args: argparse.Namespace) -> int:
    from vpatient.cli.chat_cmd import chat
    from vpatient.persona.loader import load_persona

    persona = load_persona(args.persona)
    script = args.script or str(Path(args.persona).parent / "scripts" / f"{persona.id}.txt")
    out = Path(args.out_dir) / "transcript.json"
    ns = argparse.Namespace(
        persona=args.persona, script=script, out=str(out), db=args.db, engine="scripted", quiet=False
    )
    return chat(ns)
