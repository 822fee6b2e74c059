"""A database with the accounts and graded sessions the web-app tests look at, built through the real
store, accounts and grader (MiniLM embeddings).

    ada   admin
    fay   faculty
    asa   assessor of cohort y1        bob   assessor of cohort y2
    sam   student in y1 (2 sessions)   sue   student in y2 (1 session)     tom  student in y1, no session
Sam's first session has a learner turn with markup in it (script-injection tests), a speech-recognised turn
with a low confidence (flagged), and a WAV file for turn 0 in its audio folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from vpatient.grading.stored import SessionGrader
from vpatient.persona.loader import content_hash
from vpatient.serve.app import create_app
from vpatient.serve.auth import WebSettings
from vpatient.serve.models import ModelOptions, Models
from vpatient.serve.sessions import Hub, load_cases
from vpatient.shipped import persona_path, personas
from vpatient.store import Store
from vpatient.store.accounts import Accounts

PASSWORD = "correct horse battery"
CASE = "chest_pain_exertional"
XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'
USERS = [
    ("ada", "admin", None),
    ("fay", "faculty", None),
    ("asa", "assessor", "y1"),
    ("bob", "assessor", "y2"),
    ("sam", "student", "y1"),
    ("sue", "student", "y2"),
    ("tom", "student", "y1"),
]
GOOD = [
    "Hello, I'm Dr Shah, one of the doctors. Can you confirm your name and date of birth?",
    "What brings you in today?",
    "When did the chest pain start?",
    "Do you smoke?",
    "Are you taking any regular medicines?",
    "Do you have any allergies?",
]


@dataclass
class Seeded:
    url: str
    sessions: dict[str, str] = field(default_factory=dict)
    """name -> session id: sam1 (markup, flagged, audio), sam2, sue1."""
    audio_dir: Path | None = None


def _session(store: Store, learner: str, lines: list[str], meta: list[dict[str, Any] | None]) -> str:
    path = persona_path(CASE)
    sid = store.start_session(
        persona_id=CASE,
        persona_hash=content_hash(path),
        persona_path=str(path),
        meta={"scenario": "history_taking"},
        learner=learner,
    )
    t = 0.0
    for line, m in zip(lines, meta, strict=True):
        store.add_turn(sid, "learner", line, start=t, end=t + 2, meta=m)
        store.add_turn(sid, "patient", "Mm, I see.", start=t + 2, end=t + 4)
        t += 5
    store.end_session(sid)
    return sid


def seed(db: Path | str, embedder: Any, audio_root: Path) -> Seeded:
    """`db`: a SQLite file, or a database URL."""
    from vpatient.speech.audio import write_wav

    url = db if isinstance(db, str) else f"sqlite:///{db}"
    store = Store(url)
    accounts = Accounts(store)
    for name, role, cohort in USERS:
        accounts.add_user(name, role, PASSWORD, cohort=cohort)
    out = Seeded(url, audio_dir=audio_root)
    first = [GOOD[0], f"Tell me {XSS} about the pain", GOOD[2], "Any blood in your stool?"]
    meta: list[dict[str, Any] | None] = [{"audio": "turn01_learner.wav", "confidence": 0.93}, None, None]
    meta.append({"confidence": 0.41, "words": [["any", 0.4]]})
    out.sessions["sam1"] = _session(store, "sam", first, meta)
    out.sessions["sam2"] = _session(store, "sam", GOOD, [None] * len(GOOD))
    out.sessions["sue1"] = _session(store, "sue", GOOD[:3], [None] * 3)
    folder = audio_root / out.sessions["sam1"]
    folder.mkdir(parents=True, mode=0o700)
    tone = 0.3 * np.sin(np.linspace(0, 2 * np.pi * 440, 16000)).astype(np.float32)
    write_wav(folder / "turn01_learner.wav", tone, 16000)
    store.set_meta(out.sessions["sam1"], "audio_dir", str(folder))
    grader = SessionGrader(store, embedder=embedder)
    for sid in out.sessions.values():
        grader.grade_session(sid)
    store.close()
    return out


class App:
    """The app of `vpatient serve` (typed consultations only) on a database; `client(user)` signs in."""

    def __init__(
        self, url: str, embedder: Any, settings: WebSettings, audio: Path | None = None, max_sessions: int = 2
    ):
        self.store = Store(url)
        models = Models(ModelOptions(speech=False))
        models.embedder = embedder
        cases = load_cases(personas())
        self.hub = Hub(models, self.store, cases, max_sessions=max_sessions, grace_s=60, audio_dir=audio)
        self.app = create_app(self.hub, settings=settings)

    def client(self, user: str | None = None, *, https: bool = False) -> TestClient:
        c = TestClient(self.app, base_url="https://testserver" if https else "http://testserver")
        if user is not None:
            res = c.post("/api/login", json={"username": user, "password": PASSWORD})
            assert res.status_code == 200, res.text
            c.headers["X-CSRF-Token"] = res.json()["csrf_token"]
        return c
