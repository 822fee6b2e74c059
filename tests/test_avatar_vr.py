"""The VR front end: stereo/head-tracking maths, the runtime probe, and a real OpenXR frame loop against
Monado's null compositor in a Debian trixie chroot (skipped, with the reason, where that is not set up)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vpatient.avatar.vr import HEAD_Y, PATIENT_Z, project, projection_from_fov, view_from_pose

FOV = (-0.8, 0.8, 0.7, -0.7)
HEAD = (0.0, HEAD_Y, PATIENT_Z)


def test_patient_is_ahead_in_both_eyes_with_parallax() -> None:
    proj = projection_from_fov(*FOV)
    left = project(proj, view_from_pose((-0.032, 0, 0), (0, 0, 0, 1)), HEAD)
    right = project(proj, view_from_pose((0.032, 0, 0), (0, 0, 0, 1)), HEAD)
    assert abs(left[1]) < 0.1 and -1 < left[2] < 1
    assert left[0] > 0 > right[0]  # each eye sees the head towards the nose: stereo disparity
    assert left[0] == pytest.approx(-right[0])


def test_head_tracking_moves_the_patient() -> None:
    proj = projection_from_fov(*FOV)
    ahead = project(proj, view_from_pose((0, 0, 0), (0, 0, 0, 1)), HEAD)
    a = math.radians(20) / 2  # turn the head 20 degrees to the left (about +y)
    turned = project(proj, view_from_pose((0, 0, 0), (0, math.sin(a), 0, math.cos(a))), HEAD)
    assert ahead[0] == pytest.approx(0, abs=1e-9)
    assert turned[0] > 0.2  # the patient slides to the right of the view
    leaned = project(proj, view_from_pose((0, 0, -0.5), (0, 0, 0, 1)), (0.1, HEAD_Y, PATIENT_Z))
    far = project(proj, view_from_pose((0, 0, 0), (0, 0, 0, 1)), (0.1, HEAD_Y, PATIENT_Z))
    assert leaned[0] > far[0]  # leaning in makes the patient bigger


def test_asymmetric_fov_projection() -> None:
    p = projection_from_fov(-0.9, 0.7, 0.8, -0.6)
    for angle_x, ndc_x in ((-0.9, -1.0), (0.7, 1.0)):
        pt = np.array([math.tan(angle_x), 0, -1.0, 1.0])
        clip = p @ pt
        assert clip[0] / clip[3] == pytest.approx(ndc_x)


def test_probe_without_runtime_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("xr")
    from vpatient.avatar.vr import XRUnavailable, probe_runtime

    monkeypatch.setenv("XR_RUNTIME_JSON", "/nonexistent/openxr_runtime.json")
    with pytest.raises(XRUnavailable, match=r"no OpenXR runtime found.*SteamVR, Monado"):
        probe_runtime()


@pytest.mark.slow
@pytest.mark.parametrize("binding", ["egl", "glx"])
def test_real_openxr_frame_loop_in_monado_chroot(binding: str) -> None:
    """Instance, session (OpenGL through EGL, or through GLX on a virtual X server as on a desktop), 60
    stereo frames submitted to Monado's null compositor; in every eye the patient's face is where that
    eye's tracked pose and field of view put it."""
    from vpatient.avatar.vr_check import chroot_problem, run_in_monado_chroot

    problem = chroot_problem(binding=binding)
    if problem:
        pytest.skip(problem)
    verdict = run_in_monado_chroot(frames=60, binding=binding)
    assert verdict["ok"], {k: v for k, v in verdict.items() if k in ("errors", "frames", "stderr", "monado_log")}
    assert verdict["runtime"].startswith("Monado")
    assert verdict["views"] == 2 and "FOCUSED" in verdict["states"]
    assert verdict["face_found"] == verdict["in_view"] >= 60
    assert verdict["distinct_left_frames"] > 30  # the face animates


@pytest.mark.slow
def test_vr_scene_draws_the_3d_patient_in_both_eyes() -> None:
    """The VR front end's scene on pyopenxr's EGL context provider (the one the Monado EGL binding uses),
    without a runtime: the 3D renderer (not the flat fallback) draws the patient for a left and a right eye,
    the face is where each eye's projection puts it, and the two eyes differ (stereo)."""
    import json
    import subprocess
    import sys

    pytest.importorskip("xr")
    pytest.importorskip("moderngl")
    pytest.importorskip("OpenGL")
    from vpatient.avatar.mesh3d import AvatarDataMissing, data_dir

    try:
        data_dir()
    except AvatarDataMissing as exc:
        pytest.skip(str(exc))
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "PYOPENGL_PLATFORM")}
    proc = subprocess.run(
        [sys.executable, "-m", "vpatient.avatar.vr_check", "--scene"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines and "EGL" in proc.stderr:
        pytest.skip(f"no EGL here: {proc.stderr.strip().splitlines()[-1]}")
    verdict = json.loads(lines[-1])
    assert verdict["scene"] == "GLScene3D", verdict
    assert verdict["ok"], verdict
