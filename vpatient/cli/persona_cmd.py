"""`vpatient persona validate|show|schema|try|new`."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("persona", help="validate and inspect persona files")
    psub = p.add_subparsers(dest="persona_command", required=True, metavar="ACTION")
    v = psub.add_parser("validate", help="check persona files; one line per problem as FILE:LINE: field: message")
    v.add_argument("files", nargs="*", metavar="FILE", help="persona files (default: every shipped persona)")
    v.add_argument(
        "--quick",
        action="store_true",
        help="skip the check that each statement's own example questions reach it (it loads the embedding model)",
    )
    v.set_defaults(handler=validate)
    s = psub.add_parser("show", help="print a readable summary of a persona")
    s.add_argument("file", metavar="FILE_OR_ID", help="persona file, or the id of a shipped persona")
    s.set_defaults(handler=show)
    r = psub.add_parser("schema", help="print the field reference for persona files")
    r.set_defaults(handler=schema)
    from vpatient.cli.persona_tools import register_tools

    register_tools(psub)


def validate(args: argparse.Namespace) -> int:
    from vpatient.cli.validation import validate_files
    from vpatient.persona.lint import warnings
    from vpatient.persona.loader import load_persona
    from vpatient.shipped import personas

    files = args.files or [str(p) for p in personas()]
    embedder: Any = None
    if not args.quick:
        from vpatient.embeddings import default_embedder

        embedder = default_embedder()
    return validate_files(
        files, load_persona, lambda p: f"{p.id}, {len(p.statements())} statements", lambda p: warnings(p, embedder)
    )


def show(args: argparse.Namespace) -> int:
    from vpatient.persona.loader import load_persona
    from vpatient.persona.show import summary
    from vpatient.shipped import persona_path

    print(summary(load_persona(persona_path(args.file))))
    return 0


def schema(args: argparse.Namespace) -> int:
    from vpatient.persona.schema import Persona
    from vpatient.schemadoc import reference

    print(reference(Persona))
    return 0
