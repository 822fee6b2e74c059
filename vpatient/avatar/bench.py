"""`vpatient bench avatar`: the desktop avatar's frame rate while a scripted consultation runs (the 3D
renderer by default; `renderer="2d"` for the flat pygame face)."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from vpatient.shipped import PERSONAS


def _consultation(frontend: Any, persona: Any, stop: threading.Event, counts: dict[str, int]) -> None:
    """The scripted engine answers the persona's question file, with a fake voice, until stopped."""
    from vpatient.avatar.synth import speechlike
    from vpatient.embeddings import default_embedder
    from vpatient.persona.engine import ScriptedEngine
    from vpatient.persona.fidelity import load_questions

    questions = load_questions(PERSONAS / "questions" / f"{persona.id}.yaml", persona).questions
    embedder = default_embedder()
    while not stop.is_set():
        engine = ScriptedEngine(persona, embedder)
        for q in questions:
            if stop.is_set():
                return
            frontend.set_state("listening")
            stop.wait(0.4)  # the learner asks
            frontend.set_state("thinking")
            reply = engine.respond(q.say)
            audio = speechlike(reply.text, 16000)
            duration = frontend.on_reply_audio(audio, 16000, reply.text, reply.emotion)
            counts["replies"] += 1
            stop.wait(min(duration, 3.0))


def bench_avatar(
    seconds: float = 10.0,
    size: tuple[int, int] = (1280, 720),
    persona_id: str = "chest_pain_exertional",
    fps: int = 0,
    window: bool = False,
    renderer: str = "auto",
) -> dict[str, Any]:
    """Run the desktop front end offscreen (window=True: in a real window) for `seconds` (fps=0: uncapped,
    to measure capacity) while the scripted consultation runs in a thread; return frame-rate figures."""
    if not window:
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from vpatient.avatar.desktop import DesktopFrontEnd
    from vpatient.embeddings import default_embedder
    from vpatient.persona.loader import load_persona

    persona = load_persona(PERSONAS / f"{persona_id}.yaml")
    default_embedder().encode(["warm up"])  # load the model before timing
    frontend = DesktopFrontEnd(persona, size=size, fps=fps, offscreen=not window, renderer=renderer)
    stop = threading.Event()
    counts = {"replies": 0}
    worker = threading.Thread(target=_consultation, args=(frontend, persona, stop, counts), daemon=True)
    frontend.start()
    worker.start()
    time.sleep(seconds)
    stop.set()
    worker.join(10)
    frontend.close()
    summary = frontend.stats.summary()
    return {
        "size": f"{size[0]}x{size[1]}",
        "cap_fps": fps or None,
        "seconds": seconds,
        "persona": persona_id,
        "renderer": frontend.renderer_kind,
        "replies": counts["replies"],
        **summary,
        "errors": frontend.errors,
    }
