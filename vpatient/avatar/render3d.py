"""The one OpenGL renderer of the 3D patient (moderngl): offscreen for tests and pictures, into the desktop
window, and into each eye of a VR headset.

The scene is in metres in the learner's LOCAL space (as the VR front end uses it): the learner's eyes at the
origin, looking down -z; the patient sits at z = PATIENT_Z behind a desk, in a plain consulting room. A
frame is a pure function of (appearance, state, camera): `face_weights` turns an `AvatarState` into ARKit
blendshape weights (visemes + expression + blink), the CPU applies them and the head, eye and gaze
movements to the mesh (`PatientMesh`, a few thousand vertices, under 2 ms), and one shader draws skin, lips,
hair, clothing, teeth and eyes.

Headless: `Renderer3D.offscreen(...)` makes a standalone EGL context (Mesa llvmpipe on a machine without a
GPU: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri). In a VR or desktop front end, pass an existing
moderngl context made from the current OpenGL context.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any

import numpy as np

from vpatient.avatar.appearance import Appearance
from vpatient.avatar.face import face_weights
from vpatient.avatar.mesh3d import EYE, LIPS, MOUTH, PatientMesh, patient_mesh, srgb_to_linear, vertex_normals
from vpatient.avatar.state import AvatarState

MODERNGL_HINT = "the 3D patient needs moderngl: pip install 'vpatient[avatar]' (or pip install moderngl)"

FRAMINGS = ("desk", "face")
MOUTH_INSIDE = 15  # render_materials: back faces (the inside of the mouth and head, seen between the lips)

# Scene layout (metres, the learner's LOCAL space; shared with the VR front end)
PATIENT_Z = -1.3
HEAD_Y = 0.02  # where the patient's head joint sits
DESK_Y = -0.42
BoxSpec = tuple[tuple[float, float, float, float, float, float], tuple[int, int, int]]
ROOM: list[BoxSpec] = [
    ((-3.0, -1.25, -4.0, 3.0, -1.2, 2.0), (120, 110, 100)),  # floor
    ((-3.0, -1.25, -3.0, 3.0, 1.8, -2.95), (205, 214, 220)),  # back wall
    ((-3.0, -1.25, -3.0, -2.95, 1.8, 2.0), (196, 206, 212)),  # left wall
    ((2.95, -1.25, -3.0, 3.0, 1.8, 2.0), (196, 206, 212)),  # right wall
    ((-3.0, -1.25, -2.96, 3.0, -1.1, -2.93), (150, 156, 160)),  # skirting
    ((-0.75, DESK_Y - 0.04, -1.05, 0.75, DESK_Y, -0.35), (150, 110, 72)),  # desk top
    ((-0.75, -1.2, -1.07, 0.75, DESK_Y - 0.04, -1.03), (128, 92, 60)),  # desk's modesty panel
    ((-0.72, -1.2, -0.42, -0.68, DESK_Y - 0.04, -0.38), (110, 80, 52)),  # desk legs
    ((0.68, -1.2, -0.42, 0.72, DESK_Y - 0.04, -0.38), (110, 80, 52)),
    ((-0.3, -0.75, PATIENT_Z - 0.27, 0.3, 0.02, PATIENT_Z - 0.19), (70, 80, 96)),  # chair back
    ((-0.27, -0.75, PATIENT_Z - 0.2, 0.27, -0.69, PATIENT_Z + 0.3), (70, 80, 96)),  # chair seat
    ((0.8, 0.05, -2.94, 1.25, 0.65, -2.93), (248, 248, 240)),  # wall chart
    ((0.85, 0.5, -2.935, 1.2, 0.52, -2.925), (120, 130, 170)),  # chart lines
    ((0.85, 0.4, -2.935, 1.15, 0.42, -2.925), (120, 130, 170)),
    ((0.85, 0.3, -2.935, 1.18, 0.32, -2.925), (120, 130, 170)),
    ((-1.45, -0.05, -2.94, -0.45, 0.75, -2.93), (232, 240, 246)),  # window
    ((-0.97, -0.05, -2.935, -0.93, 0.75, -2.925), (150, 160, 170)),  # window bar
    ((-1.5, -0.1, -2.95, -0.4, -0.05, -2.9), (170, 176, 182)),  # sill
    ((1.9, -1.2, -2.94, 2.7, 0.9, -2.93), (160, 128, 96)),  # door
    ((-2.9, -1.2, -2.2, -2.3, -0.3, -1.4), (236, 236, 232)),  # examination couch
    ((-0.05, DESK_Y, -0.75, 0.15, DESK_Y + 0.004, -0.6), (248, 248, 240)),  # notepad
]
CUE_RGB: dict[str, tuple[int, int, int]] = {
    "listening": (60, 170, 90),
    "thinking": (225, 165, 40),
    "speaking": (60, 120, 220),
    "idle": (140, 140, 140),
}

VERTEX = """
#version 330
uniform mat4 view_proj;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_colour;
in float in_mat;
in vec4 in_aux;
out vec3 v_pos;
out vec3 v_normal;
out vec3 v_colour;
flat out int v_mat;
out vec4 v_aux;
out vec4 v_params;  // wrap, gloss, specular, subsurface red
out float v_eye;
out float v_hair;
void main() {
    v_pos = in_pos;
    v_normal = in_normal;
    v_colour = in_colour;
    int m = int(in_mat + 0.5);
    v_mat = m;
    v_aux = in_aux;
    // per-material shading constants, chosen per vertex: llvmpipe runs every branch of a fragment shader
    vec4 p = vec4(0.3, 6.0, 0.02, 0.0);                        // cloth, cap
    if (m == 0) p = vec4(0.35, 22.0, 0.045, 1.0);              // skin
    else if (m == 3) p = vec4(0.35, 40.0, 0.10, 1.0);          // lips
    else if (m == 2) p = vec4(0.15, 30.0, 0.12, 0.0);          // hair
    else if (m == 4) p = vec4(0.2, 60.0, 0.25, 0.0);           // teeth
    else if (m == 5) p = vec4(0.0, 50.0, 0.2, 0.0);            // tongue
    else if (m == 6) p = vec4(0.0, 8.0, 0.0, 0.0);             // eyelashes
    else if (m == 7) p = vec4(0.3, 180.0, 0.9, 0.0);           // eyes
    v_params = p;
    v_eye = m == 7 ? 1.0 : 0.0;
    v_hair = m == 2 ? 1.0 : 0.0;
    v_colour *= m == 4 ? 0.85 : (m == 5 ? 0.7 : 1.0);
    gl_Position = view_proj * vec4(in_pos, 1.0);
}
"""

FRAGMENT = """
#version 330
uniform vec3 eye_pos;
uniform float flush;
uniform float tears;
uniform int id_pass;
in vec3 v_pos;
in vec3 v_normal;
in vec3 v_colour;
flat in int v_mat;
in vec4 v_aux;
in vec4 v_params;
in float v_eye;
in float v_hair;
out vec4 f_colour;

