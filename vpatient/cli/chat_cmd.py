"""`vpatient chat`: a text consultation, interactive or from a script."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("chat", help="run a text consultation with a persona")
    p.add_argument("--persona", required=True, metavar="FILE", help="persona YAML file")
    p.add_argument("--script", metavar="FILE", help="learner utterances, one per line (no interaction)")
    p.add_argument("--out", metavar="FILE.json", help="write the transcript JSON here")
    p.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy URL of the session store (default: $VPATIENT_DB or a SQLite file in ~/.local/share/vpatient)",
    )
    add_engine_options(p)
    p.add_argument("--quiet", action="store_true", help="print only the session id")
    p.set_defaults(handler=chat)


def add_engine_options(p: Any) -> None:
    """--engine and the LLM options, shared by chat, demo and eval fidelity."""
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


def engine_from_args(args: Any, persona: Any, embedder: Any, session_id: str | None = None) -> Any:
    from vpatient.persona.engines import LLMOptions, build_engine

    model = args.model
    if args.engine == "llm" and args.backend == "llamacpp":
        from vpatient.model_install import resolve_llm_model

        model = resolve_llm_model(model)
    opts = LLMOptions(backend=args.backend, model=model, endpoint=args.endpoint, timeout_s=args.llm_timeout)
    return build_engine(args.engine, persona, embedder, opts, session_id=session_id)


def _lines(path: str) -> list[str]:
    text = Path(path).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def chat(args: argparse.Namespace) -> int:
    from vpatient.consultation import Consultation
    from vpatient.embeddings import default_embedder
    from vpatient.persona.loader import load_persona
    from vpatient.store import Store
    from vpatient.transcript import save

    persona = load_persona(args.persona)
    script = _lines(args.script) if args.script else None
    store = Store(args.db)
    engine = engine_from_args(args, persona, default_embedder())
    consult = Consultation(persona, Path(args.persona), engine, store)
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
            if args.out:
                save(consult.transcript, args.out)
    finally:
        consult.end()
        if hasattr(engine, "close"):
            engine.close()
        if args.out:
            save(consult.transcript, args.out)
            say(f"\ntranscript written to {args.out}", file=sys.stderr)
    if args.quiet:
        print(consult.session_id)
    else:
        print(f"session {consult.session_id} stored in {store.url}", file=sys.stderr)
    return 0


def _interactive() -> Any:
    prompt = "You: " if sys.stdin.isatty() else ""
    while True:
        try:
            line = input(prompt).strip()
        except EOFError:
            return
        if line in ("/quit", "/exit"):
            return
        if line:
            yield line
