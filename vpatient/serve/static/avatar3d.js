// The 3D patient on the student page: three.js (vendored from npm, served by this app) draws the case's glTF
// (GET /api/cases/ID/patient.glb: the persona's MakeHuman mesh with the 52 ARKit blendshapes as morph targets).
// The mouth follows the viseme track the server sends with each sentence's audio, read at the time that audio
// is actually playing (the AudioContext clock of app.js); the face follows the emotion of what is being said
// (ARKit weights from the server); blinks, breathing and small head movements are added here. The tables
// (viseme -> ARKit mix, expression -> ARKit mix) come from the server (vpatient.serve.avatar3d), not from a copy.
// Without WebGL, or if the model cannot load, the 2D face of app.js stays, with a note saying why.
import * as THREE from "./vendor/three/three.module.min.js";
import { GLTFLoader } from "./vendor/three/loaders/GLTFLoader.js";

const vp = window.vp;
const $ = (id) => document.getElementById(id);
const EXPRESSION_BLEND_S = 0.5;

const a3 = (vp.avatar3d = {
  status: "waiting",       // waiting | loading | ready | fallback
  reason: "",
  fps: 0,
  frames: 0,
  still: false,            // tests: no blinking, sway or breathing (the mouth and face still move)
  weights: {},             // the ARKit weights of the last frame drawn
  mouthPixel: null,
});

function webglAvailable() {
  try {
    const c = document.createElement("canvas");
    return !!(window.WebGLRenderingContext && (c.getContext("webgl2") || c.getContext("webgl")));
  } catch (e) {
    return false;
  }
}

function fallback(reason) {
  a3.status = "fallback";
  a3.reason = reason;
  vp.view = "2d";
  $("avatar-box").dataset.view = "2d";
  $("avatar3d").hidden = true;
  $("avatar").hidden = false;
  const note = $("avatar-note");
  note.textContent = `2D view: ${reason}`;
  note.hidden = false;
}

let started = false;
function start() {
  if (started || !vp.avatar || !vp.avatar.model) return;
  started = true;
  if (!webglAvailable()) { fallback("WebGL is not available in this browser"); return; }
  a3.status = "loading";
  new GLTFLoader().load(vp.avatar.model, setup, undefined, (err) => {
    fallback(`the 3D patient could not be loaded (${err && err.message ? err.message : err})`);
  });
}
window.addEventListener("vp-avatar", start);
start();

// ------------------------------------------------------------------ the scene
let renderer, scene, camera, mesh, dict, headUniforms, pivot, look, morph;

// The blendshapes are applied here, not in the vertex shader: three.js's shader loops over all 52 targets for
// every vertex, which a CPU renderer (SwiftShader, where there is no GPU) runs at a few frames per second;
// here only the few active targets touch only the vertices they move.
function cpuMorphs(m) {
  const geo = m.geometry;
  const attr = geo.attributes.position;
  const base = attr.array.slice();
  const targets = (geo.morphAttributes.position || []).map((a) => {
    const d = a.array, idx = [], delta = [];
    for (let v = 0; v < a.count; v++) {
      const x = d[3 * v], y = d[3 * v + 1], z = d[3 * v + 2];
      if (x !== 0 || y !== 0 || z !== 0) { idx.push(v); delta.push(x, y, z); }
    }
    return { idx: Uint32Array.from(idx), delta: Float32Array.from(delta) };
  });
  geo.morphAttributes = {};
  attr.setUsage(THREE.DynamicDrawUsage);
  m.morphTargetInfluences = new Array(targets.length).fill(0);
  return { attr, base, targets, last: "" };
}

function applyMorphs(influences) {
  const key = influences.map((w) => w.toFixed(3)).join(",");
  if (key === morph.last) return;
  morph.last = key;
  const pos = morph.attr.array;
  pos.set(morph.base);
  influences.forEach((w, i) => {
    if (w === 0) return;
    const { idx, delta } = morph.targets[i];
    for (let k = 0; k < idx.length; k++) {
      const o = 3 * idx[k];
      pos[o] += w * delta[3 * k]; pos[o + 1] += w * delta[3 * k + 1]; pos[o + 2] += w * delta[3 * k + 2];
    }
  });
  morph.attr.needsUpdate = true;
}

