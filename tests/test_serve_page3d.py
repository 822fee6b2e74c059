"""The student page's 3D patient in a real browser: Playwright (Python) driving Debian's Chromium, WebGL on the
CPU (SwiftShader), against the `vpatient serve` process of `serve_server`. The page loads the case's glTF from
the app and three.js from the app (no other URL is ever requested); while the patient speaks, the mouth
region of the 3D view differs from a silent frame (the viseme track of the audio playing); the "thinking" cue
shows while the reply is pending; without WebGL the page falls back to the 2D face and still works."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser_support import CHROMIUM, FLAGS, needs_chromium

pytest.importorskip("fastapi", reason='needs the serve extra: pip install -e ".[serve]"')
sync_api = pytest.importorskip("playwright.sync_api", reason='needs the dev extra: pip install -e ".[dev]"')

from vpatient.avatar.mesh3d import AvatarDataMissing, data_dir  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "vpatient" / "serve" / "static" / "vendor" / "three" / "three.module.min.js"
WEBGL = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]

pytestmark = [pytest.mark.slow, needs_chromium]


def _needs_3d() -> None:
    if not VENDOR.exists():
        pytest.skip("three.js is not vendored: bash scripts/vendor_three.sh (needs npm)")
    try:
        data_dir()
    except AvatarDataMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture()
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        yield p.chromium


def _open_case(browser: Any, url: str, requests: list[str]) -> Any:
    # The page's own CSP stays on (no bypass): page.evaluate runs through the DevTools protocol.
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.select_option("#cases", "chest_pain_exertional")
    page.click("#start")
    page.wait_for_selector("#room:not([hidden])")
    _wait(page, "window.vp.avatar3d && ['ready', 'fallback'].includes(window.vp.avatar3d.status)", 90)
    return page


def _wait(page: Any, expr: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"() => !!({expr})"):
        assert time.monotonic() < deadline, f"timed out waiting for {expr}"
        time.sleep(0.1)


def _pixels(page: Any) -> np.ndarray:
    from io import BytesIO

    from PIL import Image

    png = page.locator("#avatar3d").screenshot()
    return np.asarray(Image.open(BytesIO(png)).convert("RGB"), dtype=np.float32)


def _box(img: np.ndarray, centre: tuple[float, float], half: int) -> np.ndarray:
    x, y = round(centre[0]), round(centre[1])
    return img[max(0, y - half) : y + half, max(0, x - half) : x + half]


def test_the_3d_patient_speaks_with_visemes_from_the_app_only(serve_server, chromium, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _needs_3d()
    browser = chromium.launch(executable_path=CHROMIUM, headless=True, args=[*FLAGS, *WEBGL])
    requests: list[str] = []
    try:
        page = _open_case(browser, serve_server.url, requests)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        assert page.evaluate("vp.avatar3d.status") == "ready", page.evaluate("vp.avatar3d.reason")
        assert page.is_hidden("#avatar") and page.is_visible("#avatar3d")
        page.evaluate("() => { vp.avatar3d.still = true; }")  # no blinks or sway: only speech moves the face
        time.sleep(1.0)
        fps = page.evaluate("vp.avatar3d.fps")

        page.fill("#text", "When did the chest pain start?")
        page.press("#text", "Enter")
        # a frame with the mouth open while the patient's audio plays: hold it there (as a barge-in pauses
        # playback, the audio clock stops and with it the viseme track)
        page.evaluate(
            """() => new Promise((resolve) => {
                 const open = () => {
                   if (vp.state === 'speaking' && vp.avatar3d.weights.jawOpen > 0.3) vp.out.ctx.suspend().then(resolve);
                   else requestAnimationFrame(open);
                 };
                 open();
               })"""
        )
        time.sleep(0.5)  # a few frames at the held time
        source = page.evaluate("vp.out.chunks.map((c) => c.visemes.source)")
        speaking = _pixels(page)
        page.screenshot(path=str(tmp_path / "student-3d-speaking.png"))
        jaw_held = page.evaluate("vp.avatar3d.weights.jawOpen")
        page.evaluate("() => vp.out.ctx.resume()")
        _wait(page, "vp.state === 'listening' && !vp.out.sources.length", 60)
        time.sleep(1.5)  # the face settles on the reply's expression with the mouth closed
        assert page.evaluate("vp.avatar3d.weights.jawOpen || 0") < 0.05
        silent = _pixels(page)
        assert page.evaluate("vp.cueShown") >= 1  # the "thinking" cue showed while the reply was pending
        mouth = tuple(page.evaluate("vp.avatar3d.mouthPixel"))
        scale = speaking.shape[1] / page.evaluate("document.getElementById('avatar3d').clientWidth")
        centre = (mouth[0] * scale, mouth[1] * scale)
        diff = np.abs(speaking - silent).mean(axis=2)
        in_mouth = float(_box(diff, centre, round(20 * scale)).mean())
        shoulders = float(diff[-round(60 * scale) :, : round(80 * scale)].mean())
        assert not errors
    finally:
        browser.close()
    assert jaw_held > 0.3 and source and set(source) <= {"phonemes", "envelope"}, (jaw_held, source)
    assert in_mouth > 4.0 and in_mouth > 5 * max(shoulders, 0.2), (in_mouth, shoulders)
    served = serve_server.url
    foreign = [u for u in requests if not (u.startswith(served + "/") or u.startswith(("data:", "blob:")))]
    assert not foreign, foreign
    assert any(u.endswith("/api/cases/chest_pain_exertional/patient.glb") for u in requests)
    assert any("/static/vendor/three/three.module.min.js" in u for u in requests)
    print(f"\n{source=}; 3D view in headless Chromium (SwiftShader): {fps} frames/s")
    print(f"mouth region difference {in_mouth:.1f}, shoulders {shoulders:.2f}")


def test_without_webgl_the_page_falls_back_to_the_2d_face(serve_server, chromium) -> None:  # type: ignore[no-untyped-def]
    if not VENDOR.exists():
        pytest.skip("three.js is not vendored: bash scripts/vendor_three.sh (needs npm)")
    browser = chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*FLAGS, "--disable-webgl", "--disable-3d-apis"]
    )
    requests: list[str] = []
    try:
        page = _open_case(browser, serve_server.url, requests)
        assert page.evaluate("vp.avatar3d.status") == "fallback"
        assert page.is_visible("#avatar") and page.is_hidden("#avatar3d")
        assert "2D view" in page.inner_text("#avatar-note")
        page.fill("#text", "Do you smoke?")
        page.press("#text", "Enter")
        reply = page.wait_for_selector("li.turn.patient", timeout=30000)
        assert "fifteen" in reply.inner_text()
    finally:
        browser.close()
