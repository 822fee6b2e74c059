"""The avatar drawn offscreen (SDL dummy driver): assertions on pixels."""

from __future__ import annotations

import os
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
pygame = pytest.importorskip("pygame")

from vpatient.avatar import EMOTIONS, AvatarDriver, appearance_from_persona  # noqa: E402
from vpatient.avatar.appearance import Appearance, appearance_from_hints  # noqa: E402
from vpatient.avatar.render2d import MOUTH_INSIDE, Renderer  # noqa: E402
from vpatient.persona.loader import load_persona  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SR = 16000
SIZE = (640, 360)


def tone(seconds: float, level: float) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (level * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


def pixels(surface: object, rect: tuple[int, int, int, int] | None = None) -> np.ndarray:
    a = pygame.surfarray.array3d(surface).swapaxes(0, 1).astype(np.int16)  # (h, w, 3)
    if rect is None:
        return a
    x, y, w, h = rect
    return a[y : y + h, x : x + w]


def count_colour(a: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int(np.all(np.abs(a - np.array(colour)) <= 2, axis=-1).sum())


def driver(emotion: str = "neutral", seed: int = 0) -> AvatarDriver:
    d = AvatarDriver(seed=seed, emotion=emotion, clock=lambda: 0.0)
    return d


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(Appearance(), SIZE)


def test_mouth_opens_with_loud_audio_and_closes_in_silence(renderer: Renderer) -> None:
    audio = np.concatenate([tone(1.0, 0.3), np.zeros(SR, np.float32)])
    d = driver()
    d.on_reply_audio(audio, SR, start=0.0)
    loud = count_colour(pixels(renderer.render(d.state_at(0.5)), renderer.mouth_rect()), MOUTH_INSIDE)
    silent = count_colour(pixels(renderer.render(d.state_at(1.6)), renderer.mouth_rect()), MOUTH_INSIDE)
    after = count_colour(pixels(renderer.render(d.state_at(2.5)), renderer.mouth_rect()), MOUTH_INSIDE)
    assert loud > 25, loud
    assert silent == 0 and after == 0


def test_mouth_follows_silent_audio(renderer: Renderer) -> None:
    d = driver()
    d.on_reply_audio(np.zeros(SR, np.float32), SR, start=0.0)
    assert count_colour(pixels(renderer.render(d.state_at(0.5)), renderer.mouth_rect()), MOUTH_INSIDE) == 0


def test_louder_opens_wider(renderer: Renderer) -> None:
    areas = []
    for level in (0.01, 0.05, 0.3):
        d = driver()
        d.on_reply_audio(tone(1.0, level), SR, start=0.0)
        areas.append(count_colour(pixels(renderer.render(d.state_at(0.5)), renderer.mouth_rect()), MOUTH_INSIDE))
    assert areas[0] < areas[1] < areas[2], areas


def test_expressions_differ_by_affect(renderer: Renderer) -> None:
    faces = {}
    for emotion in EMOTIONS:
        d = driver(emotion)
        st = d.state_at(0.05)  # before the first blink of seed 0
        assert st.blink == 0.0
        x, y, w, h = renderer.eye_rect()
        face = (x, y, w, h + renderer.mouth_rect()[3] + renderer.mouth_rect()[1] - y - h)
        faces[emotion] = pixels(renderer.render(st), face)
    for a, b in combinations(EMOTIONS, 2):
        diff = np.abs(faces[a] - faces[b]).sum(axis=-1) > 30
        assert diff.sum() > 100, f"{a} and {b} look alike ({diff.sum()} pixels differ)"


def test_sad_has_tears_and_angry_is_flushed(renderer: Renderer) -> None:
    sad = pixels(renderer.render(driver("sad").state_at(0.05)))
    neutral = pixels(renderer.render(driver("neutral").state_at(0.05)))
    assert count_colour(sad, (150, 190, 235)) > count_colour(neutral, (150, 190, 235))
    angry = pixels(renderer.render(driver("angry").state_at(0.05)), renderer.eye_rect())
    calm = pixels(renderer.render(driver("neutral").state_at(0.05)), renderer.eye_rect())
    red = lambda a: float((a[..., 0] - a[..., 2]).mean())  # noqa: E731
    assert red(angry) > red(calm)


def test_same_state_gives_the_same_frame() -> None:
    frames = []
    for _ in range(2):
        r = Renderer(Appearance(), SIZE)
        d = driver("anxious", seed=5)
        d.set_state("listening", at=0.0)
        d.on_reply_audio(tone(1.0, 0.2), SR, "Yes, doctor.", start=0.3)
        frames.append([pygame.image.tobytes(r.render(d.state_at(t)), "RGB") for t in (0.0, 0.5, 0.77, 2.0)])
    assert frames[0] == frames[1]
    assert len(set(frames[0])) == 4  # and time changes the frame


def test_blink_closes_the_eyes(renderer: Renderer) -> None:
    d = driver()
    states = [d.state_at(i / 60) for i in range(60 * 8)]
    closed = max(states, key=lambda s: s.blink)
    opened = states[0]
    white = (246, 246, 242)
    assert closed.blink > 0.9
    assert (
        count_colour(pixels(renderer.render(closed), renderer.eye_rect()), white)
        < count_colour(pixels(renderer.render(opened), renderer.eye_rect()), white) * 0.2
    )


def test_cues_differ_by_mode(renderer: Renderer) -> None:
    w, h = SIZE
    cue = (0, int(h * 0.88), int(w * 0.3), int(h * 0.1))
    shots = {}
    for mode in ("listening", "thinking", "speaking"):
        d = driver()
        if mode == "speaking":
            d.on_reply_audio(tone(1.0, 0.3), SR, start=0.0)
        else:
            d.set_state(mode, at=0.0)
        shots[mode] = pixels(renderer.render(d.state_at(0.5)), cue)
    for a, b in combinations(shots, 2):
        assert (np.abs(shots[a] - shots[b]).sum(axis=-1) > 30).sum() > 20, (a, b)


def test_subtitles_are_optional(renderer: Renderer) -> None:
    band = (0, int(SIZE[1] * 0.9), SIZE[0], int(SIZE[1] * 0.1))
    on = AvatarDriver(clock=lambda: 0.0)
    on.set_subtitle("It's a tight pain in the middle of my chest.")
    off = AvatarDriver(clock=lambda: 0.0, subtitles=False)
    off.set_subtitle("It's a tight pain in the middle of my chest.")
    a, b = pixels(renderer.render(on.state_at(0.05)), band), pixels(renderer.render(off.state_at(0.05)), band)
    assert count_colour(a, (255, 255, 255)) > 50 and count_colour(b, (255, 255, 255)) == 0


def test_appearance_differs_by_persona() -> None:
    personas = [load_persona(p) for p in sorted((ROOT / "personas").glob("*.yaml"))]
    looks = {p.id: appearance_from_persona(p) for p in personas}
    frames = {pid: pixels(Renderer(look, SIZE).render(driver().state_at(0.05))) for pid, look in looks.items()}
    for a, b in combinations(frames, 2):
        assert (np.abs(frames[a] - frames[b]).sum(axis=-1) > 30).sum() > 500, (a, b)
    # skin tone: the cheek pixel is the persona's skin colour (light vs medium brown)
    r = Renderer(looks["chest_pain_exertional"], SIZE)
    cheek = (int(r.cx + 0.55 * r.unit), int(r.cy + 0.15 * r.unit))
    light = frames["chest_pain_exertional"][cheek[1], cheek[0]]
    brown = frames["diabetes_ramadan"][cheek[1], cheek[0]]
    assert tuple(light) == looks["chest_pain_exertional"].skin and tuple(brown) == looks["diabetes_ramadan"].skin
    assert sum(light) > sum(brown)


def test_appearance_hints() -> None:
    old = appearance_from_hints(age=80, sex="male", hair="short grey, receding", skin_tone="dark")
    young = appearance_from_hints(age=25, sex="female", hair="long black hair", skin_tone="pale")
    assert old.wrinkles > 0.9 and young.wrinkles == 0.0
    assert old.receding and old.hair_length == "short" and young.hair_length == "long"
    assert sum(old.skin) < sum(young.skin)
    beard = appearance_from_hints(age=62, sex="male", hair="short grey hair, trimmed grey beard, white prayer cap")
    assert beard.beard and beard.cap is not None and beard.hair == (160, 158, 155)
    unknown = appearance_from_hints(age=40, sex="female", hair="???", skin_tone="???")
    assert unknown.hair_length == "long"


def test_render_1280x720_fast_enough() -> None:
    r = Renderer(Appearance(), (1280, 720))
    d = driver()
    d.on_reply_audio(tone(2.0, 0.3), SR, "Hello", start=0.0)
    import time

    surf = r.render(d.state_at(0.0))
    t0 = time.perf_counter()
    for i in range(60):
        r.render(d.state_at(i / 60), surf)
    per_frame = (time.perf_counter() - t0) / 60
    assert per_frame < 1 / 30, f"{per_frame * 1000:.1f} ms a frame"


@pytest.mark.parametrize("emotion", ["anxious", "sad", "angry"])
def test_dirty_rect_redraw_matches_full_frames(emotion: str) -> None:
    """The window redraws only the moving regions; the frames must equal full redraws."""
    look = appearance_from_persona(load_persona(ROOT / "personas" / "diabetes_ramadan.yaml"))
    r = Renderer(look, SIZE)
    d = driver(emotion, seed=2)
    d.set_state("thinking", at=0.0)
    d.on_reply_audio(tone(2.0, 0.3), SR, "A long enough subtitle to wrap onto a second line of text here.", start=1.0)
    incremental = r.render(d.state_at(0.0))
    for i in range(1, 45):
        t = i * 0.1
        r.render_dirty(d.state_at(t), incremental)
        full = r.render(d.state_at(t))
        assert pygame.image.tobytes(incremental, "RGB") == pygame.image.tobytes(full, "RGB"), t
