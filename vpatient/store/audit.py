"""The append-only review log of assessors' work on grades: item overrides, global ratings with comments,
and sign-offs. Rows are only ever added (this module has no update or delete); the review state of a grade
is read from its rows, the newest of each kind winning. Every row says who, when, what was before, what is
after and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from vpatient.errors import StoreError
from vpatient.store import Store
from vpatient.store.tables import AuditRow, GradeRow
from vpatient.terminal import finite

ACTIONS = ("override", "review", "signoff")
RATINGS = ("clear_pass", "borderline", "fail")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    actor: str
    action: str
    session_id: str
    grade_id: int
    rubric_id: str
    item_id: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        if self.action == "override":  # the API's override shape: {"rubric", "item", "met", "reason", ...}
            out["rubric"] = self.rubric_id
            out["item"] = self.item_id
            out["met"] = self.after.get("met")
        return out


def _entry(r: AuditRow) -> AuditEntry:
    at = r.at if r.at.tzinfo is not None else r.at.replace(tzinfo=UTC)
    return AuditEntry(
        r.id,
        at.isoformat(),
        r.actor,
        r.action,
        r.session_id,
        r.grade_id,
        r.rubric_id,
        r.item_id,
        dict(r.before or {}),
        dict(r.after or {}),
        r.reason,
    )


class AuditLog:
    def __init__(self, store: Store):
        self.store = store

    def append(
        self,
        *,
        actor: str,
        action: str,
        grade_id: int,
        item_id: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str = "",
    ) -> AuditEntry:
        if action not in ACTIONS:
            raise StoreError(f"audit action {action!r} is not one of {', '.join(ACTIONS)}")
        with self.store._mapped("write the audit log"), self.store._write() as db, db.begin():
            grade = db.get(GradeRow, grade_id)
            if grade is None:
                raise StoreError(f"no grade {grade_id}")
            row = AuditRow(
                at=datetime.now(UTC),
                actor=actor,
                action=action,
                session_id=grade.session_id,
                grade_id=grade_id,
                rubric_id=grade.rubric_id,
                item_id=item_id,
                before=finite(before or {}),
                after=finite(after or {}),
                reason=reason,
            )
            db.add(row)
            db.flush()
            return _entry(row)

    def entries(self, *, session_id: str | None = None, grade_ids: list[int] | None = None) -> list[AuditEntry]:
        """The log, oldest first (of one session, or of some grades)."""
        query = select(AuditRow).order_by(AuditRow.id)
        if session_id is not None:
            query = query.where(AuditRow.session_id == session_id)
        if grade_ids is not None:
            query = query.where(AuditRow.grade_id.in_(grade_ids))
        with self.store._mapped("read the audit log"), self.store._db() as db:
            return [_entry(r) for r in db.scalars(query).all()]
