"""The ASGI app of `vpatient serve`: the student page, a small JSON API and the consultation WebSocket.

GET  /                      the student page (static files under /static, served by this app)
GET  /api/health            {"ok", "sessions", "connected", "max_sessions", "refused", "models", "pool"}
GET  /api/cases             the cases offered: id, title, name, age, sex, setting, brief
POST /api/sessions          {"case": ID} -> 201 {"session", "case"}; 503 {"error": "busy", ...} when full
GET  /api/sessions/{id}     the stored transcript of that session
WS   /ws/{id}?voice=1       the consultation (protocol: vpatient.serve.connection); reconnecting to the
                            same id resumes it, even after the server was restarted
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

from vpatient.errors import StoreError
from vpatient.serve.connection import Connection
from vpatient.serve.sessions import Busy, Gone, Hub, NotFound
from vpatient.speech.vad import EndpointConfig

STATIC = Path(__file__).resolve().parent / "static"
BUSY_RETRY_S = 30


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


def create_app(hub: Hub, *, silence_ms: int = 600, drain_s: float = 20.0) -> FastAPI:
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

    app = FastAPI(title="vpatient", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.hub = hub

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

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

    @app.get("/api/cases")
    async def cases() -> list[dict[str, Any]]:
        return [c.to_json() for c in hub.cases.values()]

    @app.post("/api/sessions", status_code=201, response_model=None)
    async def new_session(body: dict[str, Any]) -> dict[str, Any] | JSONResponse:
        case = body.get("case")
        if not isinstance(case, str):
            return JSONResponse({"error": "bad_request", "message": 'give {"case": ID}'}, status_code=400)
        try:
            live = await hub.create(case)
        except Busy as exc:
            return busy_response(exc)
        except NotFound as exc:
            return JSONResponse({"error": "not_found", "message": str(exc)}, status_code=404)
        except StoreError as exc:
            return JSONResponse({"error": "store", "message": str(exc)}, status_code=500)
        return {"session": live.id, "case": live.case.to_json()}

    @app.get("/api/sessions/{sid}", response_model=None)
    async def session(sid: str) -> dict[str, Any] | JSONResponse:
        if not sid.isalnum():
            return JSONResponse({"error": "not_found", "message": "no such session"}, status_code=404)
        try:
            stored = await asyncio.to_thread(hub.store.transcript, sid)
        except StoreError as exc:
            return JSONResponse({"error": "not_found", "message": str(exc)}, status_code=404)
        if stored.id != sid:
            return JSONResponse({"error": "not_found", "message": "no such session"}, status_code=404)
        return stored.to_json()

    @app.websocket("/ws/{sid}")
    async def consultation(ws: WebSocket, sid: str) -> None:
        await ws.accept()
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

    return app
