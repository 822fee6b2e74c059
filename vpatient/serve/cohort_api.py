"""The web app's cohort and logbook routes.

GET /api/cohorts                    the cohorts the caller may look at (faculty, admin: all; assessor: theirs;
                                    student: their own), each with its students and assigned cases
GET /api/cohorts/{name}/stats       assessor (theirs), faculty: per-item rates, score distribution, who
                                    struggles with what
GET /api/cohorts/{name}/export.csv  the same people: the cohort's reviewed grades as CSV
GET /api/cohorts/{name}/xapi        the same people: every statement of the cohort's graded sessions
GET /api/logbook?learner=NAME       a student's own logbook (reviewers: a student they may see)
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from vpatient.serve import xapi
from vpatient.serve.access import REVIEWERS, Caller
from vpatient.serve.exports import cohort_csv
from vpatient.serve.insights import cohort_view, logbook
from vpatient.serve.records import Filters
from vpatient.serve.web import Refused, Web


def router(web: Web) -> APIRouter:
    r = APIRouter()
    accounts = web.accounts

    def may_review(who: Caller, cohort: str) -> bool:
        return who.role == "faculty" or (
            who.role == "assessor" and who.user is not None and cohort in who.user.assesses
        )

    async def reviewable(request: Request, cohort: str) -> Caller:
        who = await web.signed_in(request, *REVIEWERS)
        known = await asyncio.to_thread(accounts.cohorts)
        if cohort not in known or not may_review(who, cohort):
            raise Refused(404, "not_found", "no such cohort (or not one of yours)")
        return who

    @r.get("/api/cohorts")
    async def cohorts(request: Request) -> dict[str, Any]:
        who = await web.signed_in(request)
        names = await asyncio.to_thread(accounts.cohorts)
        user = who.user
        assert user is not None
        if who.role == "assessor":
            names = [n for n in names if n in user.assesses]
        elif who.role == "student":
            names = [n for n in names if n in user.cohorts]
        assigned = await asyncio.to_thread(accounts.assigned_cases)
        out = []
        for n in names:
            entry: dict[str, Any] = {"name": n, "cases": assigned.get(n, [])}
            if who.role != "student":
                entry["students"] = await asyncio.to_thread(accounts.members, n)
            out.append(entry)
        return {"cohorts": out}

    async def cohort_rows(request: Request, cohort: str) -> Any:
        who = await reviewable(request, cohort)
        return await asyncio.to_thread(web.records.rows, await web.scope(who), Filters(cohort=cohort))

    @r.get("/api/cohorts/{cohort}/stats")
    async def stats(request: Request, cohort: str) -> dict[str, Any]:
        rows = await cohort_rows(request, cohort)
        rubric = request.query_params.get("rubric") or None
        return cohort_view(cohort, web.records.graded(rows, rubric))

    @r.get("/api/cohorts/{cohort}/export.csv", response_model=None)
    async def export(request: Request, cohort: str) -> Response:
        rows = await cohort_rows(request, cohort)
        return Response(
            cohort_csv(rows),
            media_type="text/csv; charset=utf-8",
            # the cohort's name is letters, digits and . _ @ - (checked when it was made): safe in the header
            headers={"Content-Disposition": f'attachment; filename="cohort-{cohort}.csv"', "Cache-Control": "no-store"},
        )

    @r.get("/api/cohorts/{cohort}/xapi")
    async def cohort_xapi(request: Request, cohort: str) -> list[dict[str, Any]]:
        rows = await cohort_rows(request, cohort)
        base = web.settings.base_url or str(request.base_url)
        out: list[dict[str, Any]] = []
        for row in rows:
            transcript = await asyncio.to_thread(web.hub.store.transcript, row.session.id)
            case = web.hub.cases.get(row.session.persona_id)
            out += xapi.statements(base, transcript, row.grades, case_title=case.persona.title if case else "")
        return out

    @r.get("/api/logbook")
    async def book(request: Request) -> dict[str, Any]:
        who = await web.signed_in(request, "student", *REVIEWERS)
        user = who.user
        assert user is not None
        learner = request.query_params.get("learner") or user.name
        scope = await web.scope(who)
        if not scope.allows(learner):
            raise Refused(404, "not_found", "no such learner (or not one of yours)")
        rows = await asyncio.to_thread(web.records.rows, scope, Filters(learner=learner))
        allowed: set[str] | None = None
        try:
            target = await asyncio.to_thread(accounts.user, learner)
            assigned = await asyncio.to_thread(accounts.assigned_cases)
            mine = {c for cohort in target.cohorts for c in assigned.get(cohort, [])}
            allowed = mine or None
        except Exception:
            allowed = None
        return await asyncio.to_thread(logbook, learner, web.records.graded(rows), web.hub.cases, allowed)

    return r
