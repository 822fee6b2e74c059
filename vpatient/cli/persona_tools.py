"""`vpatient persona try` and `vpatient persona new`: faculty tools for writing patients."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any


def register_tools(psub: Any) -> None:
    t = psub.add_parser(
        "try", help="ask a persona one question: the reply, the moves read, the facts and tiers chosen, the rapport"
    )
    t.add_argument("file", metavar="FILE")
    t.add_argument("question", metavar="QUESTION", help="what the learner says")
    t.add_argument(
        "--before", action="append", default=[], metavar="LINE", help="learner lines said first (repeatable)"
    )
    t.add_argument("--json", action="store_true", help="print JSON")
    t.set_defaults(handler=try_question)
    n = psub.add_parser("new", help="write a commented persona template to start from")
    n.add_argument("file", metavar="FILE", nargs="?", help="where to write it (default: print it)")
    n.set_defaults(handler=new)


def try_question(args: argparse.Namespace) -> int:
    from vpatient.embeddings import default_embedder
    from vpatient.persona.engine import ScriptedEngine
    from vpatient.persona.loader import load_persona

    persona = load_persona(args.file)
    engine = ScriptedEngine(persona, default_embedder())
    for line in args.before:
        engine.respond(line)
    reading = engine.read(args.question)
    reply = engine.respond(args.question)
    by_id = {s.id: s for s in persona.statements()}
    out: dict[str, Any] = {
        "reply": reply.text,
        "kind": reply.kind,
        "moves": {c.text: sorted(m.value for m in c.moves) for c in reading.clauses} or sorted(reading.moves),
        "told": [{"id": sid, "tier": by_id[sid].tier.value, "topic": by_id[sid].topic} for sid in reply.disclosed],
        "rapport": reply.affect["rapport"],
        "earning_moves": engine.state.earned,
        "rapport_earned": engine.earned(),
        "emotion": reply.emotion,
        "why": reply.notes,
    }
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    print(f"patient: {out['reply']}")
    print(f"  kind: {out['kind']}; emotion: {out['emotion']}")
    for clause, moves in out["moves"].items() if isinstance(out["moves"], dict) else [("", out["moves"])]:
        print(f"  learner moves: {', '.join(moves)}  <- {clause!r}")
    for t in out["told"]:
        print(f"  told {t['id']} (tier {t['tier']}, topic {t['topic']})")
    print(
        f"  rapport {out['rapport']:.2f}, earning moves {out['earning_moves']}, rapport-tier facts "
        f"{'may' if out['rapport_earned'] else 'may not'} be told"
    )
    for note in out["why"]:
        print(f"  why: {note}")
    return 0


def new(args: argparse.Namespace) -> int:
    text = resources.files("vpatient.data").joinpath("persona_template.yaml").read_text(encoding="utf-8")
    if not args.file:
        sys.stdout.write(text)
        return 0
    path = Path(args.file)
    if path.exists():
        print(f"{path}: already exists; choose another name or delete it first", file=sys.stderr)
        return 1
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}; edit it, then: vpatient persona validate {path}", file=sys.stderr)
    return 0
