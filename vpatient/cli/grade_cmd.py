"""`vpatient grade SESSION_ID|TRANSCRIPT.json... [--rubric ID_OR_FILE] [--json] [--html OUT] [--csv OUT]` and
`vpatient grade --rescore [--rubric ID_OR_FILE]`.

A stored session's grade is stored with it (vpatient.grading.stored); a transcript file's is only printed.

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
        help="grade stored sessions or transcript files against a rubric",
        description="Grade stored sessions (by id: the grade is stored with the session; the rubric defaults "
        "to the persona's scenario) or transcript JSON files (--rubric needed). --rescore grades again the "
        "stored sessions whose rubric file changed since they were graded (the old grades are kept). Without "
        "--json/--html/--csv a summary is printed.",
    )
    p.add_argument("targets", nargs="*", metavar="SESSION_ID|TRANSCRIPT.json")
    p.add_argument(
        "--rubric",
        metavar="ID_OR_FILE",
        help="rubric id (e.g. history_taking) or YAML file; needed for transcript files, optional for sessions",
    )
    p.add_argument(
        "--rescore",
        action="store_true",
        help="grade again every stored session whose rubric changed since its last grade (only --rubric's, if given)",
    )
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the session store")
    p.add_argument("--json", action="store_true", help="print the grade JSON (a list when several transcripts)")
    p.add_argument(
        "--html",
        metavar="OUT.html",
        help="write the assessor's report (several transcripts: OUT-<id>.html each)",
    )
    p.add_argument("--csv", metavar="OUT.csv", help="write one row per transcript, one column per item")
    p.add_argument(
        "--confidence-threshold",
        type=float,
        default=None,
        metavar="P",
        help="flag speech-recognised learner turns below this recognition confidence (0-1, default 0.6)",
    )
    add_judge_options(p, "judge every item with an LLM too, combined by --judge-policy")
    p.set_defaults(handler=grade)


def add_judge_options(p: Any, judge_help: str) -> None:
    """The optional LLM judge's options, shared by `grade` and `eval grader`."""
    j = p.add_argument_group("optional LLM judge (never needed; the default is offline and deterministic)")
    j.add_argument("--judge", action="store_true", help=judge_help)
    j.add_argument("--judge-backend", choices=["llamacpp", "transformers", "openai"], default="llamacpp")
    j.add_argument(
        "--judge-model",
        metavar="PATH_OR_NAME",
        help="llamacpp: 'qwen', 'smollm2' (packaged) or a .gguf file; transformers: a folder; openai: the model name",
    )
    j.add_argument("--judge-endpoint", metavar="URL", help="openai backend: base URL, e.g. http://127.0.0.1:8000/v1")
    j.add_argument(
        "--judge-policy",
        choices=["either", "both", "judge"],
        default="either",
        help="either: met when the rules or a cited judge verdict say so (default); both: only when both do; "
        "judge: the judge's cited verdict, the rules where it gave none",
    )
    j.add_argument("--judge-timeout", type=float, default=60.0, metavar="S", help="seconds per item (%(default)s)")


def _is_file(target: str) -> bool:
    return Path(target).exists() or target.endswith(".json") or "/" in target


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
    from vpatient.errors import UsageError
    from vpatient.files import check_writable_file
    from vpatient.grading.review import UNCERTAIN_BELOW

    threshold = UNCERTAIN_BELOW if args.confidence_threshold is None else args.confidence_threshold
    if not 0.0 <= threshold <= 1.0:
        raise UsageError(f"--confidence-threshold must be between 0 and 1 (got {threshold})")
    if args.rescore and args.targets:
        raise UsageError("--rescore grades every stored session whose rubric changed: give no session ids or files")
    if not args.rescore and not args.targets:
        raise UsageError("give session ids (`vpatient sessions list`), transcript files, or --rescore")
    files = [t for t in args.targets if _is_file(t)]
    if files and not args.rubric:
        raise UsageError(
            f"{files[0]}: grading a transcript file needs --rubric ID_OR_FILE (a stored session's default is the "
            "rubric of its persona's scenario)"
        )
    for option, value in (("--html", args.html), ("--csv", args.csv)):
        if value:
            check_writable_file(value, what=f"{option} report")
    if args.rescore:
        return _rescore(args, threshold)
    return _grade_targets(args, threshold)


def _judge_options(args: argparse.Namespace) -> dict[str, Any]:
    """The SessionGrader's judge options: none unless --judge."""
    if not getattr(args, "judge", False):
        return {}
    from vpatient.errors import UsageError
    from vpatient.grading.llm_judge import make_judge

    if args.judge_backend == "openai" and not (args.judge_endpoint and args.judge_model):
        raise UsageError("--judge-backend openai needs --judge-endpoint URL and --judge-model NAME")
    if args.judge_backend == "transformers" and not args.judge_model:
        raise UsageError("--judge-backend transformers needs --judge-model FOLDER")
    judge = make_judge(
        args.judge_backend, model=args.judge_model, endpoint=args.judge_endpoint, timeout_s=args.judge_timeout
    )
    return {"judge": judge, "judge_policy": args.judge_policy}


