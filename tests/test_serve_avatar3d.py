"""What the server gives the page's 3D patient (vpatient.serve.avatar3d): the viseme track of a sentence's
audio from the voice's phonemes (the audio envelope without them), the face tables taken from the Python
avatar code, and the persona's .glb with its landmarks, exported once and cached."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from vpatient.avatar.face import VISEME_ARKIT
from vpatient.avatar.lipsync import VISEME_NAMES
from vpatient.avatar.synth import speechlike
from vpatient.serve.avatar3d import FPS, PatientModels, expression_face, face_tables, viseme_frames

ROOT = Path(__file__).resolve().parent.parent


def test_the_viseme_track_follows_the_phonemes_over_the_audio() -> None:
    audio = speechlike("Papa, mama.")
    track = viseme_frames(audio, 16000, "pˈɑːpə, mˈɑːmə.")
    assert track["source"] == "phonemes" and track["rate"] == FPS
    frames = np.array(track["frames"])
    assert frames.shape[1] == len(VISEME_NAMES) and abs(frames.shape[0] - audio.size / 16000 * FPS) <= 2
    assert frames.min() >= 0 and frames.max() <= 100
    col = {n: frames[:, i] for i, n in enumerate(VISEME_NAMES)}
    assert col["PP"].max() > 50 and col["aa"].max() > 30  # lips closed for p/m, open for the vowels
    assert col["O"].max() == 0  # no rounded vowel in the text
    # without phonemes: the envelope, still a track
    plain = viseme_frames(audio, 16000, "")
    assert plain["source"] == "envelope" and len(plain["frames"]) == len(track["frames"])
    assert viseme_frames(np.zeros(0, np.float32), 16000, "a") == {"rate": FPS, "source": "none", "frames": []}


def test_the_face_tables_are_the_python_ones() -> None:
    tables = face_tables()
    assert tables["visemes"] == list(VISEME_NAMES)
    assert tables["viseme_arkit"] == VISEME_ARKIT
    sad, neutral = tables["emotions"]["sad"], tables["emotions"]["neutral"]
    assert sad["weights"]["browInnerUp"] > 0.5 and sad["head_pitch"] > 0
    assert "browInnerUp" not in neutral["weights"]
    assert expression_face("no such emotion") == neutral


def test_the_glb_is_exported_once_with_its_landmarks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vpatient.avatar.gltf import read_glb, validate_glb
    from vpatient.avatar.mesh3d import AvatarDataMissing, data_dir
    from vpatient.persona.loader import load_persona

    try:
        data_dir()
    except AvatarDataMissing as exc:
        pytest.skip(str(exc))
    monkeypatch.setenv("VPATIENT_CACHE", str(tmp_path / "cache"))
    models = PatientModels(tmp_path / "glb")
    persona = load_persona(ROOT / "personas" / "chest_pain_exertional.yaml")
    path = models.glb(persona)
    assert path is not None and path.parent == tmp_path / "glb"
    assert len(validate_glb(path)["targets"]) == 52
    doc, _ = read_glb(path)
    marks = doc["nodes"][0]["extras"]
    eye_y = (marks["eyes"][0][1] + marks["eyes"][1][1]) / 2
    assert marks["neck"][1] < marks["mouth"][1] < eye_y  # neck, then mouth, then eyes, going up
    assert marks["mouth"][2] > marks["neck"][2]  # the lips are in front of the neck
    mtime = path.stat().st_mtime_ns
    t0 = time.perf_counter()
    assert models.glb(persona) == path and path.stat().st_mtime_ns == mtime  # from the cache
    assert time.perf_counter() - t0 < 1.0
    other = models.glb(load_persona(ROOT / "personas" / "miscarriage_news.yaml"))
    assert other is not None and other != path
