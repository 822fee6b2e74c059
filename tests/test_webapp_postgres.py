"""The web app's store (accounts, cohorts, logins, the audit log, reviewed grades) and its API on a real
PostgreSQL server, started as in tests/test_store_postgres.py (skipped where PostgreSQL is not installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')
pytest.importorskip("argon2", reason='needs the serve extra: pip install -e ".[serve]"')

from test_store_postgres import pg_url  # noqa: F401 - the PostgreSQL server fixture
from webapp_support import PASSWORD, App, seed

from vpatient.serve.access import Caller, scope
from vpatient.serve.auth import WebSettings
from vpatient.serve.records import Filters, Records
from vpatient.store import Store
from vpatient.store.accounts import Accounts
from vpatient.store.audit import AuditLog


def test_accounts_audit_and_review_api_on_postgresql(pg_url: str, embedder: Any, tmp_path: Path) -> None:  # noqa: F811
    seeded = seed(pg_url, embedder, tmp_path / "audio")
    store = Store(pg_url)
    accounts = Accounts(store)
    sam = accounts.verify("sam", PASSWORD)
    assert sam is not None and sam.cohorts == ("y1",) and accounts.verify("sam", "wrong password") is None
    token, login = accounts.login(sam)
    assert accounts.session_login(token) == login and accounts.session_login(token + "x") is None
    assert accounts.learners_of(["y1"]) == {"sam", "tom"}
    records = Records(store)
    asa = accounts.user("asa")
    rows = records.rows(scope(Caller(asa), accounts, open_mode=False), Filters(cohort="y1"))
    assert {r.session.id for r in rows} == {seeded.sessions["sam1"], seeded.sessions["sam2"]}

    app = App(pg_url, embedder, WebSettings())
    client = app.client("asa")
    sid = seeded.sessions["sam1"]
    grade = client.get(f"/api/sessions/{sid}").json()["grades"][0]
    item = next(i for i in grade["items"] if i["kind"] == "behaviour" and not i["met"])
    body = {"rubric": "history_taking", "item": item["id"], "met": True, "reason": "heard it on the audio"}
    res = client.post(f"/api/sessions/{sid}/overrides", json=body)
    assert res.status_code == 201, res.text
    assert res.json()["grade"]["percent"] > grade["percent"]
    [entry] = AuditLog(store).entries(session_id=sid)
    assert (entry.actor, entry.item_id, entry.before["met"], entry.after["met"]) == ("asa", item["id"], False, True)
    from sqlalchemy.exc import DBAPIError

    for sql in ("update audit_log set reason = 'nothing happened'", "delete from audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.exec_driver_sql(sql)  # the database itself keeps the log append-only
    assert app.client("sue").get(f"/api/sessions/{sid}").status_code == 404
    assert client.get("/api/cohorts/y1/stats").json()["sessions"] == 2
    app.store.close()
    store.close()
