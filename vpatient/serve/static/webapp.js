// The web app of assessors, faculty and students: session list and review, feedback, logbook, cohort
// view, case editor and users. Plain JavaScript, no library. Every piece of text from the server (transcript
// turns, persona text, names, reasons) is put on the page as text (textContent, never innerHTML), so
// markup in a transcript shows as what was said and never runs.
"use strict";

const app = (window.vpApp = { me: null, csrf: null });

// ------------------------------------------------------------------ helpers
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "width") el.style.width = v;
    else if (k === "height") el.style.height = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function view(...children) {
  const v = document.getElementById("view");
  v.replaceChildren(...children.flat().filter(Boolean));
}

async function api(path, options = {}) {
  const init = { ...options, headers: { ...(options.headers || {}) } };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers["Content-Type"] = "application/json";
  }
  if (init.method && init.method !== "GET" && app.csrf) init.headers["X-CSRF-Token"] = app.csrf;
  const res = await fetch(path, init);
  if (res.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.hash);
    throw new Error("sign in first");
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `the server said ${res.status}`);
  return body;
}

const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 10) / 10}%`);
const day = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "");
const link = (href, text, cls) => h("a", { href, class: cls }, text);
const sessionHref = (id) => `#/session/${encodeURIComponent(id)}`;
const RATINGS = { clear_pass: "Clear pass", borderline: "Borderline", fail: "Fail" };

function errorBox(e) { return h("p", { class: "error", role: "alert" }, String(e.message || e)); }

function statusBadge(status) {
  return status ? h("span", { class: `badge ${status}` }, status) : h("span", { class: "muted" }, "not graded");
}

// ------------------------------------------------------------------ navigation
const PAGES = [
  ["sessions", "Sessions", ["assessor", "faculty"]],
  ["cohorts", "Cohorts", ["assessor", "faculty"]],
  ["logbook", "Logbook", ["student"]],
  ["consult", "Consultation", ["student"]],
  ["cases", "Cases", ["faculty"]],
  ["users", "Users", ["admin", "faculty"]],
];

function drawNav(here) {
  const role = app.me ? app.me.role : "anonymous";
  const nav = document.getElementById("nav");
  const links = PAGES.filter(([, , roles]) => roles.includes(role)).map(([id, title]) =>
    id === "consult" ? link("/", title) : link(`#/${id}`, title, here === id ? "here" : null));
  if (app.me) links.push(h("span", { class: "me" }, app.me.name, ` (${app.me.role})`), link("#/logout", "Sign out"));
  nav.replaceChildren(...links);
}

// Pages render one after another, in the order they were asked for: a slow page can never draw over the
// page asked for after it.
let queue = Promise.resolve();
function route() {
  queue = queue.then(routeNow, routeNow);
  return queue;
}

