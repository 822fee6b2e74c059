// The student page: choose a case, read the brief, talk (typing always works; microphone through an
// AudioWorklet, push-to-talk or hands-free). The patient's subtitles, affect and audio come back over the
// WebSocket; the avatar is drawn from that state: in 3D by avatar3d.js (three.js, served by this app), or as
// the 2D face below where WebGL or the 3D model is missing. Nothing from the internet.
"use strict";

const $ = (id) => document.getElementById(id);
const vp = (window.vp = { state: "listening", session: null, ws: null, emotion: "neutral", level: 0, cases: [] });

function setStatus(text) { $("status").textContent = text; }
function showError(el, text) { $(el).textContent = text; $(el).hidden = !text; }

// ------------------------------------------------------------------ who is here
// Without `--open`, the server needs a login: the page sends the login's CSRF token with every POST.
async function whoAmI() {
  const res = await fetch("/api/me");
  if (res.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.hash); return false; }
  const me = await res.json();
  vp.user = me.user;
  vp.csrf = me.csrf_token;
  const who = $("who");
  if (who && me.user) {
    who.hidden = false;
    $("who-name").textContent = me.user.name;
  }
  return true;
}

// ------------------------------------------------------------------ cases and sessions
async function loadCases() {
  const res = await fetch("/api/cases");
  vp.cases = await res.json();
  const sel = $("cases");
  sel.innerHTML = "";
  for (const c of vp.cases) {
    const o = document.createElement("option");
    o.value = c.id;
    o.textContent = `${c.title}: ${c.name}, ${c.age}`;
    sel.appendChild(o);
  }
  showBrief();
  $("start").disabled = vp.cases.length === 0;
  setStatus("ready");
}

function caseById(id) { return vp.cases.find((c) => c.id === id); }

function showBrief() {
  const c = caseById($("cases").value);
  $("brief").textContent = c ? `${c.setting ? c.setting + "\n\n" : ""}${c.brief}` : "";
}

async function startSession() {
  showError("choose-error", "");
  $("start").disabled = true;
  try {
    const res = await fetch("/api/sessions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(vp.csrf ? { "X-CSRF-Token": vp.csrf } : {}) },
      body: JSON.stringify({ case: $("cases").value }),
    });
    const body = await res.json();
    if (!res.ok) {
      showError("choose-error", body.message || `the server said ${res.status}`);
      return;
    }
    enterRoom(body.session);
  } catch (e) {
    showError("choose-error", `cannot reach the server: ${e}`);
  } finally {
    $("start").disabled = false;
  }
}

function enterRoom(session) {
  vp.session = session;
  localStorage.setItem("vpatient.session", session);
  history.replaceState(null, "", `#session=${session}`);
  $("choose").hidden = true;
  $("room").hidden = false;
  $("session-id").textContent = session;
  connect();
  $("text").focus();
}

// ------------------------------------------------------------------ the WebSocket
let retry = 0;
let pendingAudio = null;