function setup(gltf) {
  const canvas = $("avatar3d");
  try {
    renderer = new THREE.WebGLRenderer({ canvas, antialias: false });
  } catch (e) {
    fallback(`WebGL failed (${e.message || e})`);
    return;
  }
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  renderer.setSize(canvas.clientWidth || 320, canvas.clientHeight || 320, false);
  scene = new THREE.Scene();
  scene.background = new THREE.Color(0xdfe7f2);
  scene.add(new THREE.HemisphereLight(0xfff6ee, 0x6f6a66, 1.6));
  const key = new THREE.DirectionalLight(0xffffff, 1.8);
  key.position.set(-0.6, 1.6, 1.4);
  scene.add(key);
  const rim = new THREE.DirectionalLight(0xcfe0ff, 0.7);
  rim.position.set(0.8, 1.2, -0.6);
  scene.add(rim);

  gltf.scene.traverse((o) => { if (o.isMesh && !mesh) mesh = o; });
  dict = mesh.morphTargetDictionary;
  morph = cpuMorphs(mesh);
  look = Object.assign({ neck: [0, 0.655, 0], eyes: [[0.03, 0.785, 0.12], [-0.03, 0.785, 0.12]], mouth: [0, 0.714, 0.147] },
    mesh.userData || {}, (mesh.parent && mesh.parent.userData) || {});
  // the head turns about the neck in the vertex shader (the weight fades in over the neck), the body stays
  headUniforms = { headRot: { value: new THREE.Matrix3() }, neckPivot: { value: new THREE.Vector3(...look.neck) } };
  mesh.material.onBeforeCompile = (shader) => {
    Object.assign(shader.uniforms, headUniforms);
    shader.vertexShader = shader.vertexShader
      .replace("#include <common>", "#include <common>\nuniform mat3 headRot;\nuniform vec3 neckPivot;\n" +
        "float headWeight(vec3 p) { return smoothstep(neckPivot.y - 0.05, neckPivot.y + 0.05, p.y); }")
      .replace("#include <morphnormal_vertex>", "#include <morphnormal_vertex>\n" +
        "objectNormal = normalize(mix(objectNormal, headRot * objectNormal, headWeight(position)));")
      .replace("#include <morphtarget_vertex>", "#include <morphtarget_vertex>\n" +
        "transformed = mix(transformed, headRot * (transformed - neckPivot) + neckPivot, headWeight(position));");
  };
  mesh.material.needsUpdate = true;
  // breathing and the body's sway turn the whole patient about the seat
  pivot = new THREE.Group();
  pivot.position.set(0, 0.1, 0);
  gltf.scene.position.set(0, -0.1, 0);
  pivot.add(gltf.scene);
  scene.add(pivot);

  const eyeY = (look.eyes[0][1] + look.eyes[1][1]) / 2;
  camera = new THREE.PerspectiveCamera(26, 1, 0.05, 20);  // head and shoulders, across the desk
  camera.position.set(0, eyeY + 0.03, look.mouth[2] + 0.9);
  camera.lookAt(0, eyeY - 0.075, look.mouth[2]);

  a3.status = "ready";
  vp.view = "3d";
  $("avatar-box").dataset.view = "3d";
  $("avatar").hidden = true;
  canvas.hidden = false;
  requestAnimationFrame(frame);
}

// ------------------------------------------------------------------ animation
const exprNow = {};          // the expression's ARKit weights now, blended towards the target
let lastT = 0, nextBlink = 2.5, blinkAt = -10, fpsFrom = 0, fpsFrames = 0;