async function routeNow() {
  const [, page, arg] = (location.hash.match(/^#\/([a-z]+)\/?(.*)$/) || [null, "", ""]);
  const home = app.me ? { student: "logbook", admin: "users" }[app.me.role] || "sessions" : "feedback";
  const name = page || home;
  drawNav(name);
  const pages = { sessions, session: review, feedback, logbook, cohorts, cohort, cases, users, logout };
  const fn = pages[name];
  if (!fn) { view(h("p", {}, "No such page.")); return; }
  try {
    await fn(decodeURIComponent(arg || ""));
  } catch (e) {
    view(errorBox(e));
  }
}

// ------------------------------------------------------------------ sessions (assessor, faculty)
async function sessions() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const [{ sessions: rows }, { cohorts: cos }] = await Promise.all([
    api(`/api/sessions?${params}`),
    api("/api/cohorts"),
  ]);
  const cases = await api("/api/cases");
  const field = (key, label, el) => h("label", {}, label, h("br"), el);
  const input = (key, type = "text", extra = {}) => h("input", { name: key, type, value: params.get(key) || "", ...extra });
  const select = (key, options) => {
    const s = h("select", { name: key }, h("option", { value: "" }, "any"),
      options.map(([v, t]) => h("option", { value: v }, t)));
    s.value = params.get(key) || "";
    return s;
  };
  const form = h("form", { class: "filters", id: "filters", onsubmit: (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(e.target)) if (v) q.set(k, v);
    location.hash = `#/sessions?${q}`;
  } },
    field("cohort", "Cohort", select("cohort", cos.map((c) => [c.name, c.name]))),
    field("case", "Case", select("case", cases.map((c) => [c.id, c.title]))),
    field("learner", "Learner", input("learner", "text", { size: 10 })),
    field("since", "From", input("since", "date")),
    field("until", "To", input("until", "date")),
    field("min_score", "Score ≥", input("min_score", "number", { min: 0, max: 100, step: 1 })),
    field("max_score", "Score ≤", input("max_score", "number", { min: 0, max: 100, step: 1 })),
    field("flagged", "Flagged", select("flagged", [["true", "recognition uncertain"], ["false", "not flagged"]])),
    field("status", "Review", select("status", [["pending", "pending"], ["final", "final"]])),
    h("button", { type: "submit" }, "Filter"));
  const table = h("table", { id: "sessions" },
    h("thead", {}, h("tr", {}, ["Started", "Learner", "Cohort", "Case", "Score", "Review", "Flags", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, rows.map((s) => h("tr", { "data-session": s.id },
      h("td", {}, day(s.started_at)),
      h("td", {}, s.learner || "anonymous"),
      h("td", {}, s.cohorts.join(", ")),
      h("td", {}, s.persona),
      h("td", {}, s.score === null ? "–" : `${pct(s.score)} ${s.passed ? "pass" : "not yet"}`),
      h("td", {}, statusBadge(s.review_status)),
      h("td", {}, s.flagged ? h("span", { class: "badge flag" }, "recognition uncertain") : ""),
      h("td", {}, link(sessionHref(s.id), "Review"))))));
  view(h("section", {}, h("h2", {}, "Sessions"), form),
    h("section", {}, rows.length ? table : h("p", {}, "No session matches."), h("p", { class: "muted" }, `${rows.length} sessions`)));
}

// ------------------------------------------------------------------ one session: review
function highlighted(text, quotes) {
  // the turn's text with each evidence quote marked, built as text nodes and <mark> elements
  const spans = [];
  const low = text.toLowerCase();
  for (const q of quotes) {
    const at = q ? low.indexOf(q.toLowerCase()) : -1;
    if (at >= 0) spans.push([at, at + q.length]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  const out = [];
  let pos = 0;
  for (const [a, b] of spans) {
    if (a < pos) continue;
    out.push(text.slice(pos, a), h("mark", {}, text.slice(a, b)));
    pos = b;
  }
  out.push(text.slice(pos));
  return out;
}

function transcriptList(s, grades) {
  const evidence = new Map();
  for (const g of grades) for (const it of g.items) {
    for (const e of it.evidence || []) {
      if (!evidence.has(e.turn)) evidence.set(e.turn, []);
      evidence.get(e.turn).push({ item: it, quote: e.quote });
    }
  }
  const uncertain = new Set();
  for (const g of grades) for (const u of (g.recognition || {}).uncertain_turns || []) uncertain.add(u.turn);
  const audio = new Set(s.audio_turns || []);
  return h("ol", { class: "turns-list", id: "turns" }, s.turns.map((t, i) => {
    const refs = evidence.get(i) || [];
    const cls = [t.role, refs.length ? "evidence" : "", uncertain.has(i) ? "uncertain" : ""].join(" ");
    const conf = typeof t.confidence === "number" ? ` · recognised ${Math.round(t.confidence * 100)}%` : "";
    return h("li", { id: `turn-${i}`, class: cls, "data-turn": i },
      h("div", { class: "who" }, `[${i}] ${t.role}${conf} `,
        uncertain.has(i) ? h("span", { class: "badge asr" }, "recognition uncertain") : null),
      h("div", { class: "text" }, highlighted(t.text, refs.map((r) => r.quote))),
      audio.has(i) ? h("audio", { controls: true, preload: "none", src: `/api/sessions/${encodeURIComponent(s.id)}/turns/${i}/audio`, "aria-label": `Audio of turn ${i}` }) : null,
      refs.length ? h("div", { class: "muted" }, "Evidence for: ",
        refs.map((r, k) => [k ? ", " : "", h("a", { href: `#item-${r.item.id}`, class: "item-link", onclick: (e) => {
          e.preventDefault();
          const el = document.getElementById(`item-${r.item.id}`);
          if (el) el.scrollIntoView({ block: "center" });
        } }, r.item.title || r.item.id)])) : null);
  }));
}

function goTurn(i) {
  const el = document.getElementById(`turn-${i}`);
  if (!el) return;
  document.querySelectorAll("li.target").forEach((x) => x.classList.remove("target"));
  el.classList.add("target");
  el.scrollIntoView({ block: "center" });
}

function turnLinks(turns) {
  return turns.map((n, k) => [k ? ", " : "", h("a", { href: `#turn-${n}`, class: "turn-link", onclick: (e) => { e.preventDefault(); goTurn(n); } }, `turn ${n}`)]);
}

function itemBlock(s, g, it, canEdit, redraw) {
  const good = it.kind === "fault" ? !it.met : it.met;
  const label = it.kind === "fault" ? (it.met ? "happened" : "avoided") : (it.met ? "met" : "missed");
  const evidenceTurns = (it.evidence || []).map((e) => e.turn);
  const block = h("div", { class: "item", id: `item-${it.id}`, "data-item": it.id },
    h("h4", {}, it.title || it.id, " ", h("span", { class: `badge ${good ? "met" : "missed"}` }, label),
      it.overridden ? h("span", { class: "badge over", title: `by ${it.overridden.by}: ${it.overridden.reason}` }, "overridden") : null,
      h("span", { class: "muted" }, ` ${it.score}/${it.max}`)),
    h("div", { class: "why" }, it.rationale || ""),
    evidenceTurns.length ? h("div", { class: "why" }, "Evidence: ", turnLinks(evidenceTurns)) : null,
    it.overridden ? h("div", { class: "why" }, `Overridden by ${it.overridden.by}: ${it.overridden.reason}`) : null);
  if (canEdit) {
    const form = h("form", { class: "override", onsubmit: async (e) => {
      e.preventDefault();
      const data = new FormData(e.target);
      try {
        await api(`/api/sessions/${encodeURIComponent(s.id)}/overrides`, { method: "POST", body: {
          rubric: g.rubric, item: it.id, met: data.get("met") === "true", reason: data.get("reason") } });
        redraw();
      } catch (err) { form.append(errorBox(err)); }
    } },
      h("select", { name: "met", "aria-label": `${it.id}: met` },
        h("option", { value: "true", selected: it.met }, it.kind === "fault" ? "happened" : "met"),
        h("option", { value: "false", selected: !it.met }, it.kind === "fault" ? "did not happen" : "not met")),
      h("input", { name: "reason", placeholder: "Reason for the override", required: true, maxlength: 4000, "aria-label": `${it.id}: reason` }),
      h("button", { type: "submit" }, "Override"));
    block.append(form);
  }
  return block;
}

function gradePanel(s, g, canEdit, redraw) {
  const final = g.status === "final";
  const edit = canEdit && !final;
  const out = h("section", { class: "grade-panel", "data-rubric": g.rubric },
    h("h3", {}, g.rubric_title || g.rubric, " ", statusBadge(g.status)),
    h("p", {}, h("span", { class: "score", id: "score" }, pct(g.percent)), ` ${g.score}/${g.max_score} marks · `,
      g.passed ? "pass" : "not yet passed", ` (pass mark ${g.pass_mark}%)`,
      g.original && g.original.percent !== g.percent ? h("span", { class: "muted" }, ` · graded ${pct(g.original.percent)} before overrides`) : null));
  const r = g.review || {};
  if (r.rating) out.append(h("p", {}, "Global rating: ", h("b", { id: "rating" }, RATINGS[r.rating] || r.rating), ` by ${r.rated_by}`, r.comments ? h("div", { class: "why" }, r.comments) : null));
  if (final) out.append(h("p", {}, `Signed off by ${r.signed_off_by} at ${day(r.signed_off_at)}.`));
  if (edit) {
    const rating = h("form", { id: "rating-form", onsubmit: async (e) => {
      e.preventDefault();
      const data = new FormData(e.target);
      try {
        await api(`/api/sessions/${encodeURIComponent(s.id)}/review`, { method: "POST", body: {
          rubric: g.rubric, rating: data.get("rating"), comments: data.get("comments") } });
        redraw();
      } catch (err) { rating.append(errorBox(err)); }
    } },
      h("fieldset", {}, h("legend", {}, "Global rating"),
        Object.entries(RATINGS).map(([v, t]) => h("label", {}, h("input", { type: "radio", name: "rating", value: v, required: true, checked: r.rating === v }), ` ${t}`))),
      h("label", {}, "Comments", h("br"), h("textarea", { name: "comments", rows: 3, cols: 40, maxlength: 20000 }, r.comments || "")),
      h("button", { type: "submit" }, "Save rating"));
    const sign = h("button", { type: "button", id: "signoff", disabled: !r.rating, onclick: async () => {
      try {
        await api(`/api/sessions/${encodeURIComponent(s.id)}/signoff`, { method: "POST", body: { rubric: g.rubric } });
        redraw();
      } catch (err) { out.append(errorBox(err)); }
    } }, "Sign off (final)");
    out.append(rating, h("p", {}, sign, r.rating ? "" : h("span", { class: "muted" }, " give the global rating first")));
  }
  const rec = g.recognition || {};
  if ((rec.uncertain_turns || []).length) {
    out.append(h("p", { class: "badge flag" }, "Speech recognition uncertain in ", turnLinks(rec.uncertain_turns.map((u) => u.turn)), ": listen before marking an item missed."));
  }
  for (const it of g.items) out.append(itemBlock(s, g, it, edit, redraw));
  return out;
}

function ungraded(s, canEdit, redraw) {
  const box = h("section", { id: "ungraded" }, h("p", {}, "Not graded yet."));
  if (canEdit) {
    box.append(h("button", { type: "button", id: "grade-now", onclick: async () => {
      try {
        await api(`/api/sessions/${encodeURIComponent(s.id)}/grade`, { method: "POST" });
        redraw();
      } catch (err) { box.append(errorBox(err)); }
    } }, "Grade now"));
  }
  return box;
}

async function review(id) {
  const s = await api(`/api/sessions/${encodeURIComponent(id)}`);
  const role = app.me ? app.me.role : "anonymous";
  if (role === "student" || role === "anonymous") { location.hash = `#/feedback/${encodeURIComponent(id)}`; return; }
  const canEdit = role === "assessor" || role === "faculty";
  const redraw = () => review(id);
  const log = s.overrides.length ? h("section", { id: "audit" }, h("h3", {}, "Overrides (audit log)"),
    h("table", {}, h("tbody", {}, s.overrides.map((o) => h("tr", {},
      h("td", {}, day(o.at)), h("td", {}, o.actor), h("td", {}, `${o.rubric}/${o.item}`),
      h("td", {}, `${o.before.met} → ${o.after.met}`), h("td", {}, o.reason)))))) : null;
  view(
    h("section", {}, h("h2", {}, `Session ${s.id}`),
      h("p", {}, `${s.learner || "anonymous"} · ${s.persona} · ${day(s.started_at)} · ${s.status} · `,
        link(`/api/sessions/${encodeURIComponent(s.id)}/xapi`, "xAPI statements"))),
    h("div", { class: "review" },
      h("section", { class: "turns" }, h("h3", {}, "Transcript"), transcriptList(s, s.grades)),
      h("div", { class: "grade" }, s.grades.length ? s.grades.map((g) => gradePanel(s, g, canEdit, redraw)) : ungraded(s, canEdit, redraw), log)));
}

// ------------------------------------------------------------------ feedback (student)
async function feedback(id) {
  if (!id) { view(h("p", {}, "Which session? Open it from your logbook.")); return; }
  const [{ feedback: fb }, s] = await Promise.all([
    api(`/api/sessions/${encodeURIComponent(id)}/feedback`),
    api(`/api/sessions/${encodeURIComponent(id)}`),
  ]);
  const parts = [h("section", { "data-session": id }, h("h2", {}, "Feedback"), h("p", {}, `${s.persona} · ${day(s.started_at)}`))];
  if (!fb.length) parts.push(h("section", {}, h("p", {}, "This consultation has not been graded yet.")));
  for (const f of fb) {
    parts.push(h("section", { class: "feedback", "data-rubric": f.rubric },
      h("h3", {}, f.rubric_title || f.rubric, " ", statusBadge(f.status)),
      h("p", {}, h("span", { class: "score", id: "score" }, pct(f.percent)), ` ${f.score}/${f.max_score} marks · `,
        f.passed ? "passed" : "not yet passed", ` (pass mark ${f.pass_mark}%)`),
      f.review && f.review.comments && f.status === "final" ? h("p", {}, "Assessor's comments: ", f.review.comments) : null,
      h("h4", {}, "Done well"),
      f.done_well.length ? h("ul", { id: "done-well" }, f.done_well.map((d) => h("li", {}, d.title,
        d.evidence.length ? [" (", turnLinks(d.evidence.map((e) => e.turn)), ")"] : ""))) : h("p", {}, "Nothing yet."),
      h("h4", {}, "To work on"),
      f.missed.length ? h("ul", { id: "missed" }, f.missed.map((m) => h("li", {}, h("b", {}, m.title), m.tip ? `: ${m.tip}` : "",
        m.turns.length ? [" Look at ", turnLinks(m.turns), "."] : "",
        m.check_audio ? h("div", { class: "muted" }, m.check_audio) : null))) : h("p", {}, "Every item met."),
      f.faults.length ? [h("h4", {}, "Mistakes"), h("ul", {}, f.faults.map((m) => h("li", {}, m.title, m.tip ? `: ${m.tip}` : "", m.turns.length ? [" (", turnLinks(m.turns), ")"] : "")))] : null));
  }
  parts.push(h("section", {}, h("h3", {}, "Your consultation"), transcriptList(s, s.grades)));
  if (app.me && app.me.role === "student") parts.push(h("p", {}, link("#/logbook", "Your logbook"), " · ", link("/", "Another consultation")));
  view(parts);
}

// ------------------------------------------------------------------ logbook (student)
async function logbook() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const book = await api(`/api/logbook${params.get("learner") ? `?learner=${encodeURIComponent(params.get("learner"))}` : ""}`);
  const next = book.next_case;
  view(
    h("section", {}, h("h2", {}, `Logbook of ${book.learner}`),
      next ? h("p", { id: "next-case" }, "Next: ", h("b", {}, `${next.title} (${next.name})`), ` ${next.reason}. `,
        link(`/#case=${encodeURIComponent(next.case)}`, "Start it")) : h("p", {}, "Do a consultation to get suggestions.")),
    h("section", {}, h("h3", {}, "Consultations"),
      h("table", { id: "logbook" }, h("tbody", {}, book.sessions.map((x) => h("tr", {},
        h("td", {}, day(x.started_at)), h("td", {}, x.persona), h("td", {}, pct(x.percent)),
        h("td", {}, x.passed ? "passed" : "not yet"), h("td", {}, statusBadge(x.status)),
        h("td", {}, link(`#/feedback/${encodeURIComponent(x.id)}`, "Feedback"))))))),
    h("section", {}, h("h3", {}, "Items over time (oldest first)"),
      h("table", { id: "trends" }, h("tbody", {}, book.items.map((i) => h("tr", {},
        h("td", {}, i.title), h("td", {}, `${Math.round(i.rate * 100)}%`),
        h("td", { class: "trend" }, i.trend.map((ok) => h("span", { class: ok ? "ok" : "no", title: ok ? "done" : "not done" })))))))));
}

// ------------------------------------------------------------------ cohorts (assessor, faculty)
async function cohorts() {
  const { cohorts: cos } = await api("/api/cohorts");
  view(h("section", {}, h("h2", {}, "Cohorts"),
    cos.length ? h("ul", {}, cos.map((c) => h("li", {}, link(`#/cohort/${encodeURIComponent(c.name)}`, c.name),
      ` · ${(c.students || []).length} students · cases: ${c.cases.join(", ") || "all"}`))) : h("p", {}, "No cohort is assigned to you.")));
}

async function cohort(name) {
  const st = await api(`/api/cohorts/${encodeURIComponent(name)}/stats`);
  const top = Math.max(1, ...st.distribution.map((b) => b.n));
  const enc = encodeURIComponent(name);
  view(
    h("section", {}, h("h2", {}, `Cohort ${st.cohort}`),
      h("p", {}, `${st.sessions} graded sessions of ${st.learners} learners · `,
        link(`/api/cohorts/${enc}/export.csv`, "Export CSV", "export-csv"), " · ",
        link(`/api/cohorts/${enc}/xapi`, "xAPI statements"), " · ",
        link(`#/sessions?cohort=${enc}`, "Sessions"))),
    h("section", {}, h("h3", {}, "Score distribution"),
      h("div", { class: "hist", id: "histogram" }, st.distribution.map((b) => h("div", { height: `${(b.n / top) * 100}%`, title: `${b.from}-${b.to}%: ${b.n}` }))),
      h("div", { class: "hist-labels" }, st.distribution.map((b) => h("span", {}, `${b.from}`)))),
    h("section", {}, h("h3", {}, "Items (hardest first)"),
      h("table", { id: "items" }, h("tbody", {}, st.items.map((i) => h("tr", {},
        h("td", {}, i.title), h("td", {}, `${i.ok}/${i.n}`),
        h("td", {}, h("div", { class: "bar" }, h("span", { width: `${i.rate * 100}%` })))))))),
    h("section", {}, h("h3", {}, "Who struggles with what"),
      h("table", { id: "struggles" }, h("tbody", {}, st.by_learner.map((l) => h("tr", {},
        h("td", {}, link(`#/logbook?learner=${encodeURIComponent(l.learner)}`, l.learner)),
        h("td", {}, `${l.sessions} sessions, mean ${pct(l.mean_percent)}`),
        h("td", {}, l.struggles.map((x) => x.title).join(", ") || "–")))))));
}

// ------------------------------------------------------------------ cases (faculty)
async function cases() {
  const [list, { assignments }, { cohorts: cos }, { rubrics }] = await Promise.all([
    api("/api/cases"), api("/api/assignments"), api("/api/cohorts"), api("/api/rubrics")]);
  // one editor for both kinds of faculty file: "case:ID" or "rubric:ID" (or a new case)
  const pick = h("select", { id: "case-pick", "aria-label": "File to edit" }, h("option", { value: "" }, "a new case"),
    h("optgroup", { label: "Cases" }, list.map((c) => h("option", { value: `case:${c.id}` }, c.title))),
    h("optgroup", { label: "Rubrics" }, rubrics.map((r) => h("option", { value: `rubric:${r}` }, r))));
  const kind = () => (pick.value.startsWith("rubric:") ? "rubric" : "case");
  const fileId = () => pick.value.split(":")[1] || "new_case";
  const editor = h("textarea", { class: "yaml", id: "yaml", spellcheck: "false", "aria-label": "YAML" });
  const result = h("div", { id: "validation", "aria-live": "polite" });
  const saved = h("p", { id: "saved", "aria-live": "polite" });
  let timer = null;
  const validate = async () => {
    try {
      const r = await api(`/api/${kind() === "rubric" ? "rubrics" : "cases"}/validate`, { method: "POST", body: { yaml: editor.value, name: `${fileId()}.yaml` } });
      const what = r.case ? `${r.case.id}, ${r.case.statements} statements` : r.rubric ? `${r.rubric.id}, ${r.rubric.items} items` : "";
      result.replaceChildren(r.ok ? h("p", { class: "ok" }, `valid: ${what}`)
        : h("ul", { class: "problems" }, r.problems.map((p) => h("li", {}, p))));
      save.disabled = !r.ok || kind() !== "case";
    } catch (e) { result.replaceChildren(errorBox(e)); }
  };
  const save = h("button", { type: "button", id: "save-case", disabled: true, onclick: async () => {
    try {
      const r = await api("/api/cases", { method: "POST", body: { yaml: editor.value } });
      saved.replaceChildren(h("span", { class: "ok" }, `saved as ${r.path}: students can start ${r.case.title}`));
    } catch (e) { saved.replaceChildren(errorBox(e)); }
  } }, "Save case");
  editor.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(validate, 400); });
  pick.addEventListener("change", async () => {
    const src = pick.value ? `/api/${kind() === "rubric" ? "rubrics" : "cases"}/${encodeURIComponent(fileId())}/source` : null;
    editor.value = src ? (await api(src)).yaml : "";
    saved.replaceChildren();
    validate();
  });
  const cohortInput = h("input", { name: "cohort", list: "cohort-names", required: true, placeholder: "cohort" });
  const caseSel = h("select", { name: "case" }, list.map((c) => h("option", { value: c.id }, c.title)));
  const assignForm = h("form", { class: "filters", id: "assign-case", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api(`/api/cohorts/${encodeURIComponent(cohortInput.value)}/cases`, { method: "POST", body: { case: caseSel.value } });
      cases();
    } catch (err) { assignForm.append(errorBox(err)); }
  } }, cohortInput, h("datalist", { id: "cohort-names" }, cos.map((c) => h("option", { value: c.name }))), caseSel, h("button", { type: "submit" }, "Assign"));
  view(
    h("section", {}, h("h2", {}, "Case and rubric editor"),
      h("p", { class: "muted" }, "Checked as you type, with the errors of `vpatient persona validate` and `vpatient rubric validate`. A valid case is saved into the server's --cases-dir; rubrics are checked only."),
      pick, editor, result, h("p", {}, save), saved),
    h("section", {}, h("h2", {}, "Cases of each cohort"),
      h("ul", { id: "assignments" }, Object.entries(assignments).map(([c, ids]) => h("li", {}, `${c}: `,
        ids.map((id, k) => [k ? ", " : "", id, " ", h("button", { type: "button", class: "small-btn", "aria-label": `remove ${id} from ${c}`, onclick: async () => {
          await api(`/api/cohorts/${encodeURIComponent(c)}/cases/${encodeURIComponent(id)}`, { method: "DELETE" });
          cases();
        } }, "×")])))),
      assignForm));
  validate();
}

