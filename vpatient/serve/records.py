"""The sessions a caller may see, filtered, each with its reviewed grades: what the review pages, the
exports and the insights read. Built on the store, the accounts and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from vpatient.serve.access import Scope
from vpatient.serve.insights import Graded
from vpatient.serve.review import ReviewedGrade, reviewed
from vpatient.store import SessionInfo, Store
from vpatient.store.accounts import Accounts
from vpatient.store.audit import AuditLog


@dataclass(frozen=True)
class Filters:
    cohort: str | None = None
    case: str | None = None
    learner: str | None = None
    since: date | None = None
    until: date | None = None
    min_score: float | None = None
    max_score: float | None = None
    flagged: bool | None = None
    status: str | None = None
    """Review status of the grade: pending or final."""


def flagged(grade: dict[str, Any]) -> bool:
    """A grade with learner turns whose speech recognition was uncertain."""
    rec = grade.get("recognition") or {}
    return bool(rec.get("uncertain_turns") or rec.get("uncertain_items"))


@dataclass
class Row:
    session: SessionInfo
    grades: list[ReviewedGrade]
    cohorts: list[str]

    @property
    def main(self) -> ReviewedGrade | None:
        return self.grades[0] if self.grades else None

    def to_json(self) -> dict[str, Any]:
        main = self.main
        return {
            "id": self.session.id,
            "learner": self.session.learner,
            "persona": self.session.persona_id,
            "started_at": self.session.started_at,
            "ended_at": self.session.ended_at,
            "status": self.session.status,
            "turns": self.session.turns,
            "cohorts": self.cohorts,
            "score": main.grade.get("percent") if main else None,
            "passed": main.grade.get("passed") if main else None,
            "review_status": main.status if main else None,
            "flagged": any(flagged(g.grade) for g in self.grades),
            "grades": [
                {
                    "rubric": g.grade.get("rubric"),
                    "percent": g.grade.get("percent"),
                    "passed": g.grade.get("passed"),
                    "status": g.status,
                    "overrides": len(g.overrides),
                }
                for g in self.grades
            ],
        }


class Records:
    def __init__(self, store: Store):
        self.store = store
        self.accounts = Accounts(store)
        self.audit = AuditLog(store)

    def reviewed_grades(self, session_id: str) -> list[ReviewedGrade]:
        """The current grade of each rubric of a session, reviewed (overrides applied)."""
        current = [g for g in self.store.current_grades() if g.session_id == session_id]
        log = self.audit.entries(session_id=session_id)
        return [reviewed(g, log) for g in current]

    def rows(self, scope: Scope, filters: Filters = Filters()) -> list[Row]:
        sessions = [s for s in self.store.sessions() if scope.allows(s.learner)]
        cohorts_of = self.accounts.cohorts_of_learners()
        if filters.cohort:
            members = self.accounts.learners_of([filters.cohort])
            sessions = [s for s in sessions if s.learner in members]
        if filters.case:
            sessions = [s for s in sessions if s.persona_id == filters.case]
        if filters.learner:
            sessions = [s for s in sessions if s.learner == filters.learner]
        if filters.since:
            sessions = [s for s in sessions if s.started_at[:10] >= filters.since.isoformat()]
        if filters.until:
            sessions = [s for s in sessions if s.started_at[:10] <= filters.until.isoformat()]
        ids = {s.id for s in sessions}
        grades: dict[str, list[Any]] = {}
        for g in self.store.current_grades():
            if g.session_id in ids:
                grades.setdefault(g.session_id, []).append(g)
        log: dict[int, list[Any]] = {}
        if grades:
            for e in self.audit.entries(grade_ids=[g.id for gs in grades.values() for g in gs]):
                log.setdefault(e.grade_id, []).append(e)
        out: list[Row] = []
        for s in sessions:
            mine = [reviewed(g, log.get(g.id, [])) for g in grades.get(s.id, [])]
            row = Row(s, mine, cohorts_of.get(s.learner or "", []))
            score = row.main.grade.get("percent") if row.main else None
            if filters.min_score is not None and (score is None or score < filters.min_score):
                continue
            if filters.max_score is not None and (score is None or score > filters.max_score):
                continue
            if filters.flagged is not None and row.to_json()["flagged"] != filters.flagged:
                continue
            if filters.status and (row.main is None or row.main.status != filters.status):
                continue
            out.append(row)
        return sorted(out, key=lambda r: r.session.started_at, reverse=True)

    def graded(self, rows: list[Row], rubric: str | None = None) -> list[Graded]:
        """Each row's reviewed grade (of `rubric`, else its first) for the insights."""
        out = []
        for r in rows:
            for g in r.grades:
                if rubric is None or g.grade.get("rubric") == rubric:
                    out.append(Graded(r.session, g))
                    break
        return out
