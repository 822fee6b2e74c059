"""The 3D patient as glTF 2.0: the exported .glb passes our structural validator, a broken one does not,
and three.js (vendored from npm by scripts/vendor_three.sh) loads it in Debian's Chromium with its 52 ARKit
morph targets and draws it."""

from __future__ import annotations

import json
import os
import shutil
import struct
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from browser_support import CHROMIUM, NO_CHROMIUM

from vpatient.avatar.appearance import appearance_from_persona
from vpatient.avatar.gltf import GlbError, accessor_array, export_glb, read_glb, validate_glb
from vpatient.avatar.mesh3d import ARKIT, AvatarDataMissing, data_dir, patient_mesh
from vpatient.persona.loader import load_persona

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "vpatient" / "serve" / "static" / "vendor" / "three"

try:
    data_dir()
except AvatarDataMissing as exc:
    pytest.skip(str(exc), allow_module_level=True)


@pytest.fixture(scope="module")
def glb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    os.environ.setdefault("VPATIENT_CACHE", str(tmp_path_factory.mktemp("cache")))
    look = appearance_from_persona(load_persona(ROOT / "personas" / "miscarriage_news.yaml"))
    path = tmp_path_factory.mktemp("glb") / "patient.glb"
    summary = export_glb(patient_mesh(look), path, name="miscarriage_news")
    assert summary["morph_targets"] == 52 and summary["bytes"] == path.stat().st_size
    return path


def test_exported_glb_is_valid_with_the_arkit_morph_targets(glb: Path) -> None:
    summary = validate_glb(glb)
    assert summary["targets"] == ARKIT and summary["vertices"] > 5000 and summary["triangles"] > 10000
    doc, binary = read_glb(glb)
    prim = doc["meshes"][0]["primitives"][0]
    assert set(prim["attributes"]) == {"POSITION", "NORMAL", "COLOR_0"}
    jaw = accessor_array(doc, binary, prim["targets"][ARKIT.index("jawOpen")]["POSITION"])
    assert np.linalg.norm(jaw, axis=1).max() > 0.01  # the jaw really moves
    normals = accessor_array(doc, binary, prim["attributes"]["NORMAL"])
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-3)


def test_a_broken_glb_is_refused(glb: Path, tmp_path: Path) -> None:
    data = bytearray(glb.read_bytes())
    truncated = tmp_path / "truncated.glb"
    truncated.write_bytes(bytes(data[:-100]))
    with pytest.raises(GlbError, match="header says"):
        validate_glb(truncated)
    # a morph target pointing at an accessor with the wrong vertex count
    doc, binary = read_glb(glb)
    doc["meshes"][0]["primitives"][0]["targets"][3]["POSITION"] = doc["meshes"][0]["primitives"][0]["indices"]
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    bad = tmp_path / "bad.glb"
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(binary), 0x004E4942) + binary
    bad.write_bytes(struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body)
    with pytest.raises(GlbError, match=r"targets\[3\]"):
        validate_glb(bad)


def test_export_command(tmp_path: Path) -> None:
    from vpatient.cli import main

    out = tmp_path / "p.glb"
    assert (
        main(["avatar", "export", "--persona", str(ROOT / "personas" / "diabetes_ramadan.yaml"), "--out", str(out)])
        == 0
    )
    assert validate_glb(out)["targets"] == ARKIT


PAGE = """<!doctype html><html><body>
<script type="importmap">{"imports": {"three": "./vendor/three/three.module.min.js"}}</script>
<script type="module">
import * as THREE from 'three';
import { GLTFLoader } from './vendor/three/loaders/GLTFLoader.js';
new GLTFLoader().load('patient.glb', (gltf) => {
  let mesh = null;
  gltf.scene.traverse((o) => { if (o.isMesh) mesh = o; });
  const dict = mesh.morphTargetDictionary;
  const morph = mesh.geometry.morphAttributes.position[dict['jawOpen']];
  let jaw = 0;
  for (let i = 0; i < morph.count; i++) jaw = Math.max(jaw, Math.hypot(morph.getX(i), morph.getY(i), morph.getZ(i)));
  let drawn = null;
  try {
    const renderer = new THREE.WebGLRenderer({ preserveDrawingBuffer: true });
    renderer.setSize(200, 200);
    const scene = new THREE.Scene();
    scene.background = new THREE.Color(0x0000ff);
    scene.add(gltf.scene, new THREE.AmbientLight(0xffffff, 2.0));
    const box = new THREE.Box3().setFromObject(gltf.scene);
    const c = box.getCenter(new THREE.Vector3());
    const cam = new THREE.PerspectiveCamera(40, 1, 0.01, 10);
    cam.position.set(c.x, c.y, c.z + 1.5);
    cam.lookAt(c);
    mesh.morphTargetInfluences[dict['jawOpen']] = 1.0;
    renderer.render(scene, cam);
    const gl = renderer.getContext();
    const px = new Uint8Array(200 * 200 * 4);
    gl.readPixels(0, 0, 200, 200, gl.RGBA, gl.UNSIGNED_BYTE, px);
    let covered = 0;
    for (let i = 0; i < px.length; i += 4) if (!(px[i] < 10 && px[i + 1] < 10 && px[i + 2] > 245)) covered++;
    drawn = covered;
  } catch (e) { drawn = 'no WebGL: ' + e; }
  window.result = { names: Object.keys(dict), vertices: mesh.geometry.attributes.position.count,
                    colours: !!mesh.geometry.attributes.color, jaw, drawn };
}, undefined, (err) => { window.result = { error: String(err) }; });
</script></body></html>"""


@pytest.fixture()
def site(glb: Path, tmp_path: Path) -> Iterator[str]:
    if not (VENDOR / "three.module.min.js").exists():
        pytest.skip("three.js is not vendored: bash scripts/vendor_three.sh (needs npm)")
    (tmp_path / "vendor").mkdir()
    shutil.copytree(VENDOR, tmp_path / "vendor" / "three")
    shutil.copy(glb, tmp_path / "patient.glb")
    (tmp_path / "index.html").write_text(PAGE)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_three_js_loads_and_draws_the_patient_in_chromium(site: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason='needs the dev extra: pip install -e ".[dev]"')
    if not os.path.exists(CHROMIUM):
        pytest.skip(NO_CHROMIUM)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--use-gl=angle", "--use-angle=swiftshader", "--no-first-run"],
        )
        try:
            page = browser.new_page()
            page.goto(site)
            page.wait_for_function("window.result !== undefined", timeout=60000)
            result = page.evaluate("window.result")
        finally:
            browser.close()
    assert "error" not in result, result
    assert result["names"] == ARKIT and result["vertices"] > 5000 and result["colours"]
    assert result["jaw"] > 0.01
    assert isinstance(result["drawn"], int) and result["drawn"] > 2000, result["drawn"]
