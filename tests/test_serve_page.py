"""The student page in a real browser: Playwright (Python) driving Debian's Chromium (`apt-get install
chromium`; Playwright's own browser download is not used) against the `vpatient serve` process of
`serve_server`. Typing a question shows the patient's reply, spoken aloud (the avatar's mouth moves); a
reload resumes the consultation; Chromium's fake microphone playing a WAV gives a hands-free spoken turn
through the AudioWorklet."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_support import CHROMIUM, FLAGS, needs_chromium

pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')

sync_api = pytest.importorskip("playwright.sync_api", reason='needs the dev extra: pip install -e ".[dev]"')

pytestmark = [pytest.mark.slow, needs_chromium]


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh Chromium profile; the fake microphone plays `mic.wav` (2.5 s of silence, "Do you smoke?")."""
    wav = tmp_path / "mic.wav"
    _mic_wav(wav)
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                *FLAGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={wav}",
            ],
            viewport={"width": 1100, "height": 760},
            # wait_for_function evaluates its string in the page, which the page's CSP (no eval) forbids
            bypass_csp=True,
        )
        try:
            yield context
        finally:
            context.close()


def _mic_wav(path: Path) -> None:
    from vpatient.speech.audio import write_wav

    if shutil.which("flite") is None:
        pytest.skip("Debian flite (the learner's voice) is not installed")
    from vpatient.speech.tts import FliteTTS

    voice = FliteTTS("kal16")
    silence = np.zeros(int(voice.sample_rate * 2.5), dtype=np.float32)
    write_wav(path, np.concatenate([silence, voice.synthesize("Do you smoke?"), silence]), voice.sample_rate)


def test_typed_question_gets_a_spoken_reply_and_a_reload_resumes(serve_server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(serve_server.url)
    page.select_option("#cases", "chest_pain_exertional")
    assert "Robert Hale" in page.inner_text("#brief")
    page.click("#start")
    page.wait_for_selector("#room:not([hidden])")
    page.fill("#text", "When did the chest pain start?")
    page.press("#text", "Enter")
    reply = page.wait_for_selector("li.turn.patient", timeout=30000)
    assert "three weeks" in reply.inner_text()
    assert page.inner_text("li.turn.learner").endswith("When did the chest pain start?")
    page.wait_for_function("window.vp.state === 'speaking'", timeout=20000)
    mouths = {page.get_attribute("#avatar", "data-mouth") for _ in range(12) if page.wait_for_timeout(80) is None}
    page.screenshot(path=str(tmp_path / "speaking.png"))
    assert len(mouths) > 1  # the mouth moves with the patient's audio
    page.wait_for_function("window.vp.state === 'listening'", timeout=30000)
    sid = page.inner_text("#session-id")
    assert f"#session={sid}" in page.url

    page.reload()  # the same consultation comes back
    page.wait_for_function("document.querySelectorAll('li.turn').length === 2", timeout=20000)
    assert page.inner_text("#status") == "resumed"
    page.fill("#text", "Do you smoke?")
    page.press("#text", "Enter")
    page.wait_for_function("document.querySelectorAll('li.turn.patient').length === 2", timeout=30000)
    assert "fifteen" in page.locator("li.turn.patient").nth(1).inner_text()
    assert not errors


def test_hands_free_microphone_turn_through_the_audio_worklet(serve_server, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(serve_server.url)
    page.select_option("#cases", "chest_pain_exertional")
    page.uncheck("#voice-on")  # the reply as text: the fake microphone keeps looping its file
    page.click("#start")
    page.wait_for_selector("#room:not([hidden])")
    page.check("#handsfree")  # the fake microphone streams through the AudioWorklet
    learner = page.wait_for_selector("li.turn.learner", timeout=45000)
    assert "smoke" in learner.inner_text().lower()
    reply = page.wait_for_selector("li.turn.patient", timeout=30000)
    assert "fifteen" in reply.inner_text()
    page.uncheck("#handsfree")
    page.click("#end")
    page.wait_for_function("document.getElementById('status').textContent === 'consultation ended'", timeout=20000)
