"""The `vpatient` command. Each area registers its subcommands from a module of its own."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vpatient.errors import FileProblemError, VPatientError
from vpatient.terminal import printable

from . import (
    avatar_cmd,
    bench_cmd,
    chat_cmd,
    demo_cmd,
    eval_cmd,
    grade_cmd,
    models_cmd,
    persona_cmd,
    rubric_cmd,
    serve_cmd,
    sessions_cmd,
    talk_cmd,
    users_cmd,
)

AREAS = [
    persona_cmd,
    chat_cmd,
    demo_cmd,
    sessions_cmd,
    eval_cmd,
    models_cmd,
    bench_cmd,
    grade_cmd,
    rubric_cmd,
    talk_cmd,
    serve_cmd,
    avatar_cmd,
    users_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vpatient", description="AI virtual-patient conversation trainer")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in AREAS:
        area.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except FileProblemError as exc:
        for problem in exc.problems:
            print(printable(str(problem)), file=sys.stderr)
        return 2
    except VPatientError as exc:
        print(printable(f"vpatient: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`); nothing left to say
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
