"""The web app in a real browser: Playwright (Python) driving Debian's Chromium against a `vpatient serve
--no-speech` process on a seeded database. An assessor signs in, reviews a graded session (evidence linked
to its turns, a turn's audio played, the uncertain turn flagged), overrides an item, rates, signs off and
exports the cohort; a student sees their feedback and logbook, does a typed consultation and gets its
feedback, and cannot open another student's session; faculty validate a case as they type; an admin adds a
user. Markup in a transcript shows as text and never runs.

Screenshots go to the test's folder; with VPATIENT_DOCS_SHOTS=1 they are also copied to docs/ (for the
README and docs/webapp.md)."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')
pytest.importorskip("argon2", reason='needs the serve extra: pip install -e ".[serve]"')
pytest.importorskip("playwright.sync_api", reason='needs the dev extra: pip install -e ".[dev]"')

from browser_support import CHROMIUM, FLAGS, needs_chromium
from playwright import sync_api
from serve_support import ServeProcess
from webapp_support import PASSWORD, XSS, Seeded, seed

DOCS = Path(__file__).resolve().parent.parent / "docs"
pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Iterator[tuple[ServeProcess, Seeded]]:
    root = tmp_path_factory.mktemp("site")
    seeded = seed(root / "site.db", embedder, root / "audio")
    server = ServeProcess(
        seeded.url,
        "--no-speech",
        "--max-sessions",
        "4",
        "--audio-dir",
        str(root / "served-audio"),
        "--cases-dir",
        str(root / "cases"),
        log=root / "serve.log",
    )
    yield server, seeded
    server.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def until(page: Any, js: str, timeout_s: float = 20.0) -> None:
    """Wait until the expression is true (page.wait_for_function evaluates a string in the page, which the
    app's Content-Security-Policy forbids; page.evaluate is not subject to it)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.evaluate(js):
        assert time.monotonic() < deadline, f"timed out waiting for {js}"
        page.wait_for_timeout(100)


def shot(page: Any, tmp: Path, name: str) -> None:
    path = tmp / name
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("VPATIENT_DOCS_SHOTS") == "1":
        shutil.copy(path, DOCS / name)


def sign_in(browser: Any, url: str, user: str, start: str = "/app") -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(url + start)
    page.wait_for_url("**/login**")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url(lambda u: "/login" not in u)
    return page


def test_assessor_reviews_overrides_signs_off_and_exports(site: Any, chromium: Any, tmp_path: Path) -> None:
    server, seeded = site
    sid = seeded.sessions["sam1"]
    page = sign_in(chromium, server.url, "asa")
    page.wait_for_selector("#sessions tbody tr")
    assert page.locator("#sessions tbody tr").count() == 2  # sam's two sessions; sue's is another cohort's
    page.select_option("select[name=flagged]", "true")
    page.click("#filters button[type=submit]")
    until(page, "document.querySelectorAll('#sessions tbody tr').length === 1")
    page.click(f"tr[data-session='{sid}'] a")
    page.wait_for_selector("#turns li")

    # markup said in a turn shows as text and never runs
    assert XSS in page.inner_text("#turn-2 .text")
    assert page.evaluate("window.pwned") is None
    assert page.locator("#turn-2 script, #turn-2 img").count() == 0
    # evidence is highlighted and linked to its turn; the uncertain turn is flagged
    assert page.locator("#turns mark").count() > 0 and page.locator("li.evidence").count() > 0
    page.locator(".item a.turn-link").first.click()
    assert page.locator("li.target").count() == 1
    assert page.locator("#turn-6.uncertain .badge.asr").count() == 1
    # the turn's audio plays
    played = page.evaluate(
        """async () => { const a = document.querySelector('#turn-0 audio'); await a.play();
        await new Promise((r) => setTimeout(r, 400)); a.pause();
        return {t: a.currentTime, d: a.duration, e: a.error && a.error.code}; }"""
    )
    assert played["e"] is None and played["t"] > 0.1 and abs(played["d"] - 1.0) < 0.05

    # override a missed item with a reason
    before = page.inner_text("#score")
    missed = page.locator(".item:has(.badge.missed)").first
    item_id = missed.get_attribute("data-item")
    missed.locator("select[name=met]").select_option("true")
    missed.locator("input[name=reason]").fill("Asked in other words at turn 2")
    missed.locator("button[type=submit]").click()
    page.wait_for_selector(f"#item-{item_id} .badge.over")
    assert page.inner_text("#score") != before
    assert "Asked in other words at turn 2" in page.inner_text("#audit")
    page.check("input[name=rating][value=borderline]")
    page.fill("textarea[name=comments]", "Structured; <b>missed</b> the social history.")
    page.click("#rating-form button[type=submit]")
    page.wait_for_selector("#rating")
    shot(page, tmp_path, "webapp-review.png")
    page.click("#signoff")
    page.wait_for_selector(".grade-panel .badge.final")
    assert page.locator(".item form").count() == 0  # final: nothing left to change

    page.goto(server.url + "/app#/cohort/y1")
    page.wait_for_selector("#items tr")
    assert page.locator("#histogram > div").count() == 10
    shot(page, tmp_path, "webapp-cohort.png")
    with page.expect_download() as download:
        page.click("a.export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    final = next(r for r in rows if r["session"] == sid)
    assert final["review_status"] == "final" and final["rating"] == "borderline" and final[item_id] == "1"
    assert not page.errors  # type: ignore[attr-defined]


def test_student_feedback_logbook_consultation_and_no_other_session(site: Any, chromium: Any, tmp_path: Path) -> None:
    server, seeded = site
    page = sign_in(chromium, server.url, "sam", start="/")
    page.wait_for_selector("#cases option", state="attached")  # the consultation page
    page.goto(server.url + f"/app#/feedback/{seeded.sessions['sam2']}")
    page.wait_for_selector(f"[data-session='{seeded.sessions['sam2']}'] ~ section #done-well li")
    assert page.locator("#missed li").count() + page.locator("#done-well li").count() > 3
    shot(page, tmp_path, "webapp-feedback.png")
    page.goto(server.url + f"/app#/feedback/{seeded.sessions['sam1']}")
    page.wait_for_selector(f"[data-session='{seeded.sessions['sam1']}'] ~ section #done-well li")
    assert XSS in page.inner_text("ol.turns-list") and page.evaluate("window.pwned") is None

    page.goto(server.url + f"/app#/feedback/{seeded.sessions['sue1']}")  # another student's
    page.wait_for_selector("p.error")
    assert "no such session" in page.inner_text("p.error")
    status = page.evaluate(f"fetch('/api/sessions/{seeded.sessions['sue1']}').then((r) => r.status)")
    assert status == 404
    page.goto(server.url + "/app#/logbook")
    page.wait_for_selector("#next-case")
    assert page.locator("#trends tr").count() > 3
    shot(page, tmp_path, "webapp-logbook.png")

    # a consultation typed in the browser, graded when it ends, then its feedback
    page.click("#next-case a")
    page.wait_for_selector("#cases option", state="attached")
    page.uncheck("#voice-on")
    page.click("#start")
    page.wait_for_selector("#room:not([hidden])")
    page.fill("#text", "Do you smoke?")
    page.press("#text", "Enter")
    page.wait_for_selector("li.turn.patient", timeout=30000)
    page.click("#end")
    page.wait_for_selector("#feedback-link:not([hidden])", timeout=30000)
    page.click("#feedback-link")
    page.wait_for_selector(".feedback #score", timeout=20000)
    assert "%" in page.inner_text(".feedback #score")
    assert not page.errors  # type: ignore[attr-defined]


def test_faculty_validates_a_case_as_they_type(site: Any, chromium: Any, tmp_path: Path) -> None:
    server, _ = site
    page = sign_in(chromium, server.url, "fay")
    page.goto(server.url + "/app#/cases")
    page.wait_for_selector("#case-pick option", state="attached")
    page.select_option("#case-pick", "case:chest_pain_exertional")
    page.wait_for_selector("#validation .ok")
    text = page.input_value("#yaml")
    page.fill("#yaml", text.replace("age: ", "age: -", 1))
    page.wait_for_selector("#validation ul.problems li")
    problem = page.inner_text("#validation ul.problems li")
    assert problem.startswith("chest_pain_exertional.yaml:") and "age" in problem
    assert page.is_disabled("#save-case")
    shot(page, tmp_path, "webapp-cases.png")
    title = text.split("title:", 1)[1].splitlines()[0].strip()
    page.fill("#yaml", text.replace(title, "Chest pain, edited on the web", 1))
    page.wait_for_selector("#validation .ok")
    page.click("#save-case")
    page.wait_for_selector("#saved > *")
    assert page.locator("#saved .ok").count() == 1, page.inner_text("#saved")
    titles = page.evaluate("fetch('/api/cases').then((r) => r.json()).then((cs) => cs.map((c) => c.title))")
    assert "Chest pain, edited on the web" in titles
    page.select_option("#case-pick", "rubric:history_taking")
    until(page, "(document.querySelector('#validation .ok') || {}).textContent?.includes('history_taking, 17 items')")
    page.fill("#assign-case input[name=cohort]", "y2")
    page.select_option("#assign-case select[name=case]", "lung_cancer_news")
    page.click("#assign-case button[type=submit]")
    until(page, "document.getElementById('assignments').textContent.includes('y2')")
    assert not page.errors  # type: ignore[attr-defined]


def test_admin_adds_a_user(site: Any, chromium: Any, tmp_path: Path) -> None:
    server, _ = site
    page = sign_in(chromium, server.url, "ada")
    page.wait_for_selector("#users tr")
    page.fill("#add-user input[name=name]", "newstudent")
    page.fill("#add-user input[name=password]", PASSWORD)
    page.fill("#add-user input[name=cohort]", "y1")
    page.click("#add-user button[type=submit]")
    until(page, "document.getElementById('users').textContent.includes('newstudent')")
    status = page.evaluate("fetch('/api/sessions/x').then((r) => r.status)")
    assert status == 404  # an admin sees no transcripts
    assert not page.errors  # type: ignore[attr-defined]
