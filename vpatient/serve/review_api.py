"""The web app's session routes: the list with filters, one session (transcript, grades, overrides),
overrides, the global rating, sign-off, the learner's feedback, turn audio and the xAPI statements.

GET  /api/sessions                       {"sessions": [...]} what the caller may see; filters: cohort, case,
                                         learner, since, until (YYYY-MM-DD), min_score, max_score, flagged,
                                         status (pending|final)
GET  /api/sessions/{id}                  the transcript JSON plus "grades" (reviewed) and "overrides"
POST /api/sessions/{id}/overrides        {"rubric", "item", "met", "reason"}  assessor, faculty
POST /api/sessions/{id}/review           {"rubric", "rating": clear_pass|borderline|fail, "comments"}
POST /api/sessions/{id}/signoff          {"rubric"}: the grade goes from pending to final
POST /api/sessions/{id}/grade            grade a session that has no grade yet (its scenario's rubric)
GET  /api/sessions/{id}/feedback         score, done well, missed items with tips and turns to look at
GET  /api/sessions/{id}/turns/{n}/audio  the turn's WAV, where the session kept one
GET  /api/sessions/{id}/xapi             xAPI 2.0 statements (a JSON list)
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse

from vpatient.errors import VPatientError
from vpatient.grading.grader import Grade
from vpatient.grading.review import CHECK_AUDIO, look_at, uncertain_items, uncertain_turns
from vpatient.serve import xapi
from vpatient.serve.access import REVIEWERS
from vpatient.serve.records import Filters, flagged
from vpatient.serve.review import ReviewedGrade
from vpatient.serve.web import Refused, Web, json_body, not_found, text_field
from vpatient.store import SessionRecord
from vpatient.store.audit import RATINGS
from vpatient.transcript import Transcript

AUDIO_FILE = re.compile(r"^turn\d{1,4}_(learner|patient)\.wav$")


def _date(value: str | None, key: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Refused(400, "bad_request", f"{key}: give a date as YYYY-MM-DD") from exc


def _number(value: str | None, key: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise Refused(400, "bad_request", f"{key}: give a number (a percentage)") from exc


def filters(request: Request) -> Filters:
    q = request.query_params
    flag = q.get("flagged")
    return Filters(
        cohort=q.get("cohort") or None,
        case=q.get("case") or None,
        learner=q.get("learner") or None,
        since=_date(q.get("since"), "since"),
        until=_date(q.get("until"), "until"),
        min_score=_number(q.get("min_score"), "min_score"),
        max_score=_number(q.get("max_score"), "max_score"),
        flagged=None if flag in (None, "") else flag in ("1", "true", "yes"),
        status=q.get("status") or None,
    )


def audio_turns(transcript: Transcript, audio_dir: str | None) -> list[int]:
    if not audio_dir:
        return []
    return [i for i, t in enumerate(transcript.turns) if _audio_path(audio_dir, t.meta.get("audio")) is not None]


def _audio_path(audio_dir: str, name: Any) -> Path | None:
    """The WAV file of a turn inside the session's audio folder; None for any other name (no traversal)."""
    if not isinstance(name, str) or not AUDIO_FILE.match(name):
        return None
    folder = Path(audio_dir).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def feedback(transcript: Transcript, g: ReviewedGrade) -> dict[str, Any]:
    grade = Grade.from_json(g.grade)
    uncertain = uncertain_turns(transcript)
    flagged_items = uncertain_items(grade, uncertain)
    done, missed, faults = [], [], []
    for item in grade.items:
        entry: dict[str, Any] = {"id": item.id, "title": item.title or item.id}
        if item.kind == "fault":
            if item.met:
                faults.append({**entry, "tip": item.feedback, "turns": look_at(item)})
        elif item.met:
            done.append({**entry, "evidence": [e.to_json() for e in item.evidence]})
        else:
            turns = look_at(item)
            extra = {"check_audio": CHECK_AUDIO} if item.id in flagged_items else {}
            missed.append({**entry, "tip": item.feedback, "turns": turns, **extra})
    return {
        "session": transcript.id,
        "persona": transcript.persona,
        "rubric": grade.rubric,
        "rubric_title": grade.rubric_title,
        "score": grade.score,
        "max_score": grade.max_score,
        "percent": grade.percent,
        "passed": grade.passed,
        "pass_mark": grade.pass_mark,
        "status": g.status,
        "review": g.to_json()["review"],
        "done_well": done,
        "missed": missed,
        "faults": faults,
        "uncertain_turns": [u.to_json() for u in uncertain],
    }


