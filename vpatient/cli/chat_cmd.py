"""`vpatient chat`: a text consultation, interactive or from a script."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vpatient.errors import StoreError


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="run a text consultation with a persona")
    p.add_argument(
        "--persona", required=True, metavar="FILE_OR_ID", help="persona file, or the id of a shipped persona"
    )
    p.add_argument("--script", metavar="FILE", help="learner utterances, one per line (no interaction)")
    p.add_argument("--out", metavar="FILE.json", help="write the transcript JSON here")
    p.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of the session store (default: $VPATIENT_DB or a SQLite file in ~/.local/share/vpatient)",
    )
    add_engine_options(p)
    from vpatient.cli.feedback import add_grade_options

    add_grade_options(p)
    add_server_options(p)
    p.add_argument("--quiet", action="store_true", help="print only the session id")
    p.set_defaults(handler=chat)


def add_server_options(p: Any) -> None:
    """--server and --session, shared by chat and talk."""
    p.add_argument(
        "--server",
        metavar="URL",
        help="run the consultation on a `vpatient serve` server (e.g. http://127.0.0.1:8000): the models and the "
        "session store are the server's; --persona names one of its cases",
    )
    p.add_argument("--session", metavar="ID", help="with --server: resume this consultation")
    p.add_argument(
        "--learner",
        metavar="NAME",
        help="the student whose consultation this is (their user name in the web app), stored with the session "
        "(with --server: only a server started with --open records it)",
    )


def add_engine_options(p: Any, *, speech: bool = False) -> None:
    """--engine and the LLM options, shared by chat, talk, demo, serve and eval. `speech`: the command runs
    speech-to-text and text-to-speech beside the LLM (which then leaves them a core by default)."""
    p.add_argument(
        "--engine",
        choices=["scripted", "llm"],
        default="scripted",
        help="scripted: rules only (no LLM); llm: the LLM phrases the eligible facts, checked by the "
        "guard, with scripted fallback",
    )
    p.add_argument(
        "--backend",
        choices=["llamacpp", "transformers", "openai"],
        default="llamacpp",
        help="LLM backend (default: llama.cpp with the packaged SmolLM2-135M)",
    )
    p.add_argument(
        "--model",
        metavar="PATH_OR_NAME",
        help="llamacpp: 'qwen' (after `vpatient models install qwen`), 'smollm2' (the packaged default) or a "
        ".gguf file; transformers: a local Hugging Face folder; openai: the model name",
    )
    p.add_argument("--endpoint", metavar="URL", help="openai backend: base URL, e.g. http://127.0.0.1:8000/v1")
    p.add_argument(
        "--llm-timeout",
        type=float,
        default=15.0,
        metavar="S",
        help="seconds before a reply falls back to the scripted wording",
    )
    p.add_argument(
        "--llm-threads",
        type=int,
        metavar="N",
        help="llama.cpp threads (default: every core for text, one fewer when speech runs beside it)",
    )
    p.set_defaults(llm_beside_speech=speech)


def check_engine_options(args: Any) -> None:
    """Refuse, before anything loads, LLM options that cannot work."""
    from vpatient.errors import UsageError

    if getattr(args, "engine", "scripted") != "llm":
        return
    if args.backend == "openai" and not args.endpoint:
        raise UsageError("--backend openai needs --endpoint URL (e.g. http://127.0.0.1:8000/v1) and --model NAME")
    if args.backend == "transformers" and not args.model:
        raise UsageError("--backend transformers needs --model FOLDER (a local Hugging Face model folder)")
    if not args.llm_timeout > 0:
        raise UsageError(f"--llm-timeout must be a positive number of seconds (got {args.llm_timeout})")
    if args.llm_threads is not None and args.llm_threads < 1:
        raise UsageError(f"--llm-threads must be at least 1 (got {args.llm_threads})")


def llm_options_from_args(args: Any) -> Any:
    """The LLMOptions that the engine options on the command line ask for."""
    from vpatient.persona.engines import LLMOptions

    model = args.model
    if args.engine == "llm" and args.backend == "llamacpp":
        from vpatient.model_install import resolve_llm_model

        model = resolve_llm_model(model)
    threads = args.llm_threads
    if threads is None and args.backend == "llamacpp":
        from vpatient.inference.llamacpp import default_threads

        threads = default_threads(beside_speech=args.llm_beside_speech)
    return LLMOptions(
        backend=args.backend, model=model, endpoint=args.endpoint, timeout_s=args.llm_timeout, threads=threads
    )


def engine_from_args(args: Any, persona: Any, embedder: Any, session_id: str | None = None) -> Any:
    from vpatient.persona.engines import build_engine

    check_engine_options(args)
    return build_engine(args.engine, persona, embedder, llm_options_from_args(args), session_id=session_id)


def _lines(path: str) -> list[str]:
    """The learner's lines of a script file (PathError when missing, a folder or not UTF-8)."""
    from vpatient.files import read_text

    text = read_text(path, what="script file")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def unsaved_path(session_id: str) -> Path:
    """Where the transcript goes when the database failed and no --out was given."""
    return Path(f"vpatient-unsaved-{session_id}.json")


