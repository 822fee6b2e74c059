"""The two kinds of model runner the inference core drives. No vendor imports here.

- A StepRunner batches inside this process: the core's loop calls `step()` once per decode step with
  the requests to start and to drop; the runner prefills the new ones, decodes one token for every
  running one, and reports what each produced (the transformers backend).
- A StreamRunner serves one request per call, in a worker thread, and does its own batching behind
  that call (llama.cpp's parallel slots, a vLLM / llama-server endpoint, any LangChain chat model);
  the core still decides admission (fairness, limits), cancellation and timeouts.

Runners raise BackendError subclasses (vpatient.errors) for failures they understand; the core turns
anything else they raise into a BackendCrashedError.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from .scheduler import StepOutput
from .types import FinishReason, GenerationRequest


class Runner(ABC):
    """What both kinds share: a name for reports, a model name, a place count, loading and closing."""

    backend_name: str = "runner"
    model_name: str = ""

    @property
    @abstractmethod
    def max_batch_size(self) -> int:
        """How many requests this runner serves at once (batch rows, slots, concurrent streams)."""

    def load(self) -> None:  # noqa: B027  (optional hook: most runners load lazily)
        """Loads the model (blocking; the core calls it in a worker thread)."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Frees the model."""


class StepRunner(Runner):
    @abstractmethod
    def step(self, admitted: Sequence[GenerationRequest], aborted: Sequence[str]) -> list[StepOutput]:
        """Drops `aborted` rows, prefills `admitted` ones (one token each), decodes one token for every
        other running row. Returns one StepOutput per row that produced a token or finished."""

    @abstractmethod
    def reset(self) -> None:
        """Drops every row (after a crash)."""


class StreamRunner(Runner):
    @abstractmethod
    def run(
        self, request: GenerationRequest, on_text: Callable[[str], None], cancelled: threading.Event
    ) -> FinishReason:
        """Generates one reply, blocking, calling `on_text` for each piece of text (about one token);
        returns soon after `cancelled` is set. Returns why the backend stopped ("stop" or "length")."""
