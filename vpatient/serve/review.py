"""The reviewed grade of a session: a stored grade with the assessors' overrides applied (scores and
sections recomputed), its global rating and comments, and its status (pending until signed off, then
final). Everything is read from the append-only audit log; nothing here changes a stored grade."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from vpatient.errors import VPatientError
from vpatient.grading.schema import Rubric
from vpatient.grading.totals import section_total, weighted_percent
from vpatient.store import GradeRecord
from vpatient.store.audit import AuditEntry


def _rubric(record: GradeRecord) -> Rubric | None:
    """The rubric a grade used (for the marks of a fault not met), or None when it cannot be read."""
    from vpatient.grading.stored import load

    for candidate in (record.rubric_path, record.rubric_id):
        if not candidate:
            continue
        try:
            found = load(candidate)
        except (VPatientError, OSError):
            continue
        if found.rubric.id == record.rubric_id:
            return found.rubric
    return None


def _marks(item: dict[str, Any], rubric: Rubric | None) -> float:
    if rubric is not None:
        for it in rubric.items():
            if it.id == item.get("id"):
                return float(it.marks)
    if item.get("kind") == "fault":
        return abs(float(item.get("score") or 0.0)) or 1.0
    return float(item.get("max") or 0.0)


def rescore(grade: dict[str, Any]) -> None:
    """Recompute the sections, score, percent and passed of a grade JSON from its items (in place), the way
    the grader does: a section earns its behaviour marks minus its faults, never below zero; the percent is
    the sections' weighted mean."""
    sections = grade.get("sections") or []
    if not sections:
        score = sum(float(i["score"]) for i in grade["items"])
        top = sum(float(i["max"]) for i in grade["items"])
        grade["score"] = max(0.0, score)
        grade["percent"] = round(grade["score"] / top * 100, 1) if top else 0.0
    else:
        for s in sections:
            mine = [i for i in grade["items"] if i.get("section") == s["id"]]
            t = section_total([float(i["score"]) for i in mine], [float(i["max"]) for i in mine])
            s["earned"], s["deducted"], s["score"], s["percent"] = t.earned, t.deducted, t.score, t.percent
        grade["score"] = float(sum(s["score"] for s in sections))
        grade["percent"] = weighted_percent([(float(s["weight"]), s["percent"]) for s in sections])
    grade["passed"] = grade["percent"] >= float(grade.get("pass_mark", 0.0))


def item_score(item: dict[str, Any], met: bool, marks: float) -> float:
    if item.get("kind") == "fault":
        return -marks if met else 0.0
    return marks if met else 0.0


@dataclass
class ReviewedGrade:
    record: GradeRecord
    grade: dict[str, Any]
    """The grade JSON as reviewed: overrides applied, `overridden` on each changed item."""
    overrides: list[AuditEntry] = field(default_factory=list)
    rating: str | None = None
    comments: str = ""
    rated_by: str | None = None
    signed_off_by: str | None = None
    signed_off_at: str | None = None

    @property
    def status(self) -> str:
        return "final" if self.signed_off_by else "pending"

    def item(self, item_id: str) -> dict[str, Any] | None:
        return next((i for i in self.grade["items"] if i.get("id") == item_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            **self.grade,
            "grade_id": self.record.id,
            "graded_at": self.record.created_at,
            "original": {"score": self.record.score, "percent": self.record.percent, "passed": self.record.passed},
            "status": self.status,
            "review": {
                "rating": self.rating,
                "comments": self.comments,
                "rated_by": self.rated_by,
                "signed_off_by": self.signed_off_by,
                "signed_off_at": self.signed_off_at,
            },
        }


def reviewed(record: GradeRecord, log: list[AuditEntry], rubric: Rubric | None = None) -> ReviewedGrade:
    """A stored grade with its log entries (oldest first) applied."""
    grade = copy.deepcopy(record.grade)
    mine = [e for e in log if e.grade_id == record.id]
    out = ReviewedGrade(record, grade)
    need_rubric = any(e.action == "override" for e in mine)
    rubric = rubric if rubric is not None or not need_rubric else _rubric(record)
    for e in mine:
        if e.action == "override":
            item = out.item(e.item_id or "")
            if item is None:
                continue
            met = bool(e.after.get("met"))
            original = item.get("overridden", {}).get("original_met", item["met"])
            item["met"] = met
            item["score"] = item_score(item, met, _marks(item, rubric))
            item["overridden"] = {"by": e.actor, "at": e.at, "reason": e.reason, "original_met": original}
            out.overrides.append(e)
        elif e.action == "review":
            out.rating = e.after.get("rating")
            out.comments = str(e.after.get("comments", ""))
            out.rated_by = e.actor
        elif e.action == "signoff":
            out.signed_off_by, out.signed_off_at = e.actor, e.at
    if out.overrides:
        rescore(grade)
    return out
