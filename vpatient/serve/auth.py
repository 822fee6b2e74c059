"""Signing in to the web app: the login cookie, the CSRF token, and the login rate limit.

A login is a random token in an HttpOnly, SameSite=Strict cookie (Secure when the request came over
https, or always with `--secure-cookies`); the store keeps only its sha256. Every state-changing request
of a signed-in browser must carry the login's CSRF token in the `X-CSRF-Token` header. Failed logins are
counted per user name and per client address: past the limit within the window, login answers 429 with
Retry-After (even for the right password) until the window has passed.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import HTTPConnection
from starlette.responses import Response

from vpatient.serve.access import Caller
from vpatient.store.accounts import Accounts

COOKIE = "vp_login"
CSRF_HEADER = "X-CSRF-Token"


@dataclass
class WebSettings:
    """How the web app treats callers."""

    open: bool = False
    """Dev mode: the consultation page and API work without signing in (anonymous sessions)."""
    secure_cookies: bool = False
    """Mark the cookie Secure even when the request came over plain http (behind a TLS proxy)."""
    login_failures: int = 5
    """Failed logins allowed per user name (and 4x that per client address) within `login_window_s`."""
    login_window_s: float = 300.0
    base_url: str = ""
    """The server's public URL for xAPI ids (default: the URL of the request)."""
    cases_dir: Path | None = None
    """Where faculty save cases from the editor (None: saving is off)."""


@dataclass
class RateLimit:
    limit: int
    window_s: float
    _hits: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] > self.window_s:
            hits.popleft()
        return hits

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again (0: now)."""
        now = time.monotonic()
        hits = self._recent(key, now)
        if len(hits) < self.limit:
            return 0.0
        return max(1.0, self.window_s - (now - hits[0]))

    def hit(self, key: str) -> None:
        self._recent(key, time.monotonic()).append(time.monotonic())
        if len(self._hits) > 10000:  # bounded memory: forget the quiet keys
            for k in [k for k, v in self._hits.items() if not v][:5000]:
                del self._hits[k]


class LoginGuard:
    def __init__(self, settings: WebSettings):
        self.by_name = RateLimit(settings.login_failures, settings.login_window_s)
        self.by_client = RateLimit(settings.login_failures * 4, settings.login_window_s)

    def retry_after(self, name: str, client: str) -> float:
        return max(self.by_name.retry_after(name.lower()), self.by_client.retry_after(client))

    def failed(self, name: str, client: str) -> None:
        self.by_name.hit(name.lower())
        self.by_client.hit(client)


def is_https(conn: HTTPConnection) -> bool:
    return conn.url.scheme in ("https", "wss")


def set_cookie(response: Response, token: str, *, secure: bool, max_age: int) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/")


def clear_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, httponly=True, samesite="strict", secure=secure, path="/")


async def caller(conn: HTTPConnection, accounts: Accounts) -> Caller:
    """Who sent this request or opened this WebSocket (anonymous without a current login)."""
    token = conn.cookies.get(COOKIE)
    if not token:
        return Caller()
    login = await asyncio.to_thread(accounts.session_login, token)
    if login is None:
        return Caller()
    return Caller(login.user, login.csrf, token)


def csrf_ok(conn: HTTPConnection, who: Caller) -> bool:
    sent = conn.headers.get(CSRF_HEADER, "")
    return bool(who.csrf) and bool(sent) and secrets.compare_digest(sent, who.csrf or "")


def same_origin(conn: HTTPConnection) -> bool:
    """A WebSocket opened from a page of this server (browsers always send Origin with a WebSocket;
    non-browser clients send none and have no cookie to abuse)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    host = conn.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host
