"""The web app's faculty routes: the case editor's live validation, case sources and case assignments.

POST   /api/cases/validate               {"yaml", "name"?} -> {"ok", "problems": ["FILE:LINE: field: message"],
                                         "case"?}: the same lines as `vpatient persona validate`
POST   /api/cases                        {"yaml"}: save a valid case as CASES_DIR/ID.yaml (`serve --cases-dir`)
                                         and offer it at once; 400 with the problems when it is not valid
GET    /api/cases/{id}/source            {"id", "name", "yaml"}: the case file, to start editing from
POST   /api/rubrics/validate             {"yaml", "name"?}: as `vpatient rubric validate`
GET    /api/rubrics                      the rubric ids; GET /api/rubrics/{id}/source: a rubric file's text
GET    /api/assignments                  {"assignments": {cohort: [case ids]}}
POST   /api/cohorts/{name}/cases         {"case"}: assign a case to a cohort (the cohort is created if new)
DELETE /api/cohorts/{name}/cases/{case}  remove that assignment
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request

from vpatient.errors import FileProblemError, UsageError
from vpatient.serve.web import Refused, Web, json_body, text_field

FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
MAX_YAML = 256 * 1024


def validate_yaml(text: str, name: str) -> dict[str, Any]:
    """Validate persona YAML as `vpatient persona validate` does (without the embedding-model lint)."""
    from vpatient.persona.loader import check_persona
    from vpatient.persona.schema import Persona
    from vpatient.yamlfile import parse_model

    try:
        persona = parse_model(text, Persona, name=name, what="persona file", check=check_persona)
    except FileProblemError as exc:
        return {"ok": False, "problems": [str(p) for p in exc.problems]}
    return {
        "ok": True,
        "problems": [],
        "case": {"id": persona.id, "title": persona.title, "statements": len(persona.statements())},
    }


def validate_rubric_yaml(text: str, name: str) -> dict[str, Any]:
    """Validate rubric YAML as `vpatient rubric validate` does."""
    from vpatient.grading.rubric import check_rubric
    from vpatient.grading.schema import Rubric
    from vpatient.yamlfile import parse_model

    try:
        rubric = parse_model(text, Rubric, name=name, what="rubric file", check=check_rubric)
    except FileProblemError as exc:
        return {"ok": False, "problems": [str(p) for p in exc.problems]}
    return {
        "ok": True,
        "problems": [],
        "rubric": {"id": rubric.id, "title": rubric.title, "items": len(rubric.items())},
    }


async def _yaml(request: Request) -> tuple[str, str]:
    body = await json_body(request)
    text = body.get("yaml")
    if not isinstance(text, str):
        raise Refused(400, "bad_request", 'give the file as {"yaml": "..."}')
    if len(text) > MAX_YAML:
        raise Refused(413, "too_large", f"a faculty file is at most {MAX_YAML} bytes")
    name = body.get("name") or "case.yaml"
    if not isinstance(name, str) or not FILE_NAME.match(name):
        raise Refused(400, "bad_request", '"name" is a file name: letters, digits, _ . -')
    return text, name


def router(web: Web) -> APIRouter:
    r = APIRouter()
    accounts = web.accounts

    @r.post("/api/cases/validate")
    async def validate(request: Request) -> dict[str, Any]:
        await web.changing(request, "faculty")
        text, name = await _yaml(request)
        return await asyncio.to_thread(validate_yaml, text, name)

    @r.post("/api/cases", status_code=201)
    async def save(request: Request) -> dict[str, Any]:
        await web.changing(request, "faculty")
        folder = web.settings.cases_dir
        if folder is None:
            raise Refused(409, "no_cases_dir", "this server saves no cases: start it with --cases-dir DIR")
        text, _ = await _yaml(request)
        return await asyncio.to_thread(save_case, web, folder, text)

    @r.post("/api/rubrics/validate")
    async def validate_rubric(request: Request) -> dict[str, Any]:
        await web.changing(request, "faculty")
        text, name = await _yaml(request)
        return await asyncio.to_thread(validate_rubric_yaml, text, name)

    @r.get("/api/rubrics")
    async def rubrics(request: Request) -> dict[str, Any]:
        await web.signed_in(request, "faculty")
        from vpatient.grading.rubric import available

        return {"rubrics": sorted(available())}

    @r.get("/api/rubrics/{rubric_id}/source")
    async def rubric_source(request: Request, rubric_id: str) -> dict[str, Any]:
        await web.signed_in(request, "faculty")
        from vpatient.grading.rubric import available

        path = available().get(rubric_id)
        if path is None:
            raise Refused(404, "not_found", "no such rubric")
        return {"id": rubric_id, "name": path.name, "yaml": await asyncio.to_thread(path.read_text, encoding="utf-8")}

    @r.get("/api/cases/{case_id}/source")
    async def source(request: Request, case_id: str) -> dict[str, Any]:
        await web.signed_in(request, "faculty")
        case = web.hub.cases.get(case_id)
        if case is None:
            raise Refused(404, "not_found", "no such case")
        text = await asyncio.to_thread(case.path.read_text, encoding="utf-8")
        return {"id": case.id, "name": case.path.name, "yaml": text}

    @r.get("/api/assignments")
    async def assignments(request: Request) -> dict[str, Any]:
        await web.signed_in(request, "faculty", "admin")
        return {"assignments": await asyncio.to_thread(accounts.assigned_cases)}

    @r.post("/api/cohorts/{cohort}/cases", status_code=201)
    async def assign(request: Request, cohort: str) -> dict[str, Any]:
        who = await web.changing(request, "faculty")
        body = await json_body(request)
        case = text_field(body, "case", limit=100)
        if case not in web.hub.cases:
            raise Refused(404, "not_found", f"no case {case!r} on this server")
        try:
            from vpatient.store.accounts import check_name

            check_name(cohort, "cohort name")
            await asyncio.to_thread(accounts.assign_case, cohort, case, who.name or "")
        except UsageError as exc:
            raise Refused(400, "bad_request", str(exc)) from exc
        return {"assignments": await asyncio.to_thread(accounts.assigned_cases)}

    @r.delete("/api/cohorts/{cohort}/cases/{case}")
    async def unassign(request: Request, cohort: str, case: str) -> dict[str, Any]:
        await web.changing(request, "faculty")
        try:
            await asyncio.to_thread(accounts.unassign_case, cohort, case)
        except UsageError as exc:
            raise Refused(404, "not_found", str(exc)) from exc
        return {"assignments": await asyncio.to_thread(accounts.assigned_cases)}

    return r


def save_case(web: Web, folder: Any, text: str) -> dict[str, Any]:
    """Write a valid case to FOLDER/ID.yaml (the id is the persona's, lower_snake_case: no path in it) and
    offer it from now on. A case of the same id is replaced: sessions begun with the old text can no longer
    be resumed (they are kept and graded as they are)."""
    from pathlib import Path

    from vpatient.files import write_private
    from vpatient.persona.loader import content_hash, load_persona
    from vpatient.serve.sessions import Case

    checked = validate_yaml(text, "case.yaml")
    if not checked["ok"]:
        raise Refused(400, "invalid", "; ".join(checked["problems"]))
    case_id = checked["case"]["id"]
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,99}", case_id):
        raise Refused(400, "invalid", f"the case id {case_id!r} cannot be a file name")
    path = Path(folder) / f"{case_id}.yaml"
    write_private(path, text, what="case file")
    persona = load_persona(path)
    web.hub.cases[persona.id] = Case(persona.id, path, persona, content_hash(path))
    return {"case": web.hub.cases[persona.id].to_json(), "path": path.name}
