"""`vpatient serve`: the consultation server (FastAPI + uvicorn) for a cohort of students."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve consultations to many students (browser page, `vpatient chat --server URL`)",
        description="Loads the models once and serves the student page and the consultation WebSocket. "
        "Prints `vpatient: serving at http://HOST:PORT` once it accepts connections.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port; 0 picks a free one (default: %(default)s)")
    p.add_argument(
        "--persona",
        nargs="+",
        metavar="FILE_OR_ID",
        help="the cases offered (default: every shipped persona)",
    )
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the session store (default: $VPATIENT_DB)")
    p.add_argument(
        "--max-sessions",
        type=int,
        default=8,
        help="consultations at once; one more gets 'server busy, try again' (default: %(default)s)",
    )
    p.add_argument(
        "--workers", type=int, default=2, help="model calls (speech, voice, embeddings) at once (default: %(default)s)"
    )
    p.add_argument(
        "--grace",
        type=float,
        default=600.0,
        metavar="S",
        help="seconds a disconnected session keeps its place before it is dropped from memory (it stays "
        "resumable from the store) (default: %(default)s)",
    )
    p.add_argument(
        "--llm-max-queue",
        type=int,
        default=4,
        metavar="N",
        help="graceful degradation: when N or more LLM requests are already waiting in the shared inference "
        "core, a reply uses the persona's scripted wording at once instead of waiting (0: always wait) "
        "(default: %(default)s)",
    )
    p.add_argument("--no-speech", action="store_true", help="typed consultations only (no speech models loaded)")
    p.add_argument("--voice", default="auto", choices=["auto", "hibari", "piper", "flite"], help="patient voice engine")
    p.add_argument("--stt-model", metavar="PATH", help="a CTranslate2 Whisper model folder (default: packaged tiny.en)")
    p.add_argument("--silence-ms", type=int, default=600, help="silence that ends the learner's turn (%(default)s)")
    p.add_argument(
        "--open",
        action="store_true",
        help="dev mode: the consultation page and API work without signing in (anonymous sessions, and a client "
        "may name its learner); the review pages still need a login. Default: every page needs a login",
    )
    p.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark the login cookie Secure even on plain http (behind a TLS-terminating proxy); it is Secure "
        "anyway when the request came over https",
    )
    p.add_argument(
        "--audio-dir",
        metavar="DIR",
        help="keep each session's learner and patient audio in DIR/SESSION/ for review (owner-only files; "
        "default: the folder audio/ beside a SQLite database, else ~/.local/share/vpatient/audio)",
    )
    p.add_argument("--no-audio", action="store_true", help="keep no audio of the consultations")
    p.add_argument("--no-grade", action="store_true", help="do not grade consultations when they end")
    p.add_argument("--base-url", metavar="URL", help="the server's public URL, for the ids in xAPI statements")
    p.add_argument(
        "--cases-dir",
        metavar="DIR",
        help="faculty save cases from the web editor into DIR (as ID.yaml); the cases in DIR are offered too",
    )
    from vpatient.cli.chat_cmd import add_engine_options

    add_engine_options(p, speech=True)
    p.set_defaults(handler=serve)


def default_audio_dir(db: str | None) -> Path:
    """The `audio` folder beside a SQLite database, else in the user's data folder."""
    import os

    from vpatient.store import check_url, default_url

    parsed = check_url(default_url() if db is None else db)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return Path(parsed.database).expanduser().parent / "audio"
    return Path(os.environ.get("XDG_DATA_HOME", os.path.expanduser("~/.local/share"))) / "vpatient" / "audio"


def serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from vpatient.serve.app import create_app
    except ImportError as exc:
        from vpatient.errors import ModelUnavailableError

        raise ModelUnavailableError(
            f"vpatient serve needs the serve extra ({exc.name} is missing): pip install -e '.[serve]'"
        ) from exc
    from vpatient.cli.chat_cmd import check_engine_options, llm_options_from_args
    from vpatient.errors import UsageError
    from vpatient.serve.models import ModelOptions, Models
    from vpatient.serve.sessions import Hub, load_cases
    from vpatient.shipped import persona_path, personas
    from vpatient.store import Store

    check_engine_options(args)
    if args.max_sessions < 1 or args.workers < 1:
        raise UsageError("--max-sessions and --workers must be at least 1")
    paths = [Path(persona_path(p)) for p in args.persona] if args.persona else personas()
    if args.cases_dir and Path(args.cases_dir).is_dir():
        paths += sorted(Path(args.cases_dir).glob("*.yaml"))  # saved from the editor: they win over the shipped
    cases = load_cases(paths)
    options = ModelOptions(
        engine=args.engine,
        llm=llm_options_from_args(args),
        speech=not args.no_speech,
        voice=args.voice,
        stt_model=args.stt_model,
        workers=args.workers,
        llm_max_queue=args.llm_max_queue,
    )
    store = Store(args.db)
    if not args.open:
        from vpatient.store.accounts import Accounts

        if not Accounts(store).users():
            print(
                "vpatient: nobody can sign in yet: add an account with `vpatient users add NAME --role admin` "
                "(the password is read from standard input), or run consultations without logins: --open",
                file=sys.stderr,
                flush=True,
            )
    models = Models(options)
    print(f"vpatient: loading models ({len(cases)} cases, engine {args.engine})...", file=sys.stderr, flush=True)
    models.load([c.persona for c in cases.values()])
    from vpatient.serve.auth import WebSettings

    audio_dir = None if args.no_audio else Path(args.audio_dir or default_audio_dir(args.db)).expanduser()
    hub = Hub(
        models,
        store,
        cases,
        max_sessions=args.max_sessions,
        grace_s=args.grace,
        audio_dir=audio_dir,
        grade=not args.no_grade,
    )
    settings = WebSettings(
        open=args.open,
        secure_cookies=args.secure_cookies,
        base_url=args.base_url or "",
        cases_dir=Path(args.cases_dir).expanduser() if args.cases_dir else None,
    )
    app = create_app(hub, silence_ms=args.silence_ms, drain_s=args.llm_timeout + 10, settings=settings)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        ws_max_size=1024 * 1024,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            host, port = server.servers[0].sockets[0].getsockname()[:2]
            mode = "open: no login needed for consultations" if args.open else "login required"
            print(f"vpatient: serving at http://{host}:{port} (sessions stored in {store.url}; {mode})", flush=True)
        await task

    asyncio.run(run())
    return 0