function wave(t, periods, phase) {
  let s = 0;
  for (const p of periods) s += Math.sin((2 * Math.PI * t) / p + phase * p);
  return s / periods.length;
}

function frame(ms) {
  requestAnimationFrame(frame);
  const t = ms / 1000;
  const dt = Math.min(0.1, Math.max(0, t - lastT));
  lastT = t;
  if (!fpsFrom) fpsFrom = t;
  fpsFrames++;
  a3.frames++;
  if (t - fpsFrom >= 1) { a3.fps = Math.round((fpsFrames / (t - fpsFrom)) * 10) / 10; fpsFrom = t; fpsFrames = 0; }

  const speaking = vp.speechNow();
  // the face: the expression of what is being said (else of the last reply), blended in time
  const face = (speaking && speaking.chunk.face) || vp.face || { weights: {}, head_pitch: 0 };
  const k = Math.min(1, dt / EXPRESSION_BLEND_S * 3);
  const shapes = new Set([...Object.keys(exprNow), ...Object.keys(face.weights)]);
  for (const s of shapes) exprNow[s] = (exprNow[s] || 0) + ((face.weights[s] || 0) - (exprNow[s] || 0)) * k;
  const w = {};
  for (const s in exprNow) if (exprNow[s] > 1e-3) w[s] = exprNow[s];
  if (speaking) vp.visemeWeights(speaking, w);
  // blinking: every 2-6 s, 150 ms
  if (!a3.still) {
    if (t > nextBlink) { blinkAt = t; nextBlink = t + 2 + Math.random() * 4; }
    const b = Math.max(0, 1 - Math.abs(t - blinkAt - 0.075) / 0.075);
    for (const side of ["Left", "Right"]) w[`eyeBlink${side}`] = Math.max(w[`eyeBlink${side}`] || 0, b);
  }
  const state = vp.state;
  if (state === "thinking") for (const side of ["Left", "Right"]) w[`eyeLookUp${side}`] = 0.5;
  const infl = mesh.morphTargetInfluences;
  infl.fill(0);
  for (const s in w) { const i = dict[s]; if (i !== undefined) infl[i] = Math.min(1, Math.max(0, w[s])); }
  a3.weights = w;
  applyMorphs(infl);

  // the head: idle sway, a nod now and then while listening, turned aside while thinking, moving with speech
  const still = a3.still ? 0 : 1;
  const level = speaking ? (w.jawOpen || 0) : 0;
  let yaw = still * 2.5 * wave(t, [4.3, 7.9, 11.3], 0.3);
  let pitch = still * 1.5 * wave(t, [3.7, 6.1], 1.1) + (face.head_pitch || 0);
  let roll = still * 1.5 * wave(t, [5.3, 9.7], 2.2);
  if (state === "thinking") { yaw += 6; roll -= 3; }
  else if (state === "speaking") pitch += still * 4 * level * Math.sin((2 * Math.PI * t) / 0.9);
  const r = new THREE.Matrix4().makeRotationFromEuler(
    new THREE.Euler(THREE.MathUtils.degToRad(pitch), THREE.MathUtils.degToRad(yaw), THREE.MathUtils.degToRad(roll), "YXZ"));
  headUniforms.headRot.value.setFromMatrix4(r);
  // breathing (4 s) and a slow sway of the body
  pivot.rotation.z = still * 0.006 * wave(t, [6.7, 13.1], 0.7);
  pivot.scale.set(1, 1 + still * 0.004 * Math.sin((2 * Math.PI * t) / 4), 1 + still * 0.006 * Math.sin((2 * Math.PI * t) / 4));
  renderer.render(scene, camera);

  const cv = $("avatar3d");
  cv.dataset.jaw = (infl[dict.jawOpen] || 0).toFixed(3);
  if (!a3.mouthPixel) {
    const p = new THREE.Vector3(...look.mouth).project(camera);
    a3.mouthPixel = [((p.x + 1) / 2) * cv.clientWidth, ((1 - p.y) / 2) * cv.clientHeight];
  }
}