const vec3 KEY = normalize(vec3(-0.45, 0.55, 0.75));
const vec3 FILL = normalize(vec3(0.7, 0.1, 0.6));
const vec3 RIM = normalize(vec3(0.3, 0.6, -0.8));

void main() {
    if (id_pass == 1) {  // tests: which material covers each pixel (back faces = the mouth's inside)
        f_colour = vec4(float(v_mat) / 16.0, gl_FrontFacing ? 1.0 : 0.0, 0.0, 1.0);
        return;
    }
    if ((!gl_FrontFacing && v_mat != 6) || v_mat == 9) {
        // the inside of the mouth (and of the head, seen through it): dark, warm, unlit
        f_colour = vec4(0.22, 0.11, 0.12, 1.0);
        return;
    }
    vec3 n = normalize(gl_FrontFacing ? v_normal : -v_normal);
    vec3 v = normalize(eye_pos - v_pos);
    float wrap = v_params.x, gloss = v_params.y, spec_k = v_params.z;
    vec3 scatter = v_params.w * vec3(0.30, 0.07, 0.04);
    vec3 base = v_colour;
    // skin: flush on the cheeks, tears glisten under the eyes (masks are 0 elsewhere)
    base = mix(base, base * vec3(1.25, 0.62, 0.62), clamp(flush * v_aux.x * v_params.w, 0.0, 1.0) * 0.55);
    float wet = clamp(tears * v_aux.y * v_params.w, 0.0, 1.0);
    spec_k = mix(spec_k, 0.9, wet);
    gloss = mix(gloss, 90.0, wet);
    // hair: strands along the scalp
    base *= 1.0 + v_hair * 0.1 * sin(v_pos.x * 3100.0 + 5.0 * sin(v_pos.y * 170.0 + v_pos.z * 230.0));
    // eye: sclera, iris and pupil from the eyeball's local direction (pole = straight ahead)
    vec3 d = v_aux.xyz;
    vec3 sclera = vec3(0.78, 0.74, 0.70) * mix(0.82, 1.0, smoothstep(0.0, 0.6, d.z));
    float fibres = 0.5 + 0.5 * sin(d.x * 90.0) * sin(d.y * 90.0);
    vec3 iris = v_colour * (0.6 + 0.6 * fibres) * mix(0.5, 1.0, smoothstep(0.877, 0.955, d.z));
    vec3 eye = mix(mix(iris, vec3(0.01), smoothstep(0.983, 0.988, d.z)), sclera, 1.0 - smoothstep(0.862, 0.875, d.z));
    base = mix(base, eye, v_eye);
    // key light with wrapped diffuse and a red scatter band (skin), fill and rim lights, sky/ground ambient
    float ndk = dot(n, KEY);
    float lam = max(ndk, 0.0);
    float wr = max((ndk + wrap) / (1.0 + wrap), 0.0);
    vec3 c = vec3(0.92, 0.88, 0.84) * (base * wr + scatter * base * (wr - lam));
    c += vec3(0.33, 0.36, 0.42) * base * max(dot(n, FILL) * 0.7 + 0.3, 0.0);
    c += vec3(0.40, 0.40, 0.45) * base * max(dot(n, RIM), 0.0);
    c += base * mix(vec3(0.10, 0.09, 0.085), vec3(0.17, 0.18, 0.2), 0.5 + 0.5 * n.y);
    vec3 h = normalize(KEY + v);
    c += (lam > 0.0 ? spec_k : 0.0) * exp2(gloss * (max(dot(n, h), 0.0) - 1.0) * 1.4427);
    float nv = 1.0 - max(dot(n, v), 0.0);
    c += (1.0 - v_eye) * 0.08 * nv * nv * nv * nv * vec3(0.8, 0.85, 0.9);
    f_colour = vec4(sqrt(c / (1.0 + 0.15 * c)), 1.0);
}
"""

ROOM_VERTEX = """
#version 330
uniform mat4 view_proj;
in vec3 in_pos;
in vec3 in_normal;
in vec3 in_colour;
out vec3 v_colour;
out vec3 v_normal;
out vec3 v_pos;
void main() {
    v_colour = in_colour; v_normal = in_normal; v_pos = in_pos;
    gl_Position = view_proj * vec4(in_pos, 1.0);
}
"""

ROOM_FRAGMENT = """
#version 330
in vec3 v_colour;
in vec3 v_normal;
in vec3 v_pos;
out vec4 f_colour;
void main() {
    vec3 n = normalize(v_normal);
    float k = 0.55 + 0.35 * max(dot(n, normalize(vec3(-0.4, 0.7, 0.6))), 0.0) + 0.1 * n.y;
    // soft light falling off towards the corners of the room
    float fall = 1.0 - 0.12 * clamp(length(v_pos.xy - vec2(0.0, 0.2)) / 3.0, 0.0, 1.0);
    vec3 c = v_colour * k * fall;
    f_colour = vec4(sqrt(c), 1.0);
}
"""


def import_moderngl() -> Any:
    try:
        import moderngl
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(MODERNGL_HINT) from exc
    return moderngl


def perspective(fov_y_deg: float, aspect: float, near: float = 0.05, far: float = 50.0) -> np.ndarray:
    f = 1.0 / math.tan(math.radians(fov_y_deg) / 2)
    return np.array(
        [
            [f / aspect, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
            [0, 0, -1, 0],
        ],
        dtype=np.float64,
    )


def look_at(eye: tuple[float, float, float], target: tuple[float, float, float]) -> np.ndarray:
    e, t = np.asarray(eye, np.float64), np.asarray(target, np.float64)
    f = t - e
    f /= np.linalg.norm(f)
    s = np.cross(f, [0.0, 1.0, 0.0])
    s /= np.linalg.norm(s)
    u = np.cross(s, f)
    m = np.eye(4)
    m[0, :3], m[1, :3], m[2, :3] = s, u, -f
    m[:3, 3] = -m[:3, :3] @ e
    return m


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation for head angles in degrees: yaw about +y (turning to the patient's left), pitch + looks
    down, roll + tilts towards the patient's right shoulder."""
    y, p, r = (math.radians(a) for a in (yaw, pitch, roll))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def box_mesh(boxes: list[BoxSpec]) -> np.ndarray:
    """Interleaved (pos, normal, colour) float32 triangles of axis-aligned boxes."""
    out = []
    for (x0, y0, z0, x1, y1, z1), rgb in boxes:
        c = srgb_to_linear(rgb)
        quads = [
            ((0, 0, 1), [(x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)]),
            ((0, 0, -1), [(x1, y0, z0), (x0, y0, z0), (x0, y1, z0), (x1, y1, z0)]),
            ((0, 1, 0), [(x0, y1, z1), (x1, y1, z1), (x1, y1, z0), (x0, y1, z0)]),
            ((0, -1, 0), [(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)]),
            ((-1, 0, 0), [(x0, y0, z0), (x0, y0, z1), (x0, y1, z1), (x0, y1, z0)]),
            ((1, 0, 0), [(x1, y0, z1), (x1, y0, z0), (x1, y1, z0), (x1, y1, z1)]),
        ]
        for normal, q in quads:
            for i in (0, 1, 2, 0, 2, 3):
                out.append([*q[i], *normal, *c])
    return np.asarray(out, np.float32)


