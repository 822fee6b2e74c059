"""`vpatient persona validate|show|schema`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vpatient.errors import FileProblemError


def register(sub: Any) -> None:
    p = sub.add_parser("persona", help="validate and inspect persona files")
    psub = p.add_subparsers(dest="persona_command", required=True, metavar="ACTION")
    v = psub.add_parser("validate", help="check persona files; one line per problem as FILE:LINE: field: message")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.set_defaults(handler=validate)
    s = psub.add_parser("show", help="print a readable summary of a persona")
    s.add_argument("file", metavar="FILE")
    s.set_defaults(handler=show)
    r = psub.add_parser("schema", help="print the field reference for persona files")
    r.set_defaults(handler=schema)


def validate(args: argparse.Namespace) -> int:
    from vpatient.persona.loader import load_persona

    failed = 0
    for path in args.files:
        try:
            persona = load_persona(path)
        except FileProblemError as exc:
            failed += 1
            for problem in exc.problems:
                print(problem)
        else:
            print(f"{path}: ok ({persona.id}, {len(persona.statements())} statements)", file=sys.stderr)
    return 1 if failed else 0


def show(args: argparse.Namespace) -> int:
    from vpatient.persona.loader import load_persona
    from vpatient.persona.show import summary

    print(summary(load_persona(args.file)))
    return 0


def schema(args: argparse.Namespace) -> int:
    from vpatient.persona.schema import Persona
    from vpatient.schemadoc import reference

    print(reference(Persona))
    return 0