function connect() {
  const voice = $("voice-on").checked ? 1 : 0;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws/${vp.session}?voice=${voice}`);
  ws.binaryType = "arraybuffer";
  vp.ws = ws;
  ws.onopen = () => { retry = 0; setStatus("connected"); if (mic.ctx) sendJSON({ type: "audio", sample_rate: mic.ctx.sampleRate }); };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== "string") {
      if (pendingAudio) { playAudio(ev.data, pendingAudio); pendingAudio = null; }
      return;
    }
    onMessage(JSON.parse(ev.data));
  };
  ws.onclose = (ev) => {
    if (vp.ws !== ws) return;
    vp.ws = null;
    if (vp.ended || ev.code === 4404 || ev.code === 4410 || ev.code === 4000 || ev.code === 4401 || ev.code === 4403) {
      setStatus(vp.ended ? "consultation ended" : "disconnected");
      return;
    }
    const wait = Math.min(10000, 500 * 2 ** retry++);
    setStatus(`reconnecting in ${Math.round(wait / 1000)} s…`);
    setTimeout(connect, wait);
  };
}

function sendJSON(obj) {
  if (vp.ws && vp.ws.readyState === WebSocket.OPEN) { vp.ws.send(JSON.stringify(obj)); return true; }
  return false;
}

function onMessage(m) {
  switch (m.type) {
    case "session": {
      const c = m.case;
      $("room-brief").textContent = c.brief;
      $("transcript").innerHTML = "";
      for (const t of m.turns) addTurn(t.role, t.text);
      vp.name = c.name;
      vp.voice = m.voice;
      if (m.avatar && !vp.avatar) { vp.avatar = m.avatar; window.dispatchEvent(new Event("vp-avatar")); }
      $("ptt").disabled = !m.speech;
      $("handsfree").disabled = !m.speech;
      setStatus(m.resumed ? "resumed" : "connected");
      break;
    }
    case "state": setState(m.state); break;
    case "learner": addTurn("learner", m.text); break;
    case "patient":
      if (m.text) { appendPatient(m.turn, m.text); if (!vp.voice) $("subtitle").textContent = m.text; }
      if (m.emotion) vp.emotion = m.emotion;
      if (m.face) vp.face = m.face;
      break;
    case "audio": pendingAudio = m; break;
    case "stop_audio": stopAudio(); break;
    case "pause_audio": if (out.ctx) out.ctx.suspend(); break;
    case "resume_audio": if (out.ctx) out.ctx.resume(); break;
    case "turn_done": vp.lastTurn = m; break;
    case "error":
      showError("room-error", m.message);
      if (m.code === "busy") setStatus("server busy, try again");
      setTimeout(() => showError("room-error", ""), 8000);
      break;
    case "ended": {
      vp.ended = true;
      localStorage.removeItem("vpatient.session");
      setStatus("consultation ended");
      const link = $("feedback-link");
      link.href = `/app#/feedback/${encodeURIComponent(vp.session)}`;
      link.hidden = false;
      break;
    }
  }
}