class PatientPose:
    """Applies an AvatarState to a PatientMesh on the CPU: blendshapes, jaw, head turn, gaze."""

    def __init__(self, mesh: PatientMesh, origin: np.ndarray) -> None:
        self.mesh = mesh
        self.origin = origin  # added to every vertex: puts the head joint where the scene wants it
        self.names = {n: i for i, n in enumerate(mesh.morph_names)}
        self.eye_idx = np.flatnonzero(mesh.material == EYE)
        self.eye_dirs = mesh.aux[self.eye_idx, :3].astype(np.float64)
        self.eye_side = mesh.aux[self.eye_idx, 3].astype(np.int64)

    def weights(self, state: AvatarState) -> dict[str, float]:
        return face_weights(state)

    def positions(self, state: AvatarState, weights: dict[str, float] | None = None) -> np.ndarray:
        m = self.mesh
        w = self.weights(state) if weights is None else weights
        pos = m.positions.astype(np.float64)
        for name, value in w.items():
            i = self.names.get(name)
            if i is not None and value != 0.0:
                pos += value * m.morphs[i]
        # eyeballs: turn each about its centre towards the gaze
        gx = max(-1.0, min(1.0, state.gaze_x))
        gy = max(-1.0, min(1.0, state.gaze_y))
        r_eye = rotation(18.0 * gx, 14.0 * gy, 0.0)
        centres = m.eye_centres.astype(np.float64)
        pos[self.eye_idx] = centres[self.eye_side] + (self.eye_dirs @ r_eye.T) * m.eye_radius
        # the head turns about the neck; the weight fades down the neck
        r = rotation(state.head_yaw, state.head_pitch, -state.head_roll)
        pivot = m.neck_pivot.astype(np.float64)
        hw = m.head_weight.astype(np.float64)[:, None]
        rel = pos - pivot
        pos = pivot + rel + hw * (rel @ r.T - rel)
        # breathing: the chest and shoulders rise a little
        breath = 0.0025 * math.sin(2 * math.pi * state.t / 4.2)
        pos[:, 1] += breath * (1.0 - hw[:, 0])
        return pos + self.origin


