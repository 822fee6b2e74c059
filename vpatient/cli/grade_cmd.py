"""`vpatient grade TRANSCRIPT.json... --rubric ID_OR_FILE [--json] [--html OUT] [--csv OUT]`.

Also `register_bench_grader(actions)`, for `vpatient bench grader` (registered by the bench area).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vpatient.errors import VPatientError
from vpatient.terminal import finite, printable


def register(sub: Any) -> None:
    p = sub.add_parser(
        "grade",
        help="grade transcripts against a rubric",
        description="Grade transcript JSON files against a rubric. Without --json/--html/--csv a summary is printed.",
    )
    p.add_argument("transcripts", nargs="+", metavar="TRANSCRIPT.json")
    p.add_argument("--rubric", required=True, metavar="ID_OR_FILE", help="rubric id (e.g. history_taking) or YAML file")
    p.add_argument("--json", action="store_true", help="print the grade JSON (a list when several transcripts)")
    p.add_argument(
        "--html",
        metavar="OUT.html",
        help="write the assessor's report (several transcripts: OUT-<id>.html each)",
    )
    p.add_argument("--csv", metavar="OUT.csv", help="write one row per transcript, one column per item")
    p.set_defaults(handler=grade)


def _html_path(base: str, transcript_id: str, several: bool, used: set[Path] | None = None) -> Path:
    """OUT.html, or OUT-<id>.html per transcript; ids that map to the same name get -2, -3... (never overwrite)."""
    path = Path(base)
    if not several:
        return path
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in transcript_id)[:100]
    out = path.with_name(f"{path.stem}-{safe}{path.suffix or '.html'}")
    n = 2
    while used is not None and out in used:
        out = path.with_name(f"{path.stem}-{safe}-{n}{path.suffix or '.html'}")
        n += 1
    if used is not None:
        used.add(out)
    return out


def grade(args: argparse.Namespace) -> int:
    from vpatient.files import check_writable_file
    from vpatient.grading.grader import Grader
    from vpatient.grading.report import csv_report, html_report, text_summary, write_text
    from vpatient.grading.rubric import load_rubric, resolve
    from vpatient.transcript import load

    for option, value in (("--html", args.html), ("--csv", args.csv)):
        if value:
            check_writable_file(value, what=f"{option} report")
    rubric = load_rubric(args.rubric)
    print(printable(f"rubric {rubric.id}: {resolve(args.rubric)}"), file=sys.stderr)  # which file was used
    grader = Grader(rubric)
    several = len(args.transcripts) > 1
    grades = []
    failed = 0
    used: set[Path] = set()
    for path in args.transcripts:
        try:  # each file gets its own error; the others are graded
            transcript = load(path)
            g = grader.grade(transcript)
            grades.append(g)
            for warning in g.warnings:
                print(printable(f"{path}: warning: {warning}"), file=sys.stderr)
            if args.html:
                out = _html_path(args.html, g.transcript, several, used)
                write_text(out, html_report(g, transcript, rubric))
                print(printable(f"wrote {out}"), file=sys.stderr)
        except VPatientError as exc:
            print(printable(f"vpatient: {exc}"), file=sys.stderr)
            failed += 1
            continue
        if not (args.json or args.html or args.csv):
            print(printable(text_summary(g)))
    if args.json:
        payload: Any = [g.to_json() for g in grades] if several else (grades[0].to_json() if grades else None)
        if payload is not None:
            print(json.dumps(finite(payload), indent=2, ensure_ascii=False))
    if args.csv:
        write_text(args.csv, csv_report(grades, rubric))
        print(f"wrote {args.csv} ({len(grades)} rows)", file=sys.stderr)
    return 2 if failed else 0


def register_bench_grader(actions: Any) -> None:
    """Add `grader` to the `vpatient bench` sub-actions."""
    p = actions.add_parser(
        "grader",
        help="time grading a 100-turn transcript once models are loaded (JSON, milliseconds)",
    )
    p.add_argument("--rubric", default="history_taking", metavar="ID_OR_FILE")
    p.add_argument("--turns", type=int, default=100)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the embedding model")
    p.set_defaults(handler=bench_grader)


def bench_grader(args: argparse.Namespace) -> int:
    from vpatient.grading.bench import run

    print(json.dumps(run(args.rubric, turns=args.turns, repeats=args.repeats, threads=args.threads), indent=2))
    return 0