// ------------------------------------------------------------------ users (admin; faculty assign cohorts)
async function users() {
  const { users: all } = await api("/api/users");
  const isAdmin = app.me.role === "admin";
  const addForm = isAdmin ? h("form", { class: "filters", id: "add-user", onsubmit: async (e) => {
    e.preventDefault();
    const d = Object.fromEntries(new FormData(e.target));
    try { await api("/api/users", { method: "POST", body: d }); users(); } catch (err) { addForm.append(errorBox(err)); }
  } },
    h("input", { name: "name", placeholder: "user name", required: true }),
    h("select", { name: "role" }, ["student", "assessor", "faculty", "admin"].map((r) => h("option", { value: r }, r))),
    h("input", { name: "password", type: "password", placeholder: "password (8+)", required: true, autocomplete: "new-password" }),
    h("input", { name: "cohort", placeholder: "cohort (optional)" }),
    h("button", { type: "submit" }, "Add user")) : null;
  const assignForm = h("form", { class: "filters", id: "assign-cohort", onsubmit: async (e) => {
    e.preventDefault();
    const d = Object.fromEntries(new FormData(e.target));
    try { await api(`/api/users/${encodeURIComponent(d.name)}/cohorts`, { method: "POST", body: { cohort: d.cohort } }); users(); } catch (err) { assignForm.append(errorBox(err)); }
  } },
    h("select", { name: "name" }, all.filter((u) => u.role !== "admin").map((u) => h("option", { value: u.name }, `${u.name} (${u.role})`))),
    h("input", { name: "cohort", placeholder: "cohort", required: true }),
    h("button", { type: "submit" }, "Put in / assign to cohort"));
  view(h("section", {}, h("h2", {}, "Users"),
    h("table", { id: "users" }, h("tbody", {}, all.map((u) => h("tr", {},
      h("td", {}, u.name), h("td", {}, u.role), h("td", {}, u.cohorts.join(", ")),
      h("td", {}, u.assesses.length ? `reviews ${u.assesses.join(", ")}` : ""), h("td", {}, u.active ? "" : "disabled"))))),
    addForm ? [h("h3", {}, "Add a user"), addForm] : null, h("h3", {}, "Cohorts"), assignForm));
}

async function logout() {
  try { await api("/api/logout", { method: "POST" }); } catch (e) { /* signed out anyway */ }
  location.href = "/login";
}

// ------------------------------------------------------------------ start
async function start() {
  const res = await fetch("/api/me");
  if (res.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.hash);
    return;
  }
  const me = await res.json();
  app.me = me.user;
  app.csrf = me.csrf_token;
  window.addEventListener("hashchange", () => {
    if (/^#turn-\d+$/.test(location.hash) || /^#item-/.test(location.hash)) return;  // in-page links
    route();
  });
  await route();
  document.body.dataset.ready = "1";
}
start();
