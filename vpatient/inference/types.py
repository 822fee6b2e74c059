"""Typed messages of the inference core: requests in, token chunks and results out.

Plain frozen dataclasses, never dicts, so that every hop (persona engine -> core -> backend) is checked
by mypy and readable in a debugger.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "cancelled", "timeout", "error"]

_ids = itertools.count(1)


def new_request_id() -> str:
    """A process-unique request id (`req-1`, `req-2`, ...)."""
    return f"req-{next(_ids)}"


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat prompt. The student is `user`, the patient `assistant`."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in ("system", "user", "assistant"):
            raise ValueError(f"ChatMessage.role {self.role!r} is not one of system, user, assistant")


@dataclass(frozen=True)
class GenerationRequest:
    """One reply to generate for one session.

    `timeout_s` counts from submission (queue wait included); None takes the core's default.
    `temperature` 0 means greedy decoding. `stop` strings end the reply and are not part of it.
    """

    session_id: str
    messages: tuple[ChatMessage, ...]
    max_tokens: int = 96
    temperature: float = 0.7
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    seed: int | None = None
    timeout_s: float | None = None
    request_id: str = field(default_factory=new_request_id)

    def __post_init__(self) -> None:
        # Accept lists for convenience; store tuples so the request stays hashable and immutable.
        if not isinstance(self.messages, tuple):
            object.__setattr__(self, "messages", tuple(self.messages))
        if not isinstance(self.stop, tuple):
            object.__setattr__(self, "stop", tuple(self.stop))
        if not self.messages:
            raise ValueError("GenerationRequest.messages is empty: give at least one ChatMessage")
        if self.max_tokens < 1:
            raise ValueError(f"GenerationRequest.max_tokens is {self.max_tokens}: it must be at least 1")
        if self.temperature < 0:
            raise ValueError(f"GenerationRequest.temperature is {self.temperature}: it must be >= 0")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"GenerationRequest.top_p is {self.top_p}: it must be in (0, 1]")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"GenerationRequest.timeout_s is {self.timeout_s}: give a positive number or None")


@dataclass(frozen=True)
class TokenChunk:
    """A piece of streamed reply text (usually one token; stop strings may hold text back briefly)."""

    request_id: str
    session_id: str
    text: str
    index: int  # 0 for the first chunk of a reply


@dataclass(frozen=True)
class GenerationResult:
    """A finished reply with its timings. Times are milliseconds from submission to the core."""

    request_id: str
    session_id: str
    text: str
    tokens: int
    finish_reason: FinishReason
    first_token_ms: float | None
    total_ms: float
    backend: str = ""
    model: str = ""
