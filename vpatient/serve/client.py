"""A Python client of `vpatient serve` (used by `vpatient chat --server URL`, `vpatient talk --server URL` and
the tests): start or resume a consultation, say something (typed, or audio streamed as 16-bit PCM), and
collect the patient's reply (subtitles, audio, affect, latency figures) until it is over.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vpatient.errors import VPatientError


class ServerError(VPatientError):
    """The server refused (busy, unknown case or session) or could not be reached."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


@dataclass
class PatientReply:
    turn: int
    text: str
    learner: str = ""
    """What the server heard (the recogniser's transcript, or the typed text)."""
    sentences: list[str] = field(default_factory=list)
    emotion: str = "neutral"
    affect: dict[str, Any] = field(default_factory=dict)
    audio: list[tuple[int, np.ndarray]] = field(default_factory=list)
    """(sample_rate, float32 samples) per sentence."""
    states: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    elapsed_s: float = 0.0
    """From the end of what was sent to the end of the reply."""
    first_message_s: float | None = None
    """From the end of what was sent to the first subtitle."""


def _http(method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return json.loads(res.read())
    except urllib.error.HTTPError as exc:
        try:
            info = json.loads(exc.read())
        except ValueError:
            info = {}
        message = info.get("message") or f"{url}: HTTP {exc.code}"
        if exc.code == 401:  # this client has no login: the server must run the consultations openly
            message += "; this client has no login: use a server started with `vpatient serve --open`"
        raise ServerError(message, info.get("error", str(exc.code))) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ServerError(f"cannot reach the vpatient server at {url}: {exc}", "unreachable") from exc


class ServerClient:
    def __init__(self, url: str, *, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.ws: Any = None
        self.session: dict[str, Any] = {}
        self.pending: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ HTTP
    def cases(self) -> list[dict[str, Any]]:
        cases: list[dict[str, Any]] = _http("GET", f"{self.url}/api/cases")
        return cases

    def start(self, case: str, *, learner: str | None = None) -> str:
        """A new consultation; its session id (ServerError with code 'busy' when the server is full).
        `learner`: recorded only by a server started with --open."""
        body = {"case": case, **({"learner": learner} if learner else {})}
        sid: str = _http("POST", f"{self.url}/api/sessions", body)["session"]
        return sid

    def transcript(self, session: str) -> dict[str, Any]:
        out: dict[str, Any] = _http("GET", f"{self.url}/api/sessions/{session}")
        return out

    # ------------------------------------------------------------------ WebSocket
    def connect(self, session: str, *, voice: bool = False) -> dict[str, Any]:
        """Opens (or resumes) the consultation; returns the server's `session` message."""
        from websockets.sync.client import connect

        ws_url = self.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        try:
            ws = connect(f"{ws_url}/ws/{session}?voice={int(voice)}", open_timeout=self.timeout, max_size=2**24)
            # entered as a context manager (websockets >= 17.1 warns otherwise), left by close()
            self.ws = ws.__enter__()
        except OSError as exc:
            raise ServerError(f"cannot reach the vpatient server at {self.url}: {exc}", "unreachable") from exc
        first = self._next(self.timeout)
        if first.get("type") == "error":
            self.close()
            raise ServerError(first.get("message", "refused"), first.get("code", ""))
        self.session = first
        return first

    def _next(self, timeout: float) -> dict[str, Any]:
        """The next JSON message (an audio header comes back with its samples under `samples`)."""
        if self.pending:
            return self.pending.pop(0)
        raw = self.ws.recv(timeout=timeout)
        if isinstance(raw, bytes):
            return {"type": "unexpected_binary", "bytes": len(raw)}
        msg: dict[str, Any] = json.loads(raw)
        if msg.get("type") == "audio":
            pcm = self.ws.recv(timeout=timeout)
            msg["samples"] = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        return msg

    def send(self, obj: dict[str, Any]) -> None:
        self.ws.send(json.dumps(obj))

    def send_audio(
        self, samples: np.ndarray, rate: int = 16000, *, realtime: bool = False, block_s: float = 0.04
    ) -> None:
        """Streams float32 mono audio as 16-bit PCM blocks (in real time when asked)."""
        self.send({"type": "audio", "sample_rate": rate})
        step = max(1, int(rate * block_s))
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
        t0 = time.perf_counter()
        for i in range(0, pcm.size, step):
            if realtime:
                delay = t0 + i / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            self.ws.send(pcm[i : i + step].tobytes())

    def say(self, text: str) -> PatientReply:
        """A typed turn and the patient's whole reply."""
        self.send({"type": "text", "text": text})
        return self.reply()

    def speak(
        self, samples: np.ndarray, rate: int = 16000, *, realtime: bool = False, ptt: bool = True
    ) -> PatientReply:
        """A spoken turn: the audio, then (push-to-talk) the release, and the patient's whole reply."""
        self.send_audio(samples, rate, realtime=realtime)
        if ptt:
            self.send({"type": "ptt", "down": False})
        return self.reply()

    def reply(self, timeout: float | None = None) -> PatientReply:
        """Messages until the patient's reply is over (`turn_done`)."""
        limit = timeout or self.timeout
        t0 = time.perf_counter()
        out = PatientReply(0, "")
        while True:
            left = limit - (time.perf_counter() - t0)
            if left <= 0:
                raise ServerError(f"no reply within {limit:.0f} s", "timeout")
            try:
                msg = self._next(left)
            except TimeoutError as exc:
                raise ServerError(f"no reply within {limit:.0f} s", "timeout") from exc
            kind = msg.get("type")
            if kind == "learner":
                out.learner = msg["text"]
            elif kind == "patient":
                if out.first_message_s is None:
                    out.first_message_s = time.perf_counter() - t0
                if msg["text"]:
                    out.sentences.append(msg["text"])
                out.emotion = msg.get("emotion", out.emotion)
                out.affect = msg.get("affect") or out.affect
            elif kind == "audio":
                out.audio.append((int(msg["sample_rate"]), msg["samples"]))
            elif kind == "state":
                out.states.append(msg["state"])
            elif kind == "error":
                out.errors.append(msg)
                if msg.get("code") in ("busy", "gone", "not_found"):
                    raise ServerError(msg.get("message", ""), msg["code"])
            elif kind == "turn_done":
                out.turn = int(msg["turn"])
                out.text = msg["text"]
                out.interrupted = bool(msg.get("interrupted"))
                out.metrics = {k: v for k, v in msg.items() if k.endswith("_ms")}
                out.elapsed_s = time.perf_counter() - t0
                return out
            elif kind == "ended":
                raise ServerError("the consultation has ended", "ended")

    def end(self) -> None:
        """Ends the consultation (stored as ended) and waits for the server to confirm."""
        self.send({"type": "end"})
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < self.timeout:
            try:
                msg = self._next(self.timeout)
            except Exception:  # the server closed the connection: the end was handled
                break
            if msg.get("type") == "ended":
                break
        self.close()

    def close(self) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            finally:
                self.ws = None
