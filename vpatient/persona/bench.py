"""Speed of the scripted engine: time per reply over the shipped personas' question files."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from vpatient.embeddings import default_embedder
from vpatient.persona.engine import ScriptedEngine
from vpatient.persona.fidelity import load_questions
from vpatient.persona.loader import load_persona
from vpatient.shipped import PERSONAS


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def bench_engine(persona_dir: Path = PERSONAS) -> dict[str, Any]:
    embedder = default_embedder()
    t0 = time.perf_counter()
    embedder.encode(["warm up"])
    load_ms = (time.perf_counter() - t0) * 1000
    rows: list[dict[str, Any]] = []
    every: list[float] = []
    for path in sorted(persona_dir.glob("*.yaml")):
        persona = load_persona(path)
        qpath = persona_dir / "questions" / f"{persona.id}.yaml"
        if not qpath.exists():
            continue
        questions = load_questions(qpath, persona)
        t = time.perf_counter()
        engine = ScriptedEngine(persona, embedder)
        start_ms = (time.perf_counter() - t) * 1000
        times = []
        for q in questions.questions:
            t = time.perf_counter()
            engine.respond(q.say)
            times.append((time.perf_counter() - t) * 1000)
        every += times
        rows.append(
            {
                "persona": persona.id,
                "turns": len(times),
                "start_ms": round(start_ms, 1),
                "reply_ms": {
                    "p50": _pct(times, 0.5),
                    "p95": _pct(times, 0.95),
                    "mean": round(statistics.mean(times), 2),
                },
            }
        )
    return {
        "model_load_ms": round(load_ms, 1),
        "personas": rows,
        "reply_ms": {"p50": _pct(every, 0.5), "p95": _pct(every, 0.95)},
    }
