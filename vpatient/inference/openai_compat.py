"""Any OpenAI-compatible chat endpoint (vLLM, llama-server, `python -m vpatient.inference.serve`,
Ollama's /v1) over plain HTTP with httpx: the path for users who outgrow one machine.

The server does its own batching; the core keeps at most `max_concurrency` requests in flight.
Connection refused -> BackendUnavailableError; no answer in `read_timeout_s` -> BackendTimeoutError;
a dropped connection, an HTTP error or garbage mid-stream -> BackendCrashedError.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from typing import Any

from pydantic import Field, PrivateAttr

from vpatient.errors import BackendCrashedError, BackendTimeoutError, BackendUnavailableError

from .langchain_adapter import VPatientChatModel
from .types import FinishReason, GenerationRequest

try:
    import httpx
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise BackendUnavailableError(
        f"httpx is not installed ({exc}); install with: pip install 'vpatient[llm]'", backend="openai"
    ) from exc


class ChatOpenAICompatible(VPatientChatModel):
    """Chat completions from `base_url` (e.g. http://127.0.0.1:8000/v1), streamed over SSE."""

    base_url: str
    model: str = "default"
    api_key: str | None = None
    concurrency: int = 8
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0
    # merged into every request body, e.g. {"ignore_eos": True} for llama.cpp
    extra_body: dict[str, Any] = Field(default_factory=dict)

    _client: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "openai"

    @property
    def model_name_for_reports(self) -> str:
        return self.model

    @property
    def max_concurrency(self) -> int:
        return self.concurrency

    def load(self) -> None:
        with self._lock:
            if self._client is None:
                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                timeout = httpx.Timeout(self.read_timeout_s, connect=self.connect_timeout_s)
                limits = httpx.Limits(max_connections=max(self.concurrency, 1) * 2)
                self._client = httpx.Client(
                    base_url=self.base_url.rstrip("/"), headers=headers, timeout=timeout, limits=limits
                )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        body.update(self.extra_body)
        return body

    def _iter_text(self, request: GenerationRequest, cancelled: threading.Event) -> Generator[str, None, FinishReason]:
        self.load()
        reason: FinishReason = "stop"
        complete = False
        where = f"{self.base_url}/chat/completions"
        try:
            with self._client.stream("POST", "/chat/completions", json=self._body(request)) as response:
                if response.status_code != 200:
                    detail = response.read().decode("utf-8", "replace")[:300]
                    raise BackendCrashedError(
                        f"{where} answered HTTP {response.status_code}: {detail}", backend="openai"
                    )
                for line in response.iter_lines():
                    if cancelled.is_set():
                        break
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        complete = True
                        break
                    chunk = json.loads(data)
                    if "error" in chunk:
                        raise BackendCrashedError(f"{where} reported: {chunk['error']}", backend="openai")
                    for choice in chunk.get("choices") or ():
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield text
                        if choice.get("finish_reason") == "length":
                            reason = "length"
                        if choice.get("finish_reason"):
                            complete = True
                if not (complete or cancelled.is_set()):
                    raise BackendCrashedError(
                        f"{where} ended the stream before the reply was complete", backend="openai"
                    )
        except httpx.ConnectError as exc:
            raise BackendUnavailableError(
                f"cannot connect to {where}: {exc}; is the server running?", backend="openai"
            ) from exc
        except httpx.TimeoutException as exc:
            raise BackendTimeoutError(
                f"{where} sent nothing for {self.read_timeout_s:g} s ({exc!r})", backend="openai"
            ) from exc
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise BackendCrashedError(f"{where} failed mid-reply: {exc!r}", backend="openai") from exc
        return reason
