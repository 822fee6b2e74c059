"""CSV of a cohort's reviewed grades: one row per session and rubric, one column per rubric item (1 done,
0 not done; for a fault 1 means it happened), for a spreadsheet or the school's records."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from vpatient.serve.records import Row

FIXED = [
    "session",
    "learner",
    "cohorts",
    "case",
    "started_at",
    "rubric",
    "score",
    "max_score",
    "percent",
    "passed",
    "review_status",
    "rating",
    "overrides",
]
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading = + - @ is quoted away (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def cohort_csv(rows: Sequence[Row]) -> str:
    items: list[str] = []
    for r in rows:
        for g in r.grades:
            for item in g.grade.get("items", []):
                if item["id"] not in items:
                    items.append(item["id"])
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(FIXED + items)
    for r in rows:
        for g in r.grades:
            grade = g.grade
            met = {i["id"]: int(bool(i.get("met"))) for i in grade.get("items", [])}
            w.writerow(
                [
                    cell(v)
                    for v in [
                        r.session.id,
                        r.session.learner or "",
                        ";".join(r.cohorts),
                        r.session.persona_id,
                        r.session.started_at,
                        grade.get("rubric"),
                        grade.get("score"),
                        grade.get("max_score"),
                        grade.get("percent"),
                        int(bool(grade.get("passed"))),
                        g.status,
                        g.rating or "",
                        len(g.overrides),
                    ]
                ]
                + [str(met.get(i, "")) for i in items]
            )
    return out.getvalue()
