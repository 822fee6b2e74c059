"""The web app's JSON API in-process (FastAPI's TestClient) on a database seeded through the real store,
accounts and grader: logins and cookies, what each role sees, overrides with the audit log, review and
sign-off, feedback, logbook, cohort view, exports (CSV, xAPI), the case validator, and the CLI of users."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')
pytest.importorskip("argon2", reason='needs the serve extra: pip install -e ".[serve]"')

from fastapi.testclient import TestClient
from webapp_support import CASE, PASSWORD, XSS, App, Seeded, seed

from vpatient.serve.auth import WebSettings
from vpatient.store import Store


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Seeded:
    root = tmp_path_factory.mktemp("webapp")
    return seed(root / "seed.db", embedder, root / "audio")


@pytest.fixture()
def web(seeded: Seeded, tmp_path: Path, embedder: Any) -> Iterator[App]:
    db = tmp_path / "web.db"
    shutil.copy(seeded.url.removeprefix("sqlite:///"), db)
    app = App(f"sqlite:///{db}", embedder, WebSettings(login_failures=3), audio=tmp_path / "audio")
    yield app
    app.store.close()


# ------------------------------------------------------------------ logins
def test_login_sets_a_safe_cookie_and_gives_a_csrf_token(web: App) -> None:
    c = web.client()
    res = c.post("/api/login", json={"username": "asa", "password": PASSWORD})
    assert res.status_code == 200 and len(res.json()["csrf_token"]) >= 32
    cookie = res.headers["set-cookie"]
    assert "vp_login=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here
    assert c.get("/api/me").json()["user"]["name"] == "asa"
    https = web.client(https=True).post("/api/login", json={"username": "asa", "password": PASSWORD})
    assert "Secure" in https.headers["set-cookie"]
    proxied = App(
        str(web.store.engine.url.render_as_string(hide_password=False)), None, WebSettings(secure_cookies=True)
    )
    behind_tls = proxied.client().post("/api/login", json={"username": "asa", "password": PASSWORD})
    assert "Secure" in behind_tls.headers["set-cookie"]  # --secure-cookies: TLS ends at a proxy
    proxied.store.close()
    stored = Store(str(web.store.engine.url)).engine
    with stored.connect() as conn:
        token = cookie.split("vp_login=")[1].split(";")[0]
        rows = [r[0] for r in conn.exec_driver_sql("select token_hash from logins")]
        assert token not in rows and len(rows) == 3  # only hashes are stored
        hashes = [r[0] for r in conn.exec_driver_sql("select password from users")]
        assert all(h.startswith("$argon2id$") for h in hashes) and PASSWORD not in " ".join(hashes)


def test_wrong_password_is_401_and_repeated_failures_are_429(web: App) -> None:
    c = web.client()
    assert c.post("/api/login", json={"username": "asa", "password": "nope nope"}).status_code == 401
    assert c.post("/api/login", json={"username": "nobody", "password": "nope nope"}).status_code == 401
    assert c.post("/api/login", content=b"username=asa", headers={"Content-Type": "text/plain"}).status_code == 415
    for _ in range(2):
        assert c.post("/api/login", json={"username": "asa", "password": "still wrong"}).status_code == 401
    res = c.post("/api/login", json={"username": "asa", "password": PASSWORD})  # right, but too late
    assert res.status_code == 429 and int(res.headers["Retry-After"]) > 0
    assert c.post("/api/login", json={"username": "fay", "password": PASSWORD}).status_code == 200


def test_logout_needs_csrf_and_ends_the_login(web: App) -> None:
    c = web.client("sam")
    token = c.headers.pop("X-CSRF-Token")
    assert c.post("/api/logout").status_code == 403
    assert c.post("/api/logout", headers={"X-CSRF-Token": token}).status_code == 200
    assert c.get("/api/me").status_code == 401


# ------------------------------------------------------------------ who sees what
def test_each_role_sees_only_its_sessions(web: App, seeded: Seeded) -> None:
    s = seeded.sessions

    def seen(user: str) -> set[str]:
        return {x["id"] for x in web.client(user).get("/api/sessions").json()["sessions"]}

    assert seen("sam") == {s["sam1"], s["sam2"]}
    assert seen("sue") == {s["sue1"]}
    assert seen("tom") == set()
    assert seen("asa") == {s["sam1"], s["sam2"]}  # cohort y1
    assert seen("bob") == {s["sue1"]}
    assert seen("fay") == set(s.values())
    assert seen("ada") == set()  # admin: accounts only, no transcripts
    assert web.client().get("/api/sessions").status_code == 401
    for user, sid in (("sue", s["sam1"]), ("sam", s["sue1"]), ("bob", s["sam2"]), ("ada", s["sam1"])):
        assert web.client(user).get(f"/api/sessions/{sid}").status_code in (403, 404)
        assert web.client(user).get(f"/api/sessions/{sid}/xapi").status_code in (403, 404)
        assert web.client(user).get(f"/api/sessions/{sid}/feedback").status_code in (403, 404)
    assert web.client().get(f"/api/sessions/{s['sam1']}").status_code == 401


def test_session_list_filters(web: App, seeded: Seeded) -> None:
    c = web.client("fay")

    def ids(query: str) -> set[str]:
        res = c.get(f"/api/sessions?{query}")
        assert res.status_code == 200, res.text
        return {x["id"] for x in res.json()["sessions"]}

    s = seeded.sessions
    assert ids("cohort=y2") == {s["sue1"]}
    assert ids("learner=sam") == {s["sam1"], s["sam2"]}
    assert ids(f"case={CASE}") == set(s.values())
    assert ids("case=lung_cancer_news") == set()
    assert ids("flagged=true") == {s["sam1"]} and s["sam1"] not in ids("flagged=false")
    scores = {x["id"]: x["score"] for x in c.get("/api/sessions").json()["sessions"]}
    assert scores[s["sam2"]] > scores[s["sue1"]]
    assert ids(f"min_score={scores[s['sam2']]}") == {s["sam2"]}
    assert s["sam2"] not in ids(f"max_score={scores[s['sam2']] - 0.1}")
    assert ids("since=2000-01-01&until=2999-12-31") == set(s.values()) and ids("until=2000-01-01") == set()
    assert ids("status=pending") == set(s.values()) and ids("status=final") == set()
    assert c.get("/api/sessions?since=yesterday").status_code == 400


def test_session_detail_is_the_transcript_contract_plus_grades_and_overrides(web: App, seeded: Seeded) -> None:
    sid = seeded.sessions["sam1"]
    body = web.client("sam").get(f"/api/sessions/{sid}").json()
    assert body["id"] == sid and body["persona"] == CASE and body["learner"] == "sam"
    assert [t["role"] for t in body["turns"]][:2] == ["learner", "patient"]
    assert XSS in body["turns"][2]["text"]  # stored and returned as said; the pages show it as text
    [grade] = body["grades"]
    assert grade["rubric"] == "history_taking" and grade["status"] == "pending" and grade["items"]
    assert all(e["turn"] < len(body["turns"]) for i in grade["items"] for e in i["evidence"])
    assert body["overrides"] == [] and body["audio_turns"] == [0] and body["flagged"]
    assert [u["turn"] for u in grade["recognition"]["uncertain_turns"]] == [6]


# ------------------------------------------------------------------ review
def _missed(web: App, sid: str) -> dict[str, Any]:
    grade = web.client("fay").get(f"/api/sessions/{sid}").json()["grades"][0]
    return next(i for i in grade["items"] if i["kind"] == "behaviour" and not i["met"])


def test_override_review_and_signoff_with_an_append_only_audit_log(web: App, seeded: Seeded) -> None:
    sid = seeded.sessions["sam1"]
    item = _missed(web, sid)
    asa = web.client("asa")
    before = asa.get(f"/api/sessions/{sid}").json()["grades"][0]
    body = {"rubric": "history_taking", "item": item["id"], "met": True, "reason": "asked at turn 4, in other words"}
    token = asa.headers.pop("X-CSRF-Token")
    assert asa.post(f"/api/sessions/{sid}/overrides", json=body).status_code == 403  # no CSRF token
    assert asa.post(f"/api/sessions/{sid}/overrides", json=body, headers={"X-CSRF-Token": "x" * 43}).status_code == 403
    asa.headers["X-CSRF-Token"] = token
    for user in ("sam", "ada"):
        assert web.client(user).post(f"/api/sessions/{sid}/overrides", json=body).status_code == 403
    assert web.client().post(f"/api/sessions/{sid}/overrides", json=body).status_code == 403
    assert web.client("bob").post(f"/api/sessions/{sid}/overrides", json=body).status_code in (403, 404)
    assert asa.post(f"/api/sessions/{sid}/overrides", json={**body, "reason": " "}).status_code == 400
    assert asa.post(f"/api/sessions/{sid}/overrides", json={**body, "item": "nope"}).status_code == 404
    assert asa.post(f"/api/sessions/{sid}/overrides", json={**body, "met": "yes"}).status_code == 400

    res = asa.post(f"/api/sessions/{sid}/overrides", json=body)
    assert res.status_code == 201, res.text
    after = res.json()["grade"]
    changed = next(i for i in after["items"] if i["id"] == item["id"])
    assert changed["met"] and changed["score"] == changed["max"] > 0
    assert changed["overridden"]["by"] == "asa" and changed["overridden"]["original_met"] is False
    assert after["score"] == pytest.approx(before["score"] + changed["max"])
    assert after["percent"] > before["percent"] and after["original"]["percent"] == before["percent"]
    detail = asa.get(f"/api/sessions/{sid}").json()
    [o] = detail["overrides"]
    assert (o["rubric"], o["item"], o["met"], o["reason"], o["actor"]) == (
        "history_taking",
        item["id"],
        True,
        body["reason"],
        "asa",
    )
    assert o["before"]["met"] is False and o["after"] == {"met": True} and o["at"]

    assert asa.post(f"/api/sessions/{sid}/signoff", json={"rubric": "history_taking"}).status_code == 409  # no rating
    assert asa.post(f"/api/sessions/{sid}/review", json={"rating": "great"}).status_code == 400
    res = asa.post(f"/api/sessions/{sid}/review", json={"rating": "borderline", "comments": "Good <b>start</b>."})
    assert res.status_code == 201 and res.json()["grade"]["review"]["rating"] == "borderline"
    draft = web.client("sam").get(f"/api/sessions/{sid}").json()["grades"][0]["review"]
    assert draft["rating"] is None and draft["comments"] == ""  # the student sees them once signed off
    res = web.client("fay").post(f"/api/sessions/{sid}/signoff", json={"rubric": "history_taking"})
    assert res.status_code == 201 and res.json()["grade"]["status"] == "final"
    assert res.json()["grade"]["review"]["signed_off_by"] == "fay"
    [fb] = web.client("sam").get(f"/api/sessions/{sid}/feedback").json()["feedback"]
    assert fb["review"]["comments"] == "Good <b>start</b>." and fb["status"] == "final"
    assert asa.post(f"/api/sessions/{sid}/overrides", json={**body, "met": False}).status_code == 409  # final
    assert asa.post(f"/api/sessions/{sid}/signoff", json={}).status_code == 409
    listed = {x["id"]: x for x in asa.get("/api/sessions?status=final").json()["sessions"]}
    assert listed[sid]["review_status"] == "final"

    with web.store.engine.connect() as conn:  # who, when, before, after, why: one row per action
        rows = conn.exec_driver_sql("select actor, action, item_id, reason from audit_log order by id").all()
    assert [(r[0], r[1]) for r in rows] == [("asa", "override"), ("asa", "review"), ("fay", "signoff")]
    assert rows[0][2] == item["id"] and rows[0][3] == body["reason"]
    from vpatient.store import audit

    assert not any(hasattr(audit.AuditLog, name) for name in ("update", "delete", "remove", "edit"))
    assert_append_only(web.store)


def assert_append_only(store: Store) -> None:
    """The database itself refuses to change or remove a row of the audit log."""
    from sqlalchemy.exc import DBAPIError

    for sql in ("update audit_log set reason = 'nothing happened'", "delete from audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql(sql)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from audit_log").scalar() == 3


def test_feedback_logbook_and_next_case(web: App, seeded: Seeded) -> None:
    sam = web.client("sam")
    [fb] = sam.get(f"/api/sessions/{seeded.sessions['sam1']}/feedback").json()["feedback"]
    assert fb["percent"] >= 0 and fb["done_well"] and fb["missed"]
    assert all("tip" in m and isinstance(m["turns"], list) for m in fb["missed"])
    assert any(m["tip"] for m in fb["missed"])  # the rubric's feedback for a missed item
    assert [u["turn"] for u in fb["uncertain_turns"]] == [6]
    book = sam.get("/api/logbook").json()
    assert book["learner"] == "sam" and [s["id"] for s in book["sessions"]] == [
        seeded.sessions["sam1"],
        seeded.sessions["sam2"],
    ]
    assert all(len(i["trend"]) == 2 for i in book["items"])
    weakest = book["items"][0]
    assert weakest["rate"] <= book["items"][-1]["rate"]
    nxt = book["next_case"]
    assert nxt["case"] in {c.id for c in web.hub.cases.values()} and nxt["items"]
    assert sam.get("/api/logbook?learner=sue").status_code == 404
    assert web.client("asa").get("/api/logbook?learner=sam").json()["learner"] == "sam"
    assert web.client("bob").get("/api/logbook?learner=sam").status_code == 404
    assert web.client("ada").get("/api/logbook").status_code == 403


def test_cohort_view_csv_and_xapi(web: App, seeded: Seeded) -> None:
    asa = web.client("asa")
    st = asa.get("/api/cohorts/y1/stats").json()
    assert st["sessions"] == 2 and st["learners"] == 1
    assert sum(b["n"] for b in st["distribution"]) == 2 and len(st["distribution"]) == 10
    assert st["items"] == sorted(st["items"], key=lambda i: (i["rate"], i["id"]))
    assert [x["learner"] for x in st["by_learner"]] == ["sam"] and st["by_learner"][0]["struggles"]
    assert asa.get("/api/cohorts/y2/stats").status_code == 404  # not asa's cohort
    assert web.client("sam").get("/api/cohorts/y1/stats").status_code == 403

    res = asa.get("/api/cohorts/y1/export.csv")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(res.text)))
    assert {r["session"] for r in rows} == {seeded.sessions["sam1"], seeded.sessions["sam2"]}
    assert {r["learner"] for r in rows} == {"sam"} and all(r["cohorts"] == "y1" for r in rows)
    assert "medications" in rows[0] and {r["medications"] for r in rows} <= {"0", "1"}

    sid = seeded.sessions["sam2"]
    statements = web.client("sam").get(f"/api/sessions/{sid}/xapi").json()
    grade = web.client("sam").get(f"/api/sessions/{sid}").json()["grades"][0]
    assert isinstance(statements, list) and len(statements) == 1 + len(grade["items"])
    top = statements[0]
    assert top["version"] == "2.0.0" and top["verb"]["id"] == "http://adlnet.gov/expapi/verbs/completed"
    assert top["actor"]["account"]["name"] == "sam" and top["actor"]["objectType"] == "Agent"
    assert top["object"]["definition"]["type"] == "http://adlnet.gov/expapi/activities/simulation"
    assert top["object"]["id"].endswith(f"/xapi/cases/{CASE}")
    assert top["result"]["success"] is grade["passed"] and top["result"]["completion"] is True
    assert top["result"]["score"]["scaled"] == pytest.approx(grade["percent"] / 100, abs=1e-4)
    assert top["context"]["contextActivities"]["category"][0]["id"] == "https://w3id.org/xapi/virtual-patient"
    for st_, item in zip(statements[1:], grade["items"], strict=True):
        assert st_["verb"]["id"] == "http://adlnet.gov/expapi/verbs/scored"
        assert st_["object"]["id"].endswith(f"/items/{item['id']}")
        assert st_["context"]["contextActivities"]["parent"][0]["id"] == top["object"]["id"]
        score = st_["result"]["score"]
        assert score["min"] <= score["raw"] <= score["max"]
        assert st_["result"]["success"] is ((not item["met"]) if item["kind"] == "fault" else item["met"])
    assert len({s["id"] for s in statements}) == len(statements)
    assert statements == web.client("fay").get(f"/api/sessions/{sid}/xapi").json()  # stable ids
    cohort = asa.get("/api/cohorts/y1/xapi").json()
    assert {s["context"]["extensions"][next(iter(s["context"]["extensions"]))] for s in cohort} == {
        seeded.sessions["sam1"],
        sid,
    }


def test_csv_cells_cannot_be_formulas() -> None:
    from vpatient.serve.exports import cell

    assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and cell("@x") == "'@x" and cell("sam") == "sam"


# ------------------------------------------------------------------ audio, traversal, files
def test_turn_audio_and_no_path_traversal(web: App, seeded: Seeded, tmp_path: Path) -> None:
    sid = seeded.sessions["sam1"]
    sam = web.client("sam")
    res = sam.get(f"/api/sessions/{sid}/turns/0/audio")
    assert res.status_code == 200 and res.headers["content-type"] == "audio/wav" and res.content[:4] == b"RIFF"
    assert web.client("sue").get(f"/api/sessions/{sid}/turns/0/audio").status_code in (403, 404)
    assert sam.get(f"/api/sessions/{sid}/turns/1/audio").status_code == 404  # no audio for that turn
    assert sam.get(f"/api/sessions/{sid}/turns/99/audio").status_code == 404
    assert sam.get(f"/api/sessions/{sid}/turns/-1/audio").status_code == 404
    # a turn whose stored audio name points outside the session's folder is refused
    store = web.store
    bad = store.start_session(persona_id=CASE, persona_hash="h", learner="sam")
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF secret")
    for name in ("../secret.wav", str(secret), "turn01_learner.wav/../../secret.wav", "..", "turn1_learner.wav\x00"):
        store.add_turn(bad, "learner", "x", meta={"audio": name})
    store.set_meta(bad, "audio_dir", str(tmp_path / "audio-of-bad"))
    (tmp_path / "audio-of-bad").mkdir()
    for n in range(5):
        assert sam.get(f"/api/sessions/{bad}/turns/{n}/audio").status_code == 404
    for path in (
        "/api/sessions/..%2F..%2Fetc%2Fpasswd",
        "/api/sessions/%2e%2e",
        f"/api/sessions/{sid[:6]}",  # a prefix is not an id here
        "/api/sessions/a.b",
        "/static/..%2F..%2Fstore%2F__init__.py",
        "/static/../app.py",
    ):
        assert web.client("fay").get(path).status_code == 404, path


def test_database_and_audio_files_are_private(web: App, seeded: Seeded) -> None:
    db = Path(seeded.url.removeprefix("sqlite:///"))
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    folder = web.hub.session_audio("abc123")
    assert folder is not None and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    wav = next(Path(str(seeded.audio_dir)).glob("*/turn01_learner.wav"))
    assert stat.S_IMODE(wav.stat().st_mode) == 0o600
    assert web.hub.session_audio("../x") is None


def test_pages_carry_security_headers_and_hold_no_data(web: App) -> None:
    c = web.client("fay")
    for path in ("/", "/app", "/login"):
        res = c.get(path)
        assert res.status_code == 200
        csp = res.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert res.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in res.text.replace('<script src="/static/', "")  # no inline script at all
    assert c.get("/api/sessions").headers["cache-control"] == "no-store"


# ------------------------------------------------------------------ faculty
def test_case_validation_matches_persona_validate(web: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vpatient.cli import main

    good = Path(str(web.hub.cases[CASE].path)).read_text()
    bad = good.replace("age: ", "age: -", 1).replace("sex: ", "sex: sometimes\n  x_sex: ", 1)
    fay = web.client("fay")
    ok = fay.post("/api/cases/validate", json={"yaml": good, "name": "case.yaml"}).json()
    assert ok["ok"] and ok["problems"] == [] and ok["case"]["id"] == CASE
    res = fay.post("/api/cases/validate", json={"yaml": bad, "name": "case.yaml"}).json()
    assert not res["ok"] and res["problems"]
    file = tmp_path / "case.yaml"
    file.write_text(bad)
    os.chdir(tmp_path)
    assert main(["persona", "validate", "--quick", "case.yaml"]) == 1
    assert res["problems"] == capsys.readouterr().out.strip().splitlines()
    assert all(p.startswith("case.yaml:") for p in res["problems"])
    assert web.client("asa").post("/api/cases/validate", json={"yaml": good}).status_code == 403
    assert fay.post("/api/cases/validate", json={"yaml": good, "name": "../x.yaml"}).status_code == 400
    assert fay.get(f"/api/cases/{CASE}/source").json()["yaml"] == good


def test_case_assignment_limits_what_students_see(web: App) -> None:
    fay, sam, sue = web.client("fay"), web.client("sam"), web.client("sue")
    assert len(sam.get("/api/cases").json()) == len(web.hub.cases)
    res = fay.post("/api/cohorts/y1/cases", json={"case": "lung_cancer_news"})
    assert res.status_code == 201 and res.json()["assignments"] == {"y1": ["lung_cancer_news"]}
    assert [c["id"] for c in sam.get("/api/cases").json()] == ["lung_cancer_news"]
    assert len(sue.get("/api/cases").json()) == len(web.hub.cases)  # y2 has no assignment
    assert sam.post("/api/sessions", json={"case": CASE}).status_code == 404
    assert web.client("asa").post("/api/cohorts/y1/cases", json={"case": CASE}).status_code == 403
    assert fay.post("/api/cohorts/y1/cases", json={"case": "nope"}).status_code == 404
    assert fay.delete("/api/cohorts/y1/cases/lung_cancer_news").json()["assignments"] == {}


def test_admin_manages_users(web: App) -> None:
    ada = web.client("ada")
    res = ada.post("/api/users", json={"name": "zoe", "role": "student", "password": PASSWORD, "cohort": "y2"})
    assert res.status_code == 201 and res.json()["user"]["cohorts"] == ["y2"]
    assert ada.post("/api/users", json={"name": "zoe", "role": "student", "password": PASSWORD}).status_code == 400
    assert ada.post("/api/users", json={"name": "<b>x", "role": "student", "password": PASSWORD}).status_code == 400
    assert ada.post("/api/users", json={"name": "yan", "role": "student", "password": "short"}).status_code == 400
    assert (
        web.client("fay").post("/api/users", json={"name": "q", "role": "admin", "password": PASSWORD}).status_code
        == 403
    )
    assert web.client("zoe").get("/api/me").json()["user"]["role"] == "student"
    assert web.client("fay").post("/api/users/bob/cohorts", json={"cohort": "y1"}).json()["user"]["assesses"] == [
        "y1",
        "y2",
    ]
    assert ada.post("/api/users/zoe/active", json={"active": False}).status_code == 200
    assert TestClient(web.app).post("/api/login", json={"username": "zoe", "password": PASSWORD}).status_code == 401


def test_users_cli_reads_the_password_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from vpatient.cli import main
    from vpatient.store.accounts import Accounts

    db = f"sqlite:///{tmp_path / 'u.db'}"
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "--db", db, "add", "ann", "--role", "assessor", "--cohort", "y3"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "--db", db, "add", "sid", "--role", "student"]) == 0
    assert main(["users", "--db", db, "assign", "sid", "--cohort", "y3"]) == 0
    assert main(["users", "--db", db, "list", "--json"]) == 0
    listed = {u["name"]: u for u in json.loads(capsys.readouterr().out)}
    assert listed["ann"]["assesses"] == ["y3"] and listed["sid"]["cohorts"] == ["y3"]
    assert Accounts(Store(db)).verify("ann", PASSWORD) is not None
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["users", "--db", db, "add", "bea", "--role", "student"]) == 2
    assert "too short" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "--db", db, "add", "root", "--role", "admin", "--cohort", "y3"]) == 2
    assert "not a member of a cohort" in capsys.readouterr().err
    assert "root" not in {u.name for u in Accounts(Store(db)).users()}  # refused before it was added
    monkeypatch.setattr(sys, "stdin", io.StringIO("a new password\n"))
    assert main(["users", "--db", db, "passwd", "ann"]) == 0
    accounts = Accounts(Store(db))
    assert accounts.verify("ann", PASSWORD) is None and accounts.verify("ann", "a new password") is not None
    assert main(["users", "--db", db, "disable", "ann"]) == 0
    assert accounts.verify("ann", "a new password") is None
    assert main(["users", "--db", db, "enable", "ann"]) == 0
    assert accounts.verify("ann", "a new password") is not None
    assert main(["users", "--db", db, "list"]) == 0
    assert "reviews: y3" in capsys.readouterr().out


# ------------------------------------------------------------------ consultations and login mode
def test_login_mode_guards_the_consultation_api_and_websocket(web: App, seeded: Seeded) -> None:
    anon = web.client()
    assert anon.get("/api/cases").status_code == 401
    assert anon.post("/api/sessions", json={"case": CASE}).status_code == 401
    sam = web.client("sam")
    token = sam.headers.pop("X-CSRF-Token")
    assert sam.post("/api/sessions", json={"case": CASE}).status_code == 403
    res = sam.post("/api/sessions", json={"case": CASE, "learner": "sue"}, headers={"X-CSRF-Token": token})
    assert res.status_code == 201
    sid = res.json()["session"]
    assert web.store.session(sid).learner == "sam"  # the login decides, not the body
    for user in ("sue", None):
        with web.client(user).websocket_connect(f"/ws/{sid}") as ws:
            msg = ws.receive_json()
            assert msg["type"] == "error" and msg["code"] in ("forbidden", "login_required")
    with web.client("sam").websocket_connect(f"/ws/{seeded.sessions['sue1']}") as ws:
        assert ws.receive_json()["code"] == "forbidden"
    with web.client("sam").websocket_connect(f"/ws/{sid}", headers={"Origin": "http://evil.example"}) as ws:
        assert ws.receive_json()["code"] == "forbidden"  # cross-site WebSocket hijacking


def test_open_mode_keeps_anonymous_consultations(seeded: Seeded, tmp_path: Path, embedder: Any) -> None:
    db = tmp_path / "open.db"
    shutil.copy(seeded.url.removeprefix("sqlite:///"), db)
    web = App(f"sqlite:///{db}", embedder, WebSettings(open=True))
    anon = web.client()
    assert anon.get("/api/me").json() == {"user": None, "csrf_token": None, "open": True}
    assert len(anon.get("/api/cases").json()) == len(web.hub.cases)
    res = anon.post("/api/sessions", json={"case": CASE, "learner": "kim"})
    assert res.status_code == 201
    sid = res.json()["session"]
    assert web.store.session(sid).learner == "kim"  # dev mode: the client names its learner
    anonymous = anon.post("/api/sessions", json={"case": CASE}).json()["session"]
    assert anon.get(f"/api/sessions/{anonymous}").json()["id"] == anonymous  # the id is the key
    assert anon.get(f"/api/sessions/{sid}").status_code in (403, 404)  # a learner's session needs a login
    assert anon.get(f"/api/sessions/{seeded.sessions['sam1']}").status_code in (403, 404)
    assert anon.get("/api/sessions").status_code == 401
    web.store.close()


def test_migration_0003_upgrades_a_database_of_the_previous_release(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    from vpatient.store import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        conn.exec_driver_sql(
            "insert into sessions (id, persona_id, persona_hash, persona_path, engine, status, started_at, meta) "
            "values ('old1', 'p', 'h', '', 'scripted', 'ended', '2024-01-01 00:00:00', '{}')"
        )
    engine.dispose()
    store = Store(url)
    [old] = store.sessions()
    assert (old.id, old.learner) == ("old1", None)
    from vpatient.store.accounts import Accounts

    assert Accounts(store).add_user("amy", "student", PASSWORD).name == "amy"
    with store.engine.begin() as conn:  # and back down: the previous release's schema
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    with store.engine.connect() as conn:
        columns = [r[1] for r in conn.exec_driver_sql("pragma table_info(sessions)")]
        tables = {r[0] for r in conn.exec_driver_sql("select name from sqlite_master where type='table'")}
    assert "learner" not in columns and "users" not in tables and "sessions" in tables
    store.close()


def test_chat_learner_is_stored_and_seen_by_that_student(
    tmp_path: Path, seeded: Seeded, embedder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from vpatient.cli import main

    db = tmp_path / "chat.db"
    shutil.copy(seeded.url.removeprefix("sqlite:///"), db)
    script = tmp_path / "lines.txt"
    script.write_text("Do you smoke?\n")
    argv = [
        "chat",
        "--db",
        f"sqlite:///{db}",
        "--persona",
        CASE,
        "--script",
        str(script),
        "--quiet",
        "--learner",
        "tom",
    ]
    assert main(argv) == 0
    sid = capsys.readouterr().out.strip().splitlines()[-1]
    web = App(f"sqlite:///{db}", embedder, WebSettings())
    assert web.store.session(sid).learner == "tom"
    assert [s["id"] for s in web.client("tom").get("/api/sessions").json()["sessions"]] == [sid]
    assert web.client("tom").get(f"/api/sessions/{sid}").json()["grades"]  # graded when the chat ended
    assert sid in {s["id"] for s in web.client("asa").get("/api/sessions").json()["sessions"]}  # tom is in y1
    web.store.close()


def test_faculty_save_a_case_and_validate_a_rubric(
    seeded: Seeded, tmp_path: Path, embedder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cases.db"
    shutil.copy(seeded.url.removeprefix("sqlite:///"), db)
    folder = tmp_path / "cases"
    web = App(f"sqlite:///{db}", embedder, WebSettings(cases_dir=folder))
    fay = web.client("fay")
    good = Path(str(web.hub.cases[CASE].path)).read_text()
    new = good.replace(f"id: {CASE}", "id: chest_pain_web", 1)
    res = fay.post("/api/cases", json={"yaml": new})
    assert res.status_code == 201, res.text
    assert (folder / "chest_pain_web.yaml").read_text() == new and res.json()["path"] == "chest_pain_web.yaml"
    assert stat.S_IMODE((folder / "chest_pain_web.yaml").stat().st_mode) == 0o600
    assert "chest_pain_web" in {c["id"] for c in web.client("sam").get("/api/cases").json()}
    bad = fay.post("/api/cases", json={"yaml": new.replace("age: ", "age: -", 1)})
    assert bad.status_code == 400 and "age" in bad.json()["message"]
    assert web.client("asa").post("/api/cases", json={"yaml": new}).status_code == 403
    assert sorted(p.name for p in folder.iterdir()) == ["chest_pain_web.yaml"]

    rubric = fay.get("/api/rubrics/history_taking/source").json()["yaml"]
    ok = fay.post("/api/rubrics/validate", json={"yaml": rubric, "name": "history_taking.yaml"}).json()
    assert ok["ok"] and ok["rubric"]["id"] == "history_taking"
    bad_rubric = rubric.replace("pass_mark:", "pass_mark: -", 1)
    broken = fay.post("/api/rubrics/validate", json={"yaml": bad_rubric, "name": "r.yaml"}).json()
    assert not broken["ok"] and broken["problems"]
    (tmp_path / "r.yaml").write_text(bad_rubric)
    os.chdir(tmp_path)
    from vpatient.cli import main

    capsys.readouterr()
    assert main(["rubric", "validate", "r.yaml"]) == 1
    assert broken["problems"] == capsys.readouterr().out.strip().splitlines()  # the same lines as the CLI
    no_dir = App(f"sqlite:///{db}", embedder, WebSettings())
    assert no_dir.client("fay").post("/api/cases", json={"yaml": new}).status_code == 409
    web.store.close()
    no_dir.store.close()


def test_a_session_without_a_grade_is_graded_on_request(web: App) -> None:
    store = web.store
    sid = store.start_session(persona_id=CASE, persona_hash="h", learner="sam", meta={"scenario": "history_taking"})
    store.add_turn(sid, "learner", "Do you smoke?")
    store.add_turn(sid, "patient", "About fifteen a day.")
    store.end_session(sid)
    asa = web.client("asa")
    assert asa.get(f"/api/sessions/{sid}").json()["grades"] == []
    assert web.client("sam").post(f"/api/sessions/{sid}/grade").status_code == 403
    res = asa.post(f"/api/sessions/{sid}/grade")
    assert res.status_code == 201, res.text
    [grade] = res.json()["grades"]
    assert grade["rubric"] == "history_taking" and grade["status"] == "pending"
    assert next(i for i in grade["items"] if i["id"] == "smoking")["met"]
    assert asa.post(f"/api/sessions/{sid}/grade").status_code == 409  # graded already


def test_the_desktop_client_says_it_needs_an_open_server(web: App, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.error

    from vpatient.serve import client

    def refuse(req: Any, timeout: float) -> Any:
        res = web.client().get("/api/cases")  # what this server answers a caller without a login
        raise urllib.error.HTTPError(req.full_url, res.status_code, "", res.headers, io.BytesIO(res.content))  # type: ignore[arg-type]

    monkeypatch.setattr(client.urllib.request, "urlopen", refuse)
    with pytest.raises(client.ServerError, match="--open") as err:
        client.ServerClient("http://testserver").cases()
    assert err.value.code == "login_required"