def chat(args: argparse.Namespace) -> int:
    if getattr(args, "server", None):
        from vpatient.cli.remote import chat as remote_chat

        return remote_chat(args)
    from vpatient.consultation import Consultation
    from vpatient.embeddings import default_embedder
    from vpatient.files import check_writable_file
    from vpatient.persona.loader import load_persona
    from vpatient.shipped import persona_path
    from vpatient.store import Store
    from vpatient.transcript import save

    args.persona = persona_path(args.persona)
    persona = load_persona(args.persona)
    script = _lines(args.script) if args.script else None
    if args.out:
        check_writable_file(args.out, what="transcript file")
    check_engine_options(args)
    store = Store(args.db)
    engine = engine_from_args(args, persona, default_embedder())
    consult = Consultation(persona, Path(args.persona), engine, store, learner=getattr(args, "learner", None))
    name = persona.identity.name

    def say(*parts: object, file: Any = None) -> None:
        if not args.quiet:
            print(*parts, file=file or sys.stdout)

    say(f"[session {consult.session_id}] {persona.title}: {name}. Type /quit to end.\n", file=sys.stderr)
    if not args.quiet:
        print(f"Brief: {persona.brief.strip()}\n", file=sys.stderr)
    try:
        utterances = iter(script) if script is not None else _interactive()
        for utterance in utterances:
            if script is not None:
                say(f"Learner: {utterance}")
            reply = consult.turn(utterance)
            say(f"{name}: {reply.text}")
            sys.stdout.flush()
            if consult.store_error is not None:
                break  # nothing more can be stored: stop here, keep what was said
            if args.out:
                save(consult.transcript, args.out)
    finally:
        consult.end()
        if hasattr(engine, "close"):
            engine.close()
        out = args.out or (str(unsaved_path(consult.session_id)) if consult.store_error else None)
        if out:
            save(consult.transcript, out)
            say(f"\ntranscript written to {out}", file=sys.stderr)
    if not getattr(args, "no_grade", False):
        from vpatient.cli.feedback import grade_consultation, report_path

        grade_consultation(
            consult,
            rubric=getattr(args, "rubric", None),
            html=report_path(args.out) if args.out else None,
            quiet=args.quiet,
        )
    if consult.store_error is not None:
        raise StoreError(
            f"{consult.store_error}. The consultation stopped there; every turn, the last reply included, is in "
            f"{out} (session {consult.session_id} is marked incomplete where the database allows)"
        )
    if args.quiet:
        print(consult.session_id)
    else:
        print(f"session {consult.session_id} stored in {store.url}", file=sys.stderr)
    return 0


def _interactive() -> Any:
    """Lines typed (or piped) by the learner; a line that is not UTF-8 is skipped with a message."""
    prompt = "You: " if sys.stdin.isatty() else ""
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")  # undecodable bytes reach us instead of ending the session
    while True:
        try:
            line = input(prompt).strip()
        except EOFError:
            return
        if line in ("/quit", "/exit"):
            return
        if any("\udc80" <= ch <= "\udcff" for ch in line):
            print("vpatient: that line is not UTF-8 text and was skipped; type it again", file=sys.stderr)
            continue
        if line:
            yield line
