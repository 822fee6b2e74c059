"""`vpatient models`: the model manifest and what is installed."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="list the models per role and whether they are installed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=models)


def models(args: argparse.Namespace) -> int:
    from vpatient.models import status

    rows = status()
    if args.json:
        print(
            json.dumps(
                [{**r.entry.model_dump(), "installed": r.installed, "location": r.location} for r in rows], indent=2
            )
        )
        return 0
    for r in rows:
        e = r.entry
        mark = "installed" if r.installed else "missing  "
        default = "default " if e.default else "optional"
        print(f"{e.role:10} {default} {mark} {e.id:28} {e.licence:38} {e.size_mb:>5.0f} MB")
        if not r.installed:
            print(f"{'':31}install: {e.install}")
    return 0
