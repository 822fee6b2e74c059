"""The ASGI app of `vpatient serve`: the student page, the web app of assessors, faculty and students, the
JSON API and the consultation WebSocket.

GET  /                      the student consultation page (static files under /static, served by this app)
GET  /app, /login           the web app (review, feedback, logbook, cohorts, case editor, users) and sign-in
GET  /api/health            {"ok", "sessions", "connected", "max_sessions", "refused", "models", "pool"}
GET  /api/cases             the cases offered: id, title, name, age, sex, setting, brief
GET  /api/cases/{id}/patient.glb   the case's 3D patient (glTF 2.0, ARKit morph targets) for the page's
                            three.js view; 503 when the avatar data is not installed (the page draws 2D)
POST /api/sessions          {"case": ID} -> 201 {"session", "case"}; 503 {"error": "busy", ...} when full
WS   /ws/{id}?voice=1       the consultation (protocol: vpatient.serve.connection); reconnecting to the
                            same id resumes it, even after the server was restarted
The other routes are in accounts_api, review_api, cohort_api and faculty_api; who may call what is in
vpatient.serve.access. Without `--open`, everything but /api/health and the static files needs a login.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import Response

from vpatient.errors import StoreError
from vpatient.serve import accounts_api, cohort_api, faculty_api, review_api
from vpatient.serve.auth import LoginGuard, WebSettings, same_origin
from vpatient.serve.avatar3d import PatientModels
from vpatient.serve.connection import Connection
from vpatient.serve.records import Records
from vpatient.serve.sessions import Busy, Gone, Hub, NotFound
from vpatient.serve.web import Refused, Web, json_body
from vpatient.speech.vad import EndpointConfig

STATIC = Path(__file__).resolve().parent / "static"
BUSY_RETRY_S = 30
SECURITY_HEADERS = {
    # Scripts, styles and media from this server only: no inline script, so injected markup cannot run.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def process_usage() -> dict[str, float]:
    """CPU seconds used by this process so far and its peak memory (for `vpatient bench serve`)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "max_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def busy_response(exc: Busy) -> JSONResponse:
    return JSONResponse(
        {"error": "busy", "message": str(exc), "retry_after_s": BUSY_RETRY_S},
        status_code=503,
        headers={"Retry-After": str(BUSY_RETRY_S)},
    )


