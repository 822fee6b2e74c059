"""The authorisation matrix of the web app: every route of the app, called by every role, gets what
vpatient.serve.access says (and a route added without a row here fails the test). State-changing routes
also refuse a signed-in caller without the CSRF token."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')
pytest.importorskip("argon2", reason='needs the serve extra: pip install -e ".[serve]"')

from fastapi.testclient import TestClient
from webapp_support import CASE, PASSWORD, App, Seeded, seed

from vpatient.serve.auth import WebSettings

ROLES = ["anonymous", "sam", "sue", "asa", "bob", "fay", "ada"]
"""sam: the student whose session is used; sue: another student; asa: sam's assessor; bob: another
cohort's assessor; fay: faculty; ada: admin."""
SIGNED_IN = ROLES[1:]
PUBLIC = {
    ("GET", "/"),
    ("GET", "/app"),
    ("GET", "/login"),
    ("GET", "/api/health"),
    ("POST", "/api/login"),
    ("GET", "/static"),
    ("WS", "/ws/{sid}"),  # tests/test_webapp_api.py: test_login_mode_guards_the_consultation_api_and_websocket
}
OVERRIDE = {"rubric": "history_taking", "item": "medications", "met": True, "reason": "heard on the audio"}
MATRIX: dict[tuple[str, str], tuple[list[str], Any]] = {
    # (method, route): (the roles allowed, the JSON body)
    ("POST", "/api/logout"): (SIGNED_IN, None),
    ("GET", "/api/me"): (SIGNED_IN, None),
    ("GET", "/api/users"): (["fay", "ada"], None),
    ("POST", "/api/users"): (["ada"], {"role": "student", "password": PASSWORD}),
    ("POST", "/api/users/{name}/active"): (["ada"], {"active": True}),
    ("POST", "/api/users/{name}/cohorts"): (["fay", "ada"], {"cohort": "y1"}),
    ("GET", "/api/cases"): (SIGNED_IN, None),
    ("GET", "/api/cases/{case_id}/patient.glb"): (SIGNED_IN, None),
    ("POST", "/api/sessions"): (["sam", "sue", "asa", "bob", "fay"], {"case": CASE}),
    ("GET", "/api/sessions"): (SIGNED_IN, None),
    ("GET", "/api/sessions/{sid}"): (["sam", "asa", "fay"], None),
    ("POST", "/api/sessions/{sid}/overrides"): (["asa", "fay"], OVERRIDE),
    ("POST", "/api/sessions/{sid}/review"): (["asa", "fay"], {"rating": "borderline", "comments": "ok"}),
    ("POST", "/api/sessions/{sid}/signoff"): (["asa", "fay"], {"rubric": "history_taking"}),
    ("POST", "/api/sessions/{sid}/grade"): (["asa", "fay"], None),
    ("GET", "/api/sessions/{sid}/feedback"): (["sam", "asa", "fay"], None),
    ("GET", "/api/sessions/{sid}/turns/{n}/audio"): (["sam", "asa", "fay"], None),
    ("GET", "/api/sessions/{sid}/xapi"): (["sam", "asa", "fay"], None),
    ("GET", "/api/cohorts"): (SIGNED_IN, None),
    ("GET", "/api/cohorts/{cohort}/stats"): (["asa", "fay"], None),
    ("GET", "/api/cohorts/{cohort}/export.csv"): (["asa", "fay"], None),
    ("GET", "/api/cohorts/{cohort}/xapi"): (["asa", "fay"], None),
    ("GET", "/api/logbook"): (["sam", "asa", "fay"], None),
    ("POST", "/api/cases/validate"): (["fay"], {"yaml": "id: x\n"}),
    ("GET", "/api/cases/{case_id}/source"): (["fay"], None),
    ("POST", "/api/cases"): (["fay"], {"yaml": "id: x\n"}),
    ("POST", "/api/rubrics/validate"): (["fay"], {"yaml": "id: x\n"}),
    ("GET", "/api/rubrics"): (["fay"], None),
    ("GET", "/api/rubrics/{rubric_id}/source"): (["fay"], None),
    ("GET", "/api/assignments"): (["fay", "ada"], None),
    ("POST", "/api/cohorts/{cohort}/cases"): (["fay"], {"case": "lung_cancer_news"}),
    ("DELETE", "/api/cohorts/{cohort}/cases/{case}"): (["fay"], None),
}
# the review actions are refused once the grade is final: run sign-off last
ORDER = sorted(MATRIX, key=lambda k: k[1].endswith("/signoff"))


