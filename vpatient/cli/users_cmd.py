"""`vpatient users add|list|assign|passwd|disable|enable`: the accounts of the web app (`vpatient serve`).

Passwords are read from standard input (the first line), never from the command line, where other users
of the machine could see them in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("users", help="accounts of the web app: students, assessors, faculty, admins")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the session store (default: $VPATIENT_DB)")
    s = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = s.add_parser("add", help="add a user; the password is read from standard input")
    add.add_argument("name", help="user name (letters, digits and . _ @ -)")
    add.add_argument("--role", required=True, choices=["student", "assessor", "faculty", "admin"])
    add.add_argument("--cohort", metavar="C", help="a student's cohort, or the cohort an assessor reviews")
    add.set_defaults(handler=add_user)
    ls = s.add_parser("list", help="list the users with their roles and cohorts")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=list_users)
    assign = s.add_parser(
        "assign", help="put a student in a cohort, or assign an assessor (or faculty member) to review one"
    )
    assign.add_argument("name")
    assign.add_argument("--cohort", required=True, metavar="C")
    assign.set_defaults(handler=assign_cohort)
    pw = s.add_parser("passwd", help="set a new password (from standard input); signs the user out everywhere")
    pw.add_argument("name")
    pw.set_defaults(handler=passwd)
    for action, active in (("disable", False), ("enable", True)):
        a = s.add_parser(
            action, help=f"{action} an account ({'signs it out' if not active else 'allows sign-in again'})"
        )
        a.add_argument("name")
        a.set_defaults(handler=set_active, active=active)


def _password() -> str:
    """The first line of standard input (a prompt without echo when it is a terminal)."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            from vpatient.errors import UsageError

            raise UsageError("the two passwords differ; try again")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _accounts(args: argparse.Namespace) -> Any:
    from vpatient.store import Store
    from vpatient.store.accounts import Accounts

    return Accounts(Store(args.db))


def add_user(args: argparse.Namespace) -> int:
    from vpatient.store.accounts import check_name

    check_name(args.name)
    accounts = _accounts(args)
    user = accounts.add_user(args.name, args.role, _password(), cohort=args.cohort)
    where = f" in cohort {args.cohort}" if args.cohort else ""
    print(f"user {user.name} added ({user.role}{where})", file=sys.stderr)
    return 0


def list_users(args: argparse.Namespace) -> int:
    users = _accounts(args).users()
    if args.json:
        print(json.dumps([u.to_json() for u in users], indent=2))
        return 0
    for u in users:
        parts = [f"{u.name:20} {u.role:9}"]
        if u.cohorts:
            parts.append(f"cohorts: {', '.join(u.cohorts)}")
        if u.assesses:
            parts.append(f"reviews: {', '.join(u.assesses)}")
        if not u.active:
            parts.append("(disabled)")
        print("  ".join(parts))
    return 0


def assign_cohort(args: argparse.Namespace) -> int:
    user = _accounts(args).assign(args.name, args.cohort)
    how = "is in" if user.role == "student" else "reviews"
    print(f"{user.name} ({user.role}) {how} cohort {args.cohort}", file=sys.stderr)
    return 0


def passwd(args: argparse.Namespace) -> int:
    _accounts(args).set_password(args.name, _password())
    print(f"password of {args.name} changed", file=sys.stderr)
    return 0


def set_active(args: argparse.Namespace) -> int:
    _accounts(args).set_active(args.name, args.active)
    print(f"{args.name} {'enabled' if args.active else 'disabled'}", file=sys.stderr)
    return 0