def create_app(
    hub: Hub, *, silence_ms: int = 600, drain_s: float = 20.0, settings: WebSettings | None = None
) -> FastAPI:
    settings = settings or WebSettings()
    web = Web(hub, settings, Records(hub.store), LoginGuard(settings))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        # Worker threads for the stages' blocking calls. Many of them only wait (playback time, the store,
        # the model gate), so there are plenty; the CPU-bound model work inside them is bounded by the gate.
        executor = ThreadPoolExecutor(max_workers=6 * hub.max_sessions + 8, thread_name_prefix="vpatient-serve")
        loop.set_default_executor(executor)
        sweeper = asyncio.create_task(hub.sweep())
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            for live in list(hub.sessions.values()):
                if live.connection is not None:
                    live.connection.kick(1012, "the server is restarting; reconnect to resume")
            for sid in list(hub.sessions):
                hub.drop(sid)  # still active in the store: a client resumes after the restart

    app = FastAPI(title="vpatient", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.hub = hub
    app.state.web = web

    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return exc.response()

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    for module in (accounts_api, review_api, cohort_api, faculty_api):
        app.include_router(module.router(web))

    def page(name: str) -> FileResponse:
        return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return page("index.html")

    @app.get("/app", include_in_schema=False)
    async def webapp() -> FileResponse:
        return page("app.html")

    @app.get("/login", include_in_schema=False)
    async def login_page() -> FileResponse:
        return page("login.html")

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        models = hub.models
        return {
            "ok": True,
            **hub.stats(),
            "engine": models.options.engine,
            "speech": models.stt is not None,
            "load_s": models.load_s,
            "pool": models.gate.stats(),
            "process": process_usage(),
        }

    async def offered(request: Request) -> tuple[Any, set[str] | None]:
        """The caller and the case ids they may start (None: all). Students whose cohorts have cases
        assigned see those; everyone else sees every case."""
        who = await web.caller(request)
        if who.user is None:
            if not settings.open:
                raise Refused(401, "login_required", "sign in first: POST /api/login")
            return who, None
        if who.role != "student":
            return who, None
        assigned = await asyncio.to_thread(web.accounts.assigned_cases)
        mine = {c for cohort in who.user.cohorts for c in assigned.get(cohort, [])}
        return who, (mine or None)

    @app.get("/api/cases")
    async def cases(request: Request) -> list[dict[str, Any]]:
        _, allowed = await offered(request)
        return [c.to_json() for c in hub.cases.values() if allowed is None or c.id in allowed]

    patients = PatientModels()

    @app.get("/api/cases/{case_id}/patient.glb", response_model=None)
    async def patient_model(request: Request, case_id: str) -> FileResponse | JSONResponse:
        _, allowed = await offered(request)
        case = hub.cases.get(case_id)
        if case is None or (allowed is not None and case_id not in allowed):
            return JSONResponse({"error": "not_found", "message": f"no case {case_id!r}"}, status_code=404)
        path = await asyncio.to_thread(patients.glb, case.persona)
        if path is None:
            return JSONResponse({"error": "no_3d", "message": patients.missing or "no 3D patient"}, status_code=503)
        return FileResponse(path, media_type="model/gltf-binary", headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/api/sessions", status_code=201, response_model=None)
    async def new_session(request: Request) -> dict[str, Any] | JSONResponse:
        who, allowed = await offered(request)
        if who.user is not None:
            who = await web.changing(request, "student", "assessor", "faculty")  # admins manage accounts only
        body = await json_body(request)
        case = body.get("case")
        if not isinstance(case, str):
            return JSONResponse({"error": "bad_request", "message": 'give {"case": ID}'}, status_code=400)
        if allowed is not None and case not in allowed:
            return JSONResponse({"error": "not_found", "message": f"no case {case!r} for you"}, status_code=404)
        learner = who.name
        if learner is None and settings.open:  # dev mode: a client may say who it is (not checked)
            named = body.get("learner")
            learner = named if isinstance(named, str) and 0 < len(named) <= 100 else None
        try:
            live = await hub.create(case, learner=learner)
        except Busy as exc:
            return busy_response(exc)
        except NotFound as exc:
            return JSONResponse({"error": "not_found", "message": str(exc)}, status_code=404)
        except StoreError as exc:
            return JSONResponse({"error": "store", "message": str(exc)}, status_code=500)
        return {"session": live.id, "case": live.case.to_json()}

    @app.websocket("/ws/{sid}")
    async def consultation(ws: WebSocket, sid: str) -> None:
        allowed = await may_consult(ws, sid)
        await ws.accept()
        if allowed is not None:
            await ws.send_json({"type": "error", "code": allowed[0], "message": allowed[1]})
            await ws.close(4403 if allowed[0] == "forbidden" else 4401, allowed[0])
            return
        voice = ws.query_params.get("voice", "0") in ("1", "true", "yes")
        resumed = sid not in hub.sessions
        try:
            live = await hub.get(sid)
        except Busy as exc:
            await ws.send_json({"type": "error", "code": "busy", "message": str(exc), "retry_after_s": BUSY_RETRY_S})
            await ws.close(1013, "server busy, try again")
            return
        except (NotFound, Gone, StoreError) as exc:
            code = "gone" if isinstance(exc, Gone) else "not_found"
            await ws.send_json({"type": "error", "code": code, "message": str(exc)})
            await ws.close(4404 if code == "not_found" else 4410, code)
            return
        resumed = resumed or bool(live.consult.transcript.turns)
        conn = Connection(ws, hub, live, voice=voice, endpoint=EndpointConfig(silence_ms=silence_ms), drain_s=drain_s)
        old = live.connection
        if old is not None:
            old.kick()
        async with live.attach_lock:
            if sid not in hub.sessions:  # ended by the connection that was replaced
                await ws.send_json({"type": "error", "code": "gone", "message": f"session {sid} has ended"})
                await ws.close(4410, "gone")
                return
            live.connection = conn
            try:
                await conn.serve(resumed=resumed)
            finally:
                live.connection = None
                live.last_seen = time.monotonic()

    async def may_consult(ws: WebSocket, sid: str) -> tuple[str, str] | None:
        """None when the caller may hold this consultation: its own learner (or, in --open mode, anyone for
        a session without a learner); else the error code and message."""
        from vpatient.serve.auth import caller

        if not same_origin(ws):
            return ("forbidden", "this page is not from this server")
        who = await caller(ws, web.accounts)
        if who.user is None and not settings.open:
            return ("login_required", "sign in first")
        if not sid.isalnum() or len(sid) > 64:
            return None  # answered as not found below
        try:
            record = await asyncio.to_thread(hub.store.session, sid)
        except StoreError:
            return None
        if record.id != sid:
            return None
        if record.learner is None:
            return None if settings.open or who.role == "faculty" else ("forbidden", "not your consultation")
        return None if record.learner == who.name else ("forbidden", "not your consultation")

    return app
