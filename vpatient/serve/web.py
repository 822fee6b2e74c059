"""What every route of the web app shares: the context (hub, settings, records, login guard), JSON
errors, the caller, and the checks of roles and CSRF."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from vpatient.errors import StoreError
from vpatient.serve.access import Caller, Scope, scope
from vpatient.serve.auth import LoginGuard, WebSettings, caller, csrf_ok
from vpatient.serve.records import Records
from vpatient.serve.sessions import Hub
from vpatient.store import SessionRecord
from vpatient.store.accounts import Accounts

SESSION_ID = re.compile(r"^[0-9A-Za-z]{1,32}$")
MAX_BODY = 512 * 1024


class Refused(Exception):
    """A request refused: its status and JSON error."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.code, "message": self.message}, status_code=self.status, headers=self.headers
        )


def not_found(what: str = "no such session") -> Refused:
    return Refused(404, "not_found", what)


@dataclass
class Web:
    hub: Hub
    settings: WebSettings
    records: Records
    guard: LoginGuard

    @property
    def accounts(self) -> Accounts:
        return self.records.accounts

    async def caller(self, request: Request) -> Caller:
        return await caller(request, self.accounts)

    async def scope(self, who: Caller) -> Scope:
        return await asyncio.to_thread(scope, who, self.accounts, open_mode=self.settings.open)

    async def signed_in(self, request: Request, *roles: str) -> Caller:
        """The signed-in caller with one of `roles` (any role when none given): 401 / 403 otherwise."""
        who = await self.caller(request)
        if who.user is None:
            raise Refused(401, "login_required", "sign in first: POST /api/login")
        if roles and who.role not in roles:
            raise Refused(403, "forbidden", f"a {who.role} may not do this")
        return who

    async def changing(self, request: Request, *roles: str) -> Caller:
        """A state-changing request: signed in with one of `roles` and carrying the login's CSRF token;
        403 otherwise (also when not signed in)."""
        who = await self.caller(request)
        if who.user is None:
            raise Refused(403, "forbidden", "sign in first: POST /api/login")
        if roles and who.role not in roles:
            raise Refused(403, "forbidden", f"a {who.role} may not do this")
        if not csrf_ok(request, who):
            raise Refused(403, "csrf", "missing or wrong X-CSRF-Token header (the csrf_token given at login)")
        return who

    async def session(self, sid: str, who: Caller) -> SessionRecord:
        """The session with exactly this id, if the caller may see it (404 otherwise: nothing is told about
        sessions one may not see)."""
        if not SESSION_ID.match(sid):
            raise not_found()
        try:
            record = await asyncio.to_thread(self.hub.store.session, sid)
        except StoreError as exc:  # no such session
            raise not_found() from exc
        if record.id != sid:  # the store also matches prefixes; here only whole ids count
            raise not_found()
        if who.user is None and not self.settings.open:
            raise Refused(401, "login_required", "sign in first: POST /api/login")
        if not (await self.scope(who)).allows(record.learner):
            raise not_found()
        return record


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (400 for anything else, 415 without a JSON content type, 413 when huge)."""
    if "application/json" not in request.headers.get("content-type", ""):
        raise Refused(415, "unsupported_media_type", "send JSON with Content-Type: application/json")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise Refused(413, "too_large", f"at most {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Refused(400, "bad_json", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise Refused(400, "bad_request", "the body must be a JSON object")
    return body


def text_field(body: dict[str, Any], key: str, *, required: bool = True, limit: int = 4000) -> str:
    value = body.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise Refused(400, "bad_request", f'give "{key}" as a non-empty string')
    if len(value) > limit:
        raise Refused(400, "bad_request", f'"{key}" is at most {limit} characters')
    return value.strip()