class Renderer3D:
    """Draws the consulting room and the patient. `render(state)` returns an (h, w, 3) uint8 frame (offscreen);
    `draw(state, proj, view)` draws into whatever framebuffer is bound (desktop window, VR swapchain)."""

    def __init__(
        self,
        appearance: Appearance,
        size: tuple[int, int] = (1280, 720),
        ctx: Any = None,
        build: str = "",
        samples: int = 4,
        mesh: PatientMesh | None = None,
        framing: str = "desk",
    ) -> None:
        """framing: "desk" (the learner's view across the desk: head and upper body) or "face" (a close-up of
        the head, for pictures and tests)."""
        if framing not in FRAMINGS:
            raise ValueError(f"framing {framing!r}: use one of {', '.join(FRAMINGS)}")
        self.framing = framing
        mgl = import_moderngl()
        self.mgl = mgl
        self.look = appearance
        self.size = size
        self.own_ctx = ctx is None
        if ctx is None:
            ctx = standalone_context()
        self.ctx = ctx
        self.mesh = mesh or patient_mesh(appearance, build)
        head = self.mesh.neck_pivot.astype(np.float64) + np.array([0.0, 0.075, 0.0])
        self.origin = np.array([0.0, HEAD_Y, PATIENT_Z]) - head
        self.pose = PatientPose(self.mesh, self.origin)
        self.prog = ctx.program(vertex_shader=VERTEX, fragment_shader=FRAGMENT)
        self.room_prog = ctx.program(vertex_shader=ROOM_VERTEX, fragment_shader=ROOM_FRAGMENT)
        m = self.mesh
        n = m.vertex_count
        self.dyn = ctx.buffer(reserve=n * 6 * 4)
        static = np.hstack([m.colour, m.material[:, None], m.aux]).astype(np.float32)
        self.static = ctx.buffer(static.tobytes())
        self.ibo = ctx.buffer(m.triangles.astype(np.uint32).tobytes())
        self.vao = ctx.vertex_array(
            self.prog,
            [(self.dyn, "3f 3f", "in_pos", "in_normal"), (self.static, "3f 1f 4f", "in_colour", "in_mat", "in_aux")],
            index_buffer=self.ibo,
            index_element_size=4,
        )
        self.room = ctx.buffer(box_mesh(ROOM).tobytes())
        self.room_vao = ctx.vertex_array(self.room_prog, [(self.room, "3f 3f 3f", "in_pos", "in_normal", "in_colour")])
        front = [b for b in ROOM if b[0][5] > PATIENT_Z + 0.3 and b[0][4] < HEAD_Y - 0.3 and b[0][1] > -1.2]
        self.front = ctx.buffer(box_mesh(front).tobytes())  # the desk: drawn over the cached background
        self.front_vao = ctx.vertex_array(
            self.room_prog, [(self.front, "3f 3f 3f", "in_pos", "in_normal", "in_colour")]
        )
        self._bg: Any = None
        self.cue_buf = ctx.buffer(reserve=36 * 9 * 4)
        self.cue_vao = ctx.vertex_array(
            self.room_prog, [(self.cue_buf, "3f 3f 3f", "in_pos", "in_normal", "in_colour")]
        )
        self.fbo: Any = None
        self._resolve: Any = None
        self.samples = samples
        self._last_key: Any = None

    # --- cameras -----------------------------------------------------------------------------------
    def desktop_camera(self, size: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The learner's view across the desk, framing the patient's head and upper body."""
        w, h = size or self.size
        if self.framing == "face":
            return perspective(24.0, w / h), look_at(
                (0.0, HEAD_Y + 0.03, PATIENT_Z + 0.75), (0.0, HEAD_Y + 0.0, PATIENT_Z)
            )
        eye = (0.0, HEAD_Y + 0.08, -0.05)
        target = (0.0, HEAD_Y - 0.05, PATIENT_Z)
        return perspective(31.0, w / h), look_at(eye, target)

    def project(self, point: np.ndarray) -> tuple[int, int]:
        """Pixel (x, y from the top) of a scene point in this renderer's camera."""
        proj, view = self.desktop_camera()
        p = proj @ view @ np.array([*point, 1.0])
        ndc = p[:3] / p[3]
        w, h = self.size
        return int((ndc[0] + 1) / 2 * w), int((1 - ndc[1]) / 2 * h)

    def landmark(self, name: str) -> np.ndarray:
        """A point of the neutral patient in the scene: "mouth", "eye_l", "eye_r" (the patient's left/right)."""
        m = self.mesh
        if name == "mouth":
            p = m.positions[m.material == LIPS].mean(axis=0)
        elif name in ("eye_l", "eye_r"):
            p = m.eye_centres[0 if name == "eye_l" else 1] + np.array([0.0, 0.0, m.eye_radius])
        else:
            raise ValueError(f"landmark {name!r}: mouth, eye_l or eye_r")
        return np.asarray(p, np.float64) + self.origin

    def render_materials(self, state: AvatarState) -> np.ndarray:
        """(h, w) int8 map of which material covers each pixel (-1 background/room, MOUTH_INSIDE for back
        faces seen through the lips): what the pixel tests count."""
        with self._current():
            return self._render_materials(state)

    def _render_materials(self, state: AvatarState) -> np.ndarray:
        self._ensure_fbo()
        target = self._resolve if self.samples > 1 else self.fbo
        target.use()
        proj, view = self.desktop_camera()
        self.prog["id_pass"].value = 1
        try:
            self.ctx.clear(0.0, 0.0, 1.0, 1.0, depth=1.0)
            self.update(state)
            self.ctx.enable(self.mgl.DEPTH_TEST)
            self.ctx.enable(self.mgl.CULL_FACE)
            self.prog["view_proj"].write((proj @ view).astype(np.float32).T.tobytes())
            self.vao.render(self.mgl.TRIANGLES)
            self.ctx.disable(self.mgl.CULL_FACE)
        finally:
            self.prog["id_pass"].value = 0
        w, h = self.size
        rgb = np.frombuffer(target.read(components=3, alignment=1), np.uint8).reshape(h, w, 3)[::-1]
        mat = np.rint(rgb[..., 0].astype(np.float64) / 255.0 * 16.0).astype(np.int8)
        mat[rgb[..., 2] > 127] = -1
        mat[(rgb[..., 2] <= 127) & ((rgb[..., 1] < 128) | (mat == MOUTH))] = MOUTH_INSIDE
        return mat

    # --- drawing -------------------------------------------------------------------------------------
    def update(self, state: AvatarState) -> None:
        """Pose the mesh for this state (once per frame, shared by both VR eyes)."""
        pos = self.pose.positions(state)
        nrm = vertex_normals(pos, self.mesh.triangles.astype(np.int64))
        self.dyn.write(np.hstack([pos, nrm]).astype(np.float32).tobytes())
        self._state = state

    def draw(
        self, state: AvatarState | None, proj: np.ndarray, view: np.ndarray, clear: bool = True, room: bool = True
    ) -> None:
        """Draw the room and the patient (posed by `update`, or now if `state` is given) into the bound
        framebuffer with the given projection and view (row-major numpy matrices). room=False: the room is
        already there (a cached background): only the depth is cleared and the desk redrawn over the patient."""
        ctx = self.ctx
        if state is not None:
            self.update(state)
        st = self._state
        vp = (proj @ view).astype(np.float32)
        mvp = vp.T.tobytes()  # column-major for GLSL
        ctx.enable(self.mgl.DEPTH_TEST)
        ctx.disable(self.mgl.CULL_FACE)
        self.room_prog["view_proj"].write(mvp)
        if room:
            if clear:
                ctx.clear(0.8, 0.84, 0.86, 1.0, depth=1.0)
            self.room_vao.render(self.mgl.TRIANGLES)
        else:
            fbo = ctx.fbo
            mask = fbo.color_mask
            fbo.color_mask = (False, False, False, False)
            fbo.use()  # moderngl applies a framebuffer's colour mask when it is bound
            ctx.clear(depth=1.0)
            fbo.color_mask = mask
            fbo.use()
        # the cue: a small light on the desk (green listening, amber thinking, blue speaking)
        pulse = 0.7 + 0.3 * math.sin(2 * math.pi * st.cue_phase)
        cue = box_mesh(
            [((0.45, DESK_Y, -0.5, 0.5, DESK_Y + 0.03 * pulse, -0.45), CUE_RGB.get(st.mode, CUE_RGB["idle"]))]
        )
        self.cue_buf.write(cue.tobytes())
        self.cue_vao.render(self.mgl.TRIANGLES)
        self.prog["view_proj"].write(mvp)
        inv = np.linalg.inv(view)
        e = st.expression
        _uniform(self.prog, "eye_pos", tuple(float(x) for x in inv[:3, 3]))
        _uniform(self.prog, "flush", float(e.flush))
        _uniform(self.prog, "tears", float(e.tears))
        ctx.enable(self.mgl.CULL_FACE)  # the patient is closed (the mouth's inside is a dark bag)
        self.vao.render(self.mgl.TRIANGLES)
        ctx.disable(self.mgl.CULL_FACE)
        if not room:
            self.front_vao.render(self.mgl.TRIANGLES)

    def _ensure_fbo(self) -> None:
        if self.fbo is not None:
            return
        ctx, (w, h) = self.ctx, self.size
        if self.samples > 1:
            self.fbo = ctx.framebuffer(
                color_attachments=[ctx.renderbuffer((w, h), 4, samples=self.samples)],
                depth_attachment=ctx.depth_renderbuffer((w, h), samples=self.samples),
            )
            self._resolve = ctx.simple_framebuffer((w, h))
        else:
            self.fbo = ctx.simple_framebuffer((w, h))
            self._resolve = self.fbo

    def _current(self) -> Any:
        """Make our own (standalone) context current: another renderer in this thread may have made its own
        current since. A context handed in by a front end is that front end's business."""
        return self.ctx if self.own_ctx else contextlib.nullcontext()

    def render(self, state: AvatarState) -> np.ndarray:
        """One offscreen frame at self.size: (h, w, 3) uint8, top row first."""
        with self._current():
            return self._render(state)

    def _render(self, state: AvatarState) -> np.ndarray:
        self._ensure_fbo()
        proj, view = self.desktop_camera()
        if self.samples > 1:  # pictures: everything, antialiased
            self.fbo.use()
            self.draw(state, proj, view)
        else:  # live: the static room is drawn once and copied under each frame
            if self._bg is None:
                self._bg = self.ctx.simple_framebuffer(self.size)
                self._bg.use()
                self.update(state)
                self.draw(None, proj, view)
            self.ctx.copy_framebuffer(self.fbo, self._bg)
            self.fbo.use()
            self.draw(state, proj, view, room=False)
        if self._resolve is not self.fbo:
            self.ctx.copy_framebuffer(self._resolve, self.fbo)
        w, h = self.size
        data = self._resolve.read(components=3, alignment=1)
        return np.frombuffer(data, np.uint8).reshape(h, w, 3)[::-1]

    def release(self) -> None:
        with self._current():
            self._release()
        if self.own_ctx:
            self.ctx.release()

    def _release(self) -> None:
        for obj in (self.vao, self.room_vao, self.cue_vao, self.front_vao, self.dyn, self.static, self.ibo):
            obj.release()
        for obj in (self.room, self.cue_buf, self.front):
            obj.release()
        if self._bg is not None:
            self._bg.release()
        if self.fbo is not None:
            self.fbo.release()
            if self._resolve is not self.fbo:
                self._resolve.release()


def _uniform(prog: Any, name: str, value: Any) -> None:
    """Set a uniform if the shader uses it (the GLSL compiler drops unused ones)."""
    with contextlib.suppress(KeyError):
        prog[name].value = value


def standalone_context() -> Any:
    """A headless OpenGL 3.3 context: EGL (Mesa llvmpipe without a GPU), else the platform default."""
    mgl = import_moderngl()
    errors = []
    for kwargs in ({"backend": "egl"}, {}):
        try:
            return mgl.create_standalone_context(require=330, **kwargs)
        except Exception as exc:
            errors.append(f"{kwargs.get('backend', 'default')}: {exc}")
    raise RuntimeError(
        "no OpenGL context for the 3D patient (" + "; ".join(errors) + "). On Debian/Ubuntu: "
        "apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri"
    )


def save_png(frame: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Write an (h, w, 3) uint8 frame as PNG (pygame if present, else a minimal zlib PNG writer)."""
    import struct
    import zlib

    h, w, _ = frame.shape
    raw = b"".join(b"\x00" + frame[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)
