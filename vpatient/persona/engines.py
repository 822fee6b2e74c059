"""Build a persona engine by name: `scripted` (no LLM) or `llm` (grounded LLM with scripted fallback).

LLM engines of one process share one inference core per backend configuration (vpatient.inference.shared):
a second session with the same model reuses the loaded model and its parallel slots."""

from __future__ import annotations

from dataclasses import dataclass

from vpatient.embeddings import Embedder
from vpatient.persona.engine import ScriptedEngine
from vpatient.persona.llm_engine import LLMEngine
from vpatient.persona.schema import Persona

ENGINES = ("scripted", "llm")


@dataclass(frozen=True)
class LLMOptions:
    backend: str = "llamacpp"
    """llamacpp (packaged SmolLM2 by default), transformers (a local model folder) or openai (an endpoint)."""
    model: str | None = None
    endpoint: str | None = None
    timeout_s: float = 15.0
    threads: int | None = None
    """llama.cpp threads (None: vpatient.inference.llamacpp.default_threads)."""


def build_engine(
    name: str, persona: Persona, embedder: Embedder, llm: LLMOptions | None = None, *, session_id: str | None = None
) -> ScriptedEngine | LLMEngine:
    if name == "scripted":
        return ScriptedEngine(persona, embedder)
    if name != "llm":
        raise ValueError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
    from vpatient.inference.shared import shared_core

    opts = llm or LLMOptions()
    # one core per process and configuration
    core = shared_core(opts.backend, model=opts.model, endpoint=opts.endpoint, threads=opts.threads)
    engine = LLMEngine(
        persona, embedder, core, backend_name=opts.backend, timeout_s=opts.timeout_s, session_id=session_id
    )
    engine.prepare()  # the model loads and reads the character while the learner starts
    return engine