function addTurn(role, text) {
  const li = document.createElement("li");
  li.className = `turn ${role}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = role === "learner" ? "You" : vp.name || "Patient";
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  li.append(who, body);
  $("transcript").appendChild(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

const patientTurns = new Map();
function appendPatient(turn, text) {
  let li = patientTurns.get(turn);
  if (!li || !li.isConnected) { li = addTurn("patient", text); patientTurns.set(turn, li); return; }
  const body = li.querySelector(".text");
  body.textContent = `${body.textContent} ${text}`;
}

function setState(state) {
  vp.state = state;
  const cue = $("thinking-cue");          // the "thinking" cue while a reply is pending
  if (state === "thinking" && cue.hidden) vp.cueShown = (vp.cueShown || 0) + 1;
  cue.hidden = state !== "thinking";
  $("avatar-state").dataset.state = state;
  $("avatar-state").textContent = state === "hearing" ? "listening to you…" : state === "thinking" ? "thinking…" : state;
}

// ------------------------------------------------------------------ patient audio
// `chunks`: the sentences scheduled on the audio clock, with their viseme tracks (read by avatar3d.js)
const out = (vp.out = { ctx: null, analyser: null, next: 0, sources: [], chunks: [] });

function outContext() {
  if (!out.ctx) {
    out.ctx = new AudioContext();
    out.analyser = out.ctx.createAnalyser();
    out.analyser.fftSize = 512;
    out.analyser.connect(out.ctx.destination);
  }
  return out.ctx;
}

function playAudio(buf, meta) {
  const rate = meta.sample_rate, text = meta.text;
  const ctx = outContext();
  const pcm = new Int16Array(buf);
  if (!pcm.length) return;
  const audio = ctx.createBuffer(1, pcm.length, rate);
  const ch = audio.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) ch[i] = pcm[i] / 32768;
  const src = ctx.createBufferSource();
  src.buffer = audio;
  src.connect(out.analyser);
  const at = Math.max(ctx.currentTime + 0.02, out.next);
  src.start(at);
  out.next = at + audio.duration;
  out.chunks = out.chunks.filter((c) => c.at + c.duration > ctx.currentTime - 1);
  out.chunks.push({ at, duration: audio.duration, visemes: meta.visemes, face: meta.face, emotion: meta.emotion });
  // the subtitle shows the sentence while it is heard
  setTimeout(() => { $("subtitle").textContent = text || ""; }, Math.max(0, (at - ctx.currentTime) * 1000));
  out.sources.push(src);
  src.onended = () => { out.sources = out.sources.filter((s) => s !== src); };
}

function stopAudio() {
  for (const s of out.sources) { try { s.stop(); } catch (e) { /* already stopped */ } }
  out.sources = [];
  out.chunks = [];
  out.next = 0;
  if (out.ctx && out.ctx.state === "suspended") out.ctx.resume();
}

// ------------------------------------------------------------------ microphone (AudioWorklet)
const mic = { ctx: null, node: null, stream: null, talking: false };

async function startMic() {
  if (mic.ctx) return true;
  try {
    mic.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
    });
  } catch (e) {
    showError("room-error", `no microphone (${e.name}); type instead`);
    return false;
  }
  mic.ctx = new AudioContext();
  await mic.ctx.audioWorklet.addModule("/static/mic-worklet.js");
  const src = mic.ctx.createMediaStreamSource(mic.stream);
  mic.node = new AudioWorkletNode(mic.ctx, "mic-capture");
  mic.node.port.onmessage = (e) => { if (vp.ws && vp.ws.readyState === WebSocket.OPEN) vp.ws.send(e.data); };
  src.connect(mic.node);
  sendJSON({ type: "audio", sample_rate: mic.ctx.sampleRate });
  return true;
}

async function talk(on) {
  if (on === mic.talking) return;
  if (on && !(await startMic())) return;
  mic.talking = on;
  $("ptt").classList.toggle("active", on);
  if (mic.node) mic.node.port.postMessage({ on });
  if (!on && !$("handsfree").checked) sendJSON({ type: "ptt", down: false });
}

// ------------------------------------------------------------------ the avatar
const EMOTION_COLOURS = { neutral: "#f0c9a0", anxious: "#f3d0a8", in_pain: "#e8b9a0", sad: "#e5c8b0", angry: "#f0a890", relieved: "#f4d2a8" };

// The sentence playing now and the time into it, on the audio clock (what the learner hears).
vp.speechNow = function () {
  if (!out.ctx || !out.chunks.length) return null;
  const now = out.ctx.currentTime - (out.ctx.outputLatency || 0);
  for (const c of out.chunks) if (now >= c.at && now < c.at + c.duration) return { chunk: c, t: now - c.at };
  return null;
};

// Adds the ARKit weights of the speech at `speaking` (the sentence's viseme track from the server, turned
// into blendshapes with the server's viseme table) to `into`; false when there is no track to follow.
vp.visemeWeights = function (speaking, into) {
  const v = speaking.chunk.visemes;
  if (!vp.avatar || !v || !v.frames || !v.frames.length) return false;
  const x = speaking.t * v.rate;
  const i = Math.min(Math.floor(x), v.frames.length - 1);
  const j = Math.min(i + 1, v.frames.length - 1);
  const f = x - Math.floor(x);
  const names = vp.avatar.visemes;
  for (let k = 0; k < names.length; k++) {
    const w = ((v.frames[i][k] || 0) * (1 - f) + (v.frames[j][k] || 0) * f) / 100;
    if (w <= 1e-3) continue;
    const mix = vp.avatar.viseme_arkit[names[k]];
    for (const shape in mix) into[shape] = (into[shape] || 0) + w * mix[shape];
  }
  return true;
};

function drawAvatar() {
  const cv = $("avatar");
  const speaking = vp.speechNow();
  const w = {};
  const visemed = !!speaking && vp.visemeWeights(speaking, w);   // lip-sync from the visemes, as in 3D
  const visemeOpen = 2 + Math.min(1, (w.jawOpen || 0) * 1.4) * 24;
  if (vp.view === "3d") {                                          // avatar3d.js draws the patient
    cv.dataset.mouth = visemeOpen.toFixed(1);
    requestAnimationFrame(drawAvatar);
    return;
  }
  const g = cv.getContext("2d");
  let level = 0;
  if (out.analyser && out.sources.length) {
    const data = new Uint8Array(out.analyser.fftSize);
    out.analyser.getByteTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += ((v - 128) / 128) ** 2;
    level = Math.min(1, Math.sqrt(sum / data.length) * 6);
  }
  vp.level = 0.6 * vp.level + 0.4 * level;
  const t = performance.now() / 1000;
  g.clearRect(0, 0, cv.width, cv.height);
  g.fillStyle = "#6b7c93"; g.fillRect(100, 250, 120, 70);              // shoulders
  g.fillStyle = EMOTION_COLOURS[vp.emotion] || EMOTION_COLOURS.neutral;
  g.beginPath(); g.ellipse(160, 150, 85, 105, 0, 0, Math.PI * 2); g.fill();
  g.fillStyle = "#5a3d2b"; g.beginPath(); g.ellipse(160, 70, 88, 42, 0, Math.PI, 0); g.fill();  // hair
  const blink = (t % 4) < 0.12;
  const look = vp.state === "hearing" ? 0 : Math.sin(t * 0.7) * 3;
  g.fillStyle = "#222";
  for (const x of [125, 195]) {
    if (blink) g.fillRect(x - 10 + look, 135, 20, 3);
    else { g.beginPath(); g.arc(x + look, 136, 7, 0, Math.PI * 2); g.fill(); }
  }
  const sad = vp.emotion === "sad" || vp.emotion === "in_pain" || vp.emotion === "anxious";
  const angry = vp.emotion === "angry";
  g.strokeStyle = "#3b2a1e"; g.lineWidth = 4;
  for (const [x, dir] of [[125, 1], [195, -1]]) {
    const tilt = angry ? 6 * dir : sad ? -6 * dir : 0;
    g.beginPath(); g.moveTo(x - 14, 116 - tilt); g.lineTo(x + 14, 116 + tilt); g.stroke();
  }
  // lip-sync: the visemes, else the audio envelope
  const open = visemed ? visemeOpen : vp.state === "speaking" ? 3 + vp.level * 22 : 2;
  g.fillStyle = "#8a3b3b";
  g.beginPath(); g.ellipse(160, 205, 24, open, 0, 0, Math.PI * 2); g.fill();
  cv.dataset.mouth = open.toFixed(1);
  requestAnimationFrame(drawAvatar);
}

// ------------------------------------------------------------------ wiring
$("cases").addEventListener("change", showBrief);
$("start").addEventListener("click", () => { outContext(); startSession(); });
$("say").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  outContext();
  if (sendJSON({ type: "text", text })) $("text").value = "";
  else showError("room-error", "not connected; trying again…");
});
$("end").addEventListener("click", () => sendJSON({ type: "end" }));
const ptt = $("ptt");
ptt.addEventListener("pointerdown", () => talk(true));
ptt.addEventListener("pointerup", () => { if (!$("handsfree").checked) talk(false); });
ptt.addEventListener("pointerleave", () => { if (!$("handsfree").checked) talk(false); });
$("handsfree").addEventListener("change", (e) => talk(e.target.checked));
document.addEventListener("keydown", (e) => {
  if (e.code === "Space" && document.activeElement !== $("text") && !$("room").hidden && !e.repeat) { e.preventDefault(); talk(true); }
});
document.addEventListener("keyup", (e) => {
  if (e.code === "Space" && document.activeElement !== $("text") && !$("handsfree").checked) talk(false);
});

whoAmI().then((ok) => ok && loadCases().then(() => {
  const m = location.hash.match(/session=([0-9a-f]+)/);
  const saved = m ? m[1] : null;
  const pick = location.hash.match(/case=([A-Za-z0-9_]+)/);
  if (pick && caseById(pick[1])) { $("cases").value = pick[1]; showBrief(); }
  if (saved) enterRoom(saved);   // a reload (or a dropped connection) resumes the same consultation
})).catch((e) => setStatus(`cannot reach the server: ${e}`));
requestAnimationFrame(drawAvatar);
