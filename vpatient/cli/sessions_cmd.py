"""`vpatient sessions list|export|grades`."""

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
    gr = s.add_parser("grades", help="list the stored grades (of one session, oldest first)")
    gr.add_argument("id", nargs="?", help="session id (a unique prefix is enough); default: every session")
    gr.add_argument("--json", action="store_true", help="print JSON (each grade with its grade JSON)")
    gr.set_defaults(handler=list_grades)


def list_sessions(args: argparse.Namespace) -> int:
    from vpatient.store import Store

    rows = Store(args.db).sessions()
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2))
        return 0
    for r in rows:
        who = f"  learner {r.learner}" if r.learner else ""
        print(f"{r.id}  {r.started_at[:19]}  {r.status:6}  {r.turns:3} turns  {r.persona_id}  ({r.engine}){who}")
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


def list_grades(args: argparse.Namespace) -> int:
    from vpatient.store import Store

    store = Store(args.db)
    session = store.session(args.id).id if args.id else None
    rows = store.grades(session)
    if args.json:
        print(json.dumps([r.to_json() for r in rows], indent=2, ensure_ascii=False))
        return 0
    current = {r.id for r in store.current_grades()}
    for r in rows:
        mark = "*" if r.id in current else " "
        print(
            f"{r.id:5d}{mark} {r.session_id}  {r.created_at[:19]}  {r.rubric_id}  {r.score:g}/{r.max_score:g} "
            f"({r.percent:g}%{', pass' if r.passed else ''})  rubric {r.rubric_hash[:8]}  grader {r.grader_version}"
        )
    if rows:
        print("* = the current grade of that session and rubric")
    return 0
