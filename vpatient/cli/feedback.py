"""Grading at the end of `vpatient chat` and `vpatient talk`: the rubric of the persona's scenario grades
the consultation, the grade is stored with the session, a short feedback summary is printed and the HTML
report is written beside the transcript. A failure to grade is reported and never loses the consultation
(its turns are stored and written before grading starts)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from vpatient.errors import VPatientError
from vpatient.terminal import printable


def add_grade_options(p: Any) -> None:
    p.add_argument("--no-grade", action="store_true", help="do not grade the consultation when it ends")
    p.add_argument(
        "--rubric",
        metavar="ID_OR_FILE",
        help="grade the consultation with this rubric (default: the rubric of the persona's scenario)",
    )


def report_path(transcript_file: str | Path) -> Path:
    """Where the HTML report goes beside a transcript file: t.json -> t.report.html."""
    p = Path(transcript_file)
    return p.with_name(f"{p.stem}.report.html")


def grade_consultation(
    consult: Any,
    *,
    rubric: str | None = None,
    html: Path | None = None,
    quiet: bool = False,
    out: TextIO | None = None,
) -> Any:
    """Grade the consultation just finished (its in-memory transcript: every turn, even after a store
    failure), store the grade when the store is still usable, write `html` and print the feedback summary
    to `out` (stdout). Returns the Graded, or None when grading failed (reported on stderr)."""
    from vpatient.grading.report import html_report, write_text
    from vpatient.grading.review import feedback_summary
    from vpatient.grading.stored import SessionGrader, load, rubric_for_scenario

    sid = consult.session_id
    store = None if consult.store_error is not None else consult.store
    try:
        chosen = load(rubric or rubric_for_scenario(str(consult.persona.scenario)))
        grader = SessionGrader(store)
        graded = grader.grade(consult.transcript, chosen)
    except Exception as exc:  # models, rubric files, anything: the consultation is already kept
        print(
            printable(
                f"vpatient: the consultation could not be graded ({type(exc).__name__}: {exc}); it is kept: "
                f"grade it later with `vpatient grade {sid}`"
            ),
            file=sys.stderr,
        )
        return None
    if store is not None:
        try:
            grader.store_grade(graded, sid)
        except VPatientError as exc:
            print(printable(f"vpatient: the grade could not be stored: {exc}"), file=sys.stderr)
    if html is not None:
        try:
            write_text(html, html_report(graded.grade, graded.transcript, chosen.rubric, threshold=grader.threshold))
            print(printable(f"report written to {html}"), file=sys.stderr)
        except VPatientError as exc:
            print(printable(f"vpatient: the report could not be written: {exc}"), file=sys.stderr)
    if not quiet:
        text = feedback_summary(graded.grade, graded.transcript, chosen.rubric, threshold=grader.threshold)
        print("\n" + printable(text), file=out or sys.stdout)
    return graded
