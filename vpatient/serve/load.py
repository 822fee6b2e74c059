"""Graceful degradation under load: when the shared LLM queue is too long, a reply uses the scripted wording.

Every LLM session of a server queues its requests in one shared inference core (vpatient.inference.shared).
Before a served consultation asks the model for a reply, `LoadPolicy.decide` looks at how many requests are
already waiting in that core's scheduler (not yet running); at `max_queue` or more, the reply is the
persona's scripted wording at once (`LLMEngine.respond_scripted`), stored with the reason, instead of a
wait behind the others. A scripted engine (no LLM) is never affected.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_QUEUE = 4
"""Requests already waiting in the shared core at which a served reply goes scripted (0: never)."""


class ReplySource(enum.Enum):
    MODEL = "model"
    """Ask the engine as usual (the LLM phrases the reply, or the scripted engine answers)."""
    SCRIPTED = "scripted"
    """Answer with the scripted wording now: the LLM queue is too long."""


@dataclass(frozen=True)
class ReplyDecision:
    source: ReplySource
    queued: int | None
    """Requests waiting in the shared core when the decision was taken (None: no LLM core)."""
    limit: int
    reason: str

    @property
    def scripted(self) -> bool:
        return self.source is ReplySource.SCRIPTED


def queued_requests(engine: Any) -> int | None:
    """Requests waiting (queued, not running) in the inference core behind `engine`; None without one."""
    core = getattr(engine, "core", None)
    scheduler = getattr(core, "scheduler", None)
    if scheduler is None or not callable(getattr(engine, "respond_scripted", None)):
        return None
    return int(scheduler.num_waiting)


@dataclass(frozen=True)
class LoadPolicy:
    max_queue: int = DEFAULT_MAX_QUEUE
    """At this many waiting requests or more, reply with the scripted wording (0 or less: never)."""

    def decide(self, engine: Any) -> ReplyDecision:
        queued = queued_requests(engine)
        if queued is None:
            return ReplyDecision(ReplySource.MODEL, None, self.max_queue, "no LLM queue")
        if 0 < self.max_queue <= queued:
            return ReplyDecision(
                ReplySource.SCRIPTED,
                queued,
                self.max_queue,
                f"server under load: {queued} LLM requests waiting (limit {self.max_queue}); scripted wording",
            )
        return ReplyDecision(ReplySource.MODEL, queued, self.max_queue, "LLM queue short enough")
