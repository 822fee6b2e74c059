"""`validate` for faculty files (personas, rubrics): one line per problem, exit 1 when any file is bad."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import TypeVar

from vpatient.errors import FileProblemError

T = TypeVar("T")


def validate_files(
    paths: Iterable[str],
    load: Callable[[str], T],
    describe: Callable[[T], str],
    warn: Callable[[T], list[str]] | None = None,
) -> int:
    """Print every problem as FILE:LINE: field: message on stdout; a short 'ok' per good file on stderr;
    warnings (a file that loads but will not behave as meant) as FILE: warning: message on stdout."""
    failed = 0
    for path in paths:
        try:
            loaded = load(path)
        except FileProblemError as exc:
            failed += 1
            for problem in exc.problems:
                print(problem)
        else:
            print(f"{path}: ok ({describe(loaded)})", file=sys.stderr)
            for message in warn(loaded) if warn else []:
                print(f"{path}: warning: {message}")
    return 1 if failed else 0