def router(web: Web) -> APIRouter:
    r = APIRouter()
    store = web.hub.store

    @r.get("/api/sessions")
    async def list_sessions(request: Request) -> dict[str, Any]:
        who = await web.signed_in(request)
        wanted = filters(request)
        rows = await asyncio.to_thread(web.records.rows, await web.scope(who), wanted)
        return {"sessions": [row.to_json() for row in rows]}

    async def detail(request: Request, sid: str) -> tuple[SessionRecord, Transcript, list[ReviewedGrade]]:
        who = await web.caller(request)
        record = await web.session(sid, who)
        transcript = await asyncio.to_thread(store.transcript, record.id)
        grades = await asyncio.to_thread(web.records.reviewed_grades, record.id)
        if who.role not in REVIEWERS:  # a learner sees the assessor's rating and comments once signed off
            grades = [g if g.status == "final" else replace(g, rating=None, comments="", rated_by=None) for g in grades]
        return record, transcript, grades

    @r.get("/api/sessions/{sid}")
    async def session(request: Request, sid: str) -> dict[str, Any]:
        record, transcript, grades = await detail(request, sid)
        out = transcript.to_json()
        out["grades"] = [g.to_json() for g in grades]
        out["overrides"] = [e.to_json() for g in grades for e in g.overrides]
        out["audio_turns"] = audio_turns(transcript, record.meta.get("audio_dir"))
        out["flagged"] = any(flagged(g.grade) for g in grades)
        return out

    def _grade(grades: list[ReviewedGrade], body: dict[str, Any]) -> ReviewedGrade:
        rubric = body.get("rubric")
        if rubric is None and len(grades) == 1:
            return grades[0]
        for g in grades:
            if g.grade.get("rubric") == rubric:
                return g
        raise Refused(404, "not_found", f"this session has no grade of rubric {rubric!r}")

    @r.post("/api/sessions/{sid}/overrides", status_code=201)
    async def override(request: Request, sid: str) -> dict[str, Any]:
        who = await web.changing(request, *REVIEWERS)
        _, _, grades = await detail(request, sid)
        body = await json_body(request)
        g = _grade(grades, body)
        item_id = text_field(body, "item", limit=100)
        met = body.get("met")
        if not isinstance(met, bool):
            raise Refused(400, "bad_request", 'give "met" as true or false')
        reason = text_field(body, "reason")
        if g.status == "final":
            raise Refused(409, "final", "this grade is signed off (final); it cannot be changed")
        item = g.item(item_id)
        if item is None:
            raise Refused(404, "not_found", f"the grade has no item {item_id!r}")
        before = {"met": item["met"], "score": item["score"], "percent": g.grade.get("percent")}
        entry = await asyncio.to_thread(
            web.records.audit.append,
            actor=who.name or "",
            action="override",
            grade_id=g.record.id,
            item_id=item_id,
            before=before,
            after={"met": met},
            reason=reason,
        )
        grades = await asyncio.to_thread(web.records.reviewed_grades, sid)
        now = _grade(grades, {"rubric": g.grade.get("rubric")})
        return {"override": entry.to_json(), "grade": now.to_json()}

    @r.post("/api/sessions/{sid}/review", status_code=201)
    async def review(request: Request, sid: str) -> dict[str, Any]:
        who = await web.changing(request, *REVIEWERS)
        _, _, grades = await detail(request, sid)
        body = await json_body(request)
        g = _grade(grades, body)
        rating = body.get("rating")
        if rating not in RATINGS:
            raise Refused(400, "bad_request", f'give "rating" as one of {", ".join(RATINGS)}')
        comments = text_field(body, "comments", required=False, limit=20000)
        if g.status == "final":
            raise Refused(409, "final", "this grade is signed off (final); it cannot be changed")
        await asyncio.to_thread(
            web.records.audit.append,
            actor=who.name or "",
            action="review",
            grade_id=g.record.id,
            before={"rating": g.rating, "comments": g.comments},
            after={"rating": rating, "comments": comments},
            reason=comments,
        )
        grades = await asyncio.to_thread(web.records.reviewed_grades, sid)
        return {"grade": _grade(grades, {"rubric": g.grade.get("rubric")}).to_json()}

    @r.post("/api/sessions/{sid}/signoff", status_code=201)
    async def signoff(request: Request, sid: str) -> dict[str, Any]:
        who = await web.changing(request, *REVIEWERS)
        _, _, grades = await detail(request, sid)
        body = await json_body(request)
        g = _grade(grades, body)
        if g.status == "final":
            raise Refused(409, "final", "this grade is already signed off")
        if g.rating is None:
            raise Refused(409, "no_rating", "give the global rating (clear pass, borderline, fail) before signing off")
        await asyncio.to_thread(
            web.records.audit.append,
            actor=who.name or "",
            action="signoff",
            grade_id=g.record.id,
            before={"status": "pending", "percent": g.grade.get("percent")},
            after={"status": "final", "percent": g.grade.get("percent"), "rating": g.rating},
            reason=text_field(body, "comments", required=False),
        )
        grades = await asyncio.to_thread(web.records.reviewed_grades, sid)
        return {"grade": _grade(grades, {"rubric": g.grade.get("rubric")}).to_json()}

    @r.post("/api/sessions/{sid}/grade", status_code=201)
    async def grade_now(request: Request, sid: str) -> dict[str, Any]:
        await web.changing(request, *REVIEWERS)
        record, _, grades = await detail(request, sid)
        if grades:
            raise Refused(
                409, "graded", "this session is graded; `vpatient grade --rescore` grades changed rubrics again"
            )
        if record.status == "active" and sid in web.hub.sessions:
            raise Refused(409, "active", "this consultation is still going on")
        try:
            await asyncio.to_thread(web.hub.grade_session, sid)
        except VPatientError as exc:
            raise Refused(422, "cannot_grade", str(exc)) from exc
        grades = await asyncio.to_thread(web.records.reviewed_grades, sid)
        return {"grades": [g.to_json() for g in grades]}

    @r.get("/api/sessions/{sid}/feedback")
    async def session_feedback(request: Request, sid: str) -> dict[str, Any]:
        _, transcript, grades = await detail(request, sid)
        return {"session": sid, "feedback": [feedback(transcript, g) for g in grades]}

    @r.get("/api/sessions/{sid}/turns/{n}/audio", response_model=None)
    async def turn_audio(request: Request, sid: str, n: int) -> FileResponse:
        record, transcript, _ = await detail(request, sid)
        if not 0 <= n < len(transcript.turns):
            raise not_found("no such turn")
        audio_dir = record.meta.get("audio_dir")
        path = _audio_path(audio_dir, transcript.turns[n].meta.get("audio")) if isinstance(audio_dir, str) else None
        if path is None:
            raise not_found("this turn has no audio")
        return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": "private, no-store"})

    @r.get("/api/sessions/{sid}/xapi")
    async def session_xapi(request: Request, sid: str) -> list[dict[str, Any]]:
        _, transcript, grades = await detail(request, sid)
        case = web.hub.cases.get(transcript.persona or "")
        base = web.settings.base_url or str(request.base_url)
        return xapi.statements(base, transcript, grades, case_title=case.persona.title if case else "")

    return r
