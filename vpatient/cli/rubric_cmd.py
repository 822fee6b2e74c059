"""`vpatient rubric validate|show|list|schema`."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("rubric", help="validate and inspect rubric files")
    rsub = p.add_subparsers(dest="rubric_command", required=True, metavar="ACTION")
    v = rsub.add_parser("validate", help="check rubric files; one line per problem as FILE:LINE: field: message")
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument(
        "--no-examples",
        action="store_true",
        help="skip the check that each item's examples trigger it and its counter-examples do not "
        "(that check loads the embedding model)",
    )
    v.set_defaults(handler=validate)
    s = rsub.add_parser("show", help="print a readable summary of a rubric")
    s.add_argument("rubric", metavar="ID_OR_FILE")
    s.set_defaults(handler=show)
    ls = rsub.add_parser("list", help="list the rubric ids found (and where)")
    ls.set_defaults(handler=list_rubrics)
    r = rsub.add_parser("schema", help="print the field reference for rubric files")
    r.set_defaults(handler=schema)


def validate(args: argparse.Namespace) -> int:
    import sys

    from vpatient.cli.validation import validate_files
    from vpatient.grading.rubric import load_rubric_file

    loaded = []

    def load(path: str) -> Any:
        rubric = load_rubric_file(path)
        loaded.append((path, rubric))
        return rubric

    status = validate_files(args.files, load, lambda r: f"{r.id}, {len(r.items())} items")
    if loaded and not args.no_examples:
        from vpatient.embeddings import default_embedder
        from vpatient.grading.selfcheck import check_examples

        embedder = default_embedder()
        for path, rubric in loaded:
            for warning in check_examples(rubric, embedder):
                print(f"{path}: warning: {warning}", file=sys.stderr)
    return status


def show(args: argparse.Namespace) -> int:
    from vpatient.grading.rubric import load_rubric, summary

    print(summary(load_rubric(args.rubric)))
    return 0


def list_rubrics(args: argparse.Namespace) -> int:
    from vpatient.grading.rubric import available

    for rid, path in sorted(available().items()):
        print(f"{rid}\t{path}")
    return 0


def schema(args: argparse.Namespace) -> int:
    from vpatient.grading.schema import Rubric
    from vpatient.schemadoc import reference

    print(reference(Rubric))
    return 0