def app_routes(routes: list[Any]) -> Iterator[tuple[str, str]]:
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from app_routes(inner.routes)
        elif type(r).__name__ == "WebSocketRoute" or "websocket" in type(r).__name__.lower():
            yield ("WS", r.path)
        elif getattr(r, "methods", None):
            for m in sorted(r.methods - {"HEAD"}):
                yield (m, r.path)
        else:
            yield ("GET", r.path)  # a mount (the static files)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[tuple[App, Seeded]]:
    root = tmp_path_factory.mktemp("matrix")
    seeded = seed(root / "seed.db", embedder, root / "audio")
    db = root / "web.db"
    shutil.copy(root / "seed.db", db)
    app = App(f"sqlite:///{db}", embedder, WebSettings(), max_sessions=20)
    yield app, seeded
    app.store.close()


def test_every_route_is_in_the_matrix(web: tuple[App, Seeded]) -> None:
    app, _ = web
    found = set(app_routes(app.app.routes))
    assert found == set(MATRIX) | PUBLIC, f"routes without a row: {found - set(MATRIX) - PUBLIC}"


def _path(route: str, seeded: Seeded) -> str:
    return (
        route.replace("{sid}", seeded.sessions["sam1"])
        .replace("{n}", "0")
        .replace("{cohort}", "y1")
        .replace("{case_id}", CASE)
        .replace("{rubric_id}", "history_taking")
        .replace("{case}", "lung_cancer_news")
        .replace("{name}", "tom")
    )


def test_authorisation_matrix(web: tuple[App, Seeded]) -> None:
    app, seeded = web
    clients = {role: app.client(None if role == "anonymous" else role) for role in ROLES}
    problems = []
    for n, (method, route) in enumerate(ORDER):
        allowed, body = MATRIX[(method, route)]
        for role in ROLES:
            client = clients[role]
            if route == "/api/logout" and role != "anonymous":
                client = app.client(role)  # a login of its own: the shared one stays signed in
            if route == "/api/users" and method == "POST":
                body = {**body, "name": f"new{n}{role}"}
            path = _path(route, seeded)
            if route == "/api/logbook":
                path += "?learner=sam"
            res = client.request(method, path, json=body)
            ok = res.status_code not in (401, 403, 404)
            if ok != (role in allowed):
                problems.append(f"{role} {method} {path}: {res.status_code} {res.text[:120]}")
            if role in allowed and role != "anonymous" and method != "GET":
                bare = TestClient(app.app)
                bare.cookies = client.cookies
                refused = bare.request(method, path, json=body)  # the same login, no CSRF token
                if refused.status_code != 403:
                    problems.append(f"{role} {method} {path} without CSRF: {refused.status_code}")
    assert not problems, "\n".join(problems)


def test_login_is_public_and_health_tells_nothing_private(web: tuple[App, Seeded]) -> None:
    app, seeded = web
    anon = TestClient(app.app)
    health = anon.get("/api/health").json()
    assert health["ok"] and not any(seeded.sessions["sam1"] in str(v) for v in health.values())
    assert anon.post("/api/login", json={"username": "sam", "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize(
    "sid", ["../../etc/passwd", "..", "%2e%2e%2f", "a" * 40, "abc def", "'; drop table sessions; --"]
)
def test_odd_session_ids_are_not_found(web: tuple[App, Seeded], sid: str) -> None:
    app, _ = web
    fay = app.client("fay")
    for suffix in ("", "/xapi", "/feedback", "/turns/0/audio"):
        res = fay.get(f"/api/sessions/{sid}{suffix}")
        assert res.status_code == 404, (sid, suffix, res.status_code)
    assert app.store.integrity_ok() and len(app.store.sessions()) >= 3


def test_script_in_a_transcript_is_returned_as_data_not_markup(web: tuple[App, Seeded]) -> None:
    """The API returns JSON (never HTML built from transcript text); the pages put it on the page as text
    (tests/test_webapp_page.py checks that in the browser)."""
    app, seeded = web
    res = app.client("fay").get(f"/api/sessions/{seeded.sessions['sam1']}")
    assert res.headers["content-type"].startswith("application/json")
    static = Path(__file__).resolve().parent.parent / "vpatient" / "serve" / "static"
    for js in ("webapp.js", "app.js", "login.js"):
        code = (static / js).read_text()
        # innerHTML only ever clears an element; text goes in with textContent / text nodes
        lines = [line.strip() for line in code.splitlines() if not line.strip().startswith("//")]
        assert all(line.endswith('innerHTML = "";') for line in lines if "innerHTML" in line)
        assert "insertAdjacentHTML" not in code and "outerHTML" not in code and "eval(" not in code
