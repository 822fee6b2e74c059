"""`vpatient chat`: a text consultation, interactive or from a script."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="run a text consultation with a persona")
    p.add_argument("--persona", required=True, metavar="FILE", help="persona YAML file")
    p.add_argument("--script", metavar="FILE", help="learner utterances, one per line (no interaction)")
    p.add_argument("--out", metavar="FILE.json", help="write the transcript JSON here")
    p.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of the session store (default: $VPATIENT_DB or a SQLite file in ~/.local/share/vpatient)",
    )
    p.add_argument("--engine", choices=["scripted"], default="scripted", help="persona engine")
    p.add_argument("--quiet", action="store_true", help="print only the session id")
    p.set_defaults(handler=chat)


def _lines(path: str) -> list[str]:
    text = Path(path).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def chat(args: argparse.Namespace) -> int:
    from vpatient.consultation import Consultation
    from vpatient.embeddings import default_embedder
    from vpatient.persona.engine import ScriptedEngine
    from vpatient.persona.loader import load_persona
    from vpatient.store import Store
    from vpatient.transcript import save

    persona = load_persona(args.persona)
    script = _lines(args.script) if args.script else None
    store = Store(args.db)
    engine = ScriptedEngine(persona, default_embedder())
    consult = Consultation(persona, Path(args.persona), engine, store)
    name = persona.identity.name
    def say(*parts: object, file: Any = None) -> None:
        if not args.quiet:
            print(*parts, file=file or sys.stdout)

    say(f"[session {consult.session_id}] {persona.title}: {name}. Type /quit to end.\n", file=sys.stderr)
    if not args.quiet:
        print(f"Brief: {persona.brief.strip()}\n", file=sys.stderr)
    try:
        utterances = iter(script) if script is not None else _interactive()
        for utterance in utterances:
            if script is not None:
                say(f"Learner: {utterance}")
            reply = consult.turn(utterance)
            say(f"{name}: {reply.text}")
            sys.stdout.flush()
            if args.out:
                save(consult.transcript, args.out)
    finally:
        consult.end()
        if args.out:
            save(consult.transcript, args.out)
            say(f"\ntranscript written to {args.out}", file=sys.stderr)
    if args.quiet:
        print(consult.session_id)
    else:
        print(f"session {consult.session_id} stored in {store.url}", file=sys.stderr)
    return 0


def _interactive() -> Any:
    while True:
        try:
            line = input("You: ").strip()
        except EOFError:
            return
        if line in ("/quit", "/exit"):
            return
        if line:
            yield line
