"""The web app's account routes.

POST /api/login                 {"username", "password"} -> 200 {"csrf_token", "user"} and the login cookie;
                                401 wrong name or password; 429 too many failures (Retry-After)
POST /api/logout                ends this login
GET  /api/me                    {"user", "csrf_token", "open"}; 401 when not signed in (200 with user null
                                in --open mode)
GET  /api/users                 admin: every user
POST /api/users                 admin: {"name", "role", "password", "cohort"?}
POST /api/users/{name}/active   admin: {"active": bool}
POST /api/users/{name}/cohorts  admin, faculty: {"cohort"} (a student joins it; an assessor reviews it)
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse

from vpatient.errors import UsageError
from vpatient.serve.auth import clear_cookie, is_https, set_cookie
from vpatient.serve.web import Refused, Web, json_body, text_field
from vpatient.store.accounts import LOGIN_HOURS


def router(web: Web) -> APIRouter:
    r = APIRouter()
    accounts = web.accounts

    def secure(request: Request) -> bool:
        return web.settings.secure_cookies or is_https(request)

    @r.post("/api/login", response_model=None)
    async def login(request: Request) -> JSONResponse:
        body = await json_body(request)
        name, password = body.get("username"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str) or not name or len(name) > 100:
            raise Refused(400, "bad_request", 'give {"username": ..., "password": ...}')
        client = request.client.host if request.client else "?"
        wait = web.guard.retry_after(name, client)
        if wait:
            raise Refused(
                429,
                "too_many_attempts",
                f"too many failed logins; try again in {int(wait)} s",
                {"Retry-After": str(int(wait))},
            )
        user = await asyncio.to_thread(accounts.verify, name, password[:1000])
        if user is None:
            web.guard.failed(name, client)
            raise Refused(401, "bad_login", "wrong user name or password")
        token, signed = await asyncio.to_thread(accounts.login, user)
        response = JSONResponse({"csrf_token": signed.csrf, "user": user.to_json()})
        set_cookie(response, token, secure=secure(request), max_age=int(LOGIN_HOURS * 3600))
        return response

    @r.post("/api/logout", response_model=None)
    async def logout(request: Request) -> JSONResponse:
        who = await web.changing(request)
        if who.token:
            await asyncio.to_thread(accounts.logout, who.token)
        response = JSONResponse({"ok": True})
        clear_cookie(response, secure=secure(request))
        return response

    @r.get("/api/me")
    async def me(request: Request) -> dict[str, Any]:
        who = await web.caller(request)
        if who.user is None:
            if web.settings.open:
                return {"user": None, "csrf_token": None, "open": True}
            raise Refused(401, "login_required", "sign in first: POST /api/login")
        return {"user": who.user.to_json(), "csrf_token": who.csrf, "open": web.settings.open}

    @r.get("/api/users")
    async def users(request: Request) -> dict[str, Any]:
        await web.signed_in(request, "admin", "faculty")
        return {"users": [u.to_json() for u in await asyncio.to_thread(accounts.users)]}

    @r.post("/api/users", status_code=201)
    async def add_user(request: Request) -> dict[str, Any]:
        await web.changing(request, "admin")
        body = await json_body(request)
        cohort = body.get("cohort") or None
        if cohort is not None and not isinstance(cohort, str):
            raise Refused(400, "bad_request", '"cohort" is a name')
        try:
            user = await asyncio.to_thread(
                accounts.add_user,
                text_field(body, "name", limit=100),
                text_field(body, "role", limit=16),
                text_field(body, "password", limit=1000),
                cohort=cohort,
            )
        except UsageError as exc:
            raise Refused(400, "bad_request", str(exc)) from exc
        return {"user": user.to_json()}

    @r.post("/api/users/{name}/active")
    async def set_active(request: Request, name: str) -> dict[str, Any]:
        who = await web.changing(request, "admin")
        body = await json_body(request)
        active = body.get("active")
        if not isinstance(active, bool):
            raise Refused(400, "bad_request", 'give "active" as true or false')
        if name == who.name and not active:
            raise Refused(400, "bad_request", "you cannot switch off your own account")
        try:
            await asyncio.to_thread(accounts.set_active, name, active)
            return {"user": (await asyncio.to_thread(accounts.user, name)).to_json()}
        except UsageError as exc:
            raise Refused(404, "not_found", str(exc)) from exc

    @r.post("/api/users/{name}/cohorts", status_code=201)
    async def assign(request: Request, name: str) -> dict[str, Any]:
        await web.changing(request, "admin", "faculty")
        body = await json_body(request)
        try:
            user = await asyncio.to_thread(accounts.assign, name, text_field(body, "cohort", limit=100))
        except UsageError as exc:
            raise Refused(400, "bad_request", str(exc)) from exc
        return {"user": user.to_json()}

    return r