def _grade_targets(args: argparse.Namespace, threshold: float) -> int:
    from vpatient.grading.stored import Graded, SessionGrader, load
    from vpatient.store import Store
    from vpatient.transcript import load as load_transcript

    sessions = [t for t in args.targets if not _is_file(t)]
    store = Store(args.db) if sessions else None
    grader = SessionGrader(store, threshold=threshold, **_judge_options(args))  # files never touch the store
    fixed = load(args.rubric) if args.rubric else None
    if fixed is not None:
        print(printable(f"rubric {fixed.rubric.id}: {fixed.path}"), file=sys.stderr)  # which file was used
    results: list[Graded] = []
    failed = 0
    for target in args.targets:
        try:  # each target gets its own error; the others are graded
            if _is_file(target):
                assert fixed is not None
                graded = grader.grade(load_transcript(target), fixed)
            else:
                graded = grader.grade_session(target, fixed.path if fixed else None)
                print(
                    printable(
                        f"session {graded.transcript.id}: grade {graded.grade_id} stored (rubric "
                        f"{graded.rubric.rubric.id}, {graded.rubric.path})"
                    ),
                    file=sys.stderr,
                )
        except VPatientError as exc:
            print(printable(f"vpatient: {exc}"), file=sys.stderr)
            failed += 1
            continue
        results.append(graded)
    _outputs(args, results, threshold)
    return 2 if failed else 0


def _rescore(args: argparse.Namespace, threshold: float) -> int:
    from vpatient.grading.stored import SessionGrader
    from vpatient.store import Store

    store = Store(args.db)
    grader = SessionGrader(store, threshold=threshold, **_judge_options(args))
    before = {r.session_id + "/" + r.rubric_id: r for r in store.current_grades()}
    done, problems = grader.rescore(args.rubric)
    for problem in problems:
        print(printable(f"vpatient: {problem}"), file=sys.stderr)
    for graded in done:
        old = before.get(graded.transcript.id + "/" + graded.grade.rubric)
        was = f"{old.score:g}/{old.max_score:g} ({old.percent:g}%)" if old else "?"
        print(
            printable(
                f"session {graded.transcript.id}: rubric {graded.grade.rubric} changed "
                f"({old.rubric_hash[:8] if old else '?'} -> {graded.rubric.hash[:8]}): {was} -> "
                f"{graded.grade.score:g}/{graded.grade.max_score:g} ({graded.grade.percent:g}%), grade "
                f"{graded.grade_id} stored"
            ),
            file=sys.stderr,
        )
    if not done and not problems:
        print("no stored grade used an older rubric: nothing to rescore", file=sys.stderr)
    _outputs(args, done, threshold, summaries=False, several=True)
    return 2 if problems else 0


def _outputs(
    args: argparse.Namespace, results: list[Any], threshold: float, *, summaries: bool = True, several: bool = False
) -> None:
    from vpatient.errors import UsageError
    from vpatient.grading.report import csv_report, html_report, text_summary, write_text
    from vpatient.grading.review import uncertain_turns

    several = several or len(args.targets) > 1
    used: set[Path] = set()
    for graded in results:
        for warning in [*graded.grade.warnings, *graded.warnings]:
            print(printable(f"{graded.transcript.id}: warning: {warning}"), file=sys.stderr)
        if args.html:
            out = _html_path(args.html, graded.grade.transcript, several, used)
            write_text(out, html_report(graded.grade, graded.transcript, graded.rubric.rubric, threshold=threshold))
            print(printable(f"wrote {out}"), file=sys.stderr)
        # a stored session's summary is printed unless stdout carries JSON; a file's only without reports
        stored = graded.grade_id is not None
        if summaries and not args.json and (stored or not (args.html or args.csv)):
            print(printable(text_summary(graded.grade)))
            uncertain = uncertain_turns(graded.transcript, threshold)
            if uncertain:
                shown = ", ".join(f"{u.turn} ({u.confidence:.0%})" for u in uncertain)
                print(
                    printable(
                        f"  recognition uncertain in learner turns {shown}: check the audio before "
                        "marking an item missed"
                    )
                )
    if args.json:
        payload: Any = [g.json for g in results] if several else (results[0].json if results else None)
        if payload is not None:
            print(json.dumps(finite(payload), indent=2, ensure_ascii=False))
    if args.csv and results:
        rubrics = {g.grade.rubric for g in results}
        if len(rubrics) > 1:
            raise UsageError(f"--csv needs one rubric, these grades use {', '.join(sorted(rubrics))}; give --rubric")
        write_text(args.csv, csv_report([g.grade for g in results], results[0].rubric.rubric))
        print(f"wrote {args.csv} ({len(results)} rows)", file=sys.stderr)


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
