"""`vpatient sessions list|export`."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("sessions", help="list and export stored sessions")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the session store")
    s = p.add_subparsers(dest="sessions_command", required=True, metavar="ACTION")
    ls = s.add_parser("list", help="list sessions")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=list_sessions)
    ex = s.add_parser("export", help="print a session as transcript JSON")
    ex.add_argument("id", help="session id (a unique prefix is enough)")
    ex.add_argument("--out", metavar="FILE.json", help="write to a file instead of standard output")
    ex.set_defaults(handler=export)


def list_sessions(args: argparse.Namespace) -> int:
    from vpatient.store import Store

    rows = Store(args.db).sessions()
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return 0
    for r in rows:
        print(f"{r.id}  {r.started_at[:19]}  {r.status:6}  {r.turns:3} turns  {r.persona_id}  ({r.engine})")
    return 0


def export(args: argparse.Namespace) -> int:
    from vpatient.store import Store
    from vpatient.transcript import save

    transcript = Store(args.db).transcript(args.id)
    if args.out:
        save(transcript, args.out)
    else:
        print(json.dumps(transcript.to_json(), indent=2, ensure_ascii=False))
    return 0
