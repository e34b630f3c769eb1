// The journal grid of a group and a discipline: students x sessions, marks typed from the keyboard with the
// preset's classifier, topic and kind of work per session, each column showing what a write would meet now
// (the session's `window`), a closed cell offering a correction request; below, the grades per assessment.
import { $, $$, api, clockTime, code, dayOf, el, getPolicy, label, param, problemText, say, start, t, ui }
  from "/web/app.js";

const group = param("group");
const discipline = param("discipline");
let sessions = []; // full session views, by time
let students = [];
let pending = new Map(); // `${session}|${student}` -> status
let topics = new Map(); // session -> {topic, work_kind}
let assessments = [];
let gradeEdits = new Map(); // `${assessment}|${student}` -> value
let keys = []; // [{key, code}] shortcuts of the codes a teacher sets

const WRITABLE = new Set(["on_time", "late"]);

function teacherCodes() {
  return (getPolicy()?.attendance?.codes || []).filter((c) => c.set_by.includes("teacher"));
}

function shortcuts() {
  const codes = teacherCodes();
  const out = codes.map((c, i) => ({ key: String(i + 1), code: c }));
  const used = new Set();
  for (const c of codes) {
    const letter = c.key[0].toLowerCase();
    if (!used.has(letter)) {
      used.add(letter);
      out.push({ key: letter, code: c });
    }
  }
  return out;
}

/** The text of a mark in a cell: the preset's mark, or for an empty mark (present) a tick. */
function markText(status) {
  if (!status) return "";
  const c = code(status);
  return c ? c.mark || "✓" : status;
}

async function load() {
  const list = await api("GET", `/api/v1/sessions?group=${encodeURIComponent(group)}&discipline=${encodeURIComponent(discipline)}&limit=500`);
  if (!list.ok) {
    say(problemText(list), false);
    return;
  }
  const views = await Promise.all(list.data.items.map((s) => api("GET", `/api/v1/sessions/${s.id}`)));
  sessions = views.filter((v) => v.ok).map((v) => v.data).sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  const all = new Set();
  for (const s of sessions) for (const st of s.roster || []) all.add(st);
  const a = await api("GET", `/api/v1/assessments?group=${encodeURIComponent(group)}&discipline=${encodeURIComponent(discipline)}`);
  assessments = a.ok ? a.data.items : [];
  for (const x of assessments) for (const g of x.grades) all.add(g.student);
  students = [...all].sort();
}

const statusOf = (s, student) => pending.get(`${s.id}|${student}`) ?? s.marks.find((m) => m.student === student)?.status;

function cellLabel(s, student) {
  const status = statusOf(s, student);
  const c = status ? code(status) : null;
  return `${student}, ${dayOf(s.starts_at)} ${clockTime(s.starts_at)}: ${c ? label(c.labels) : "—"}; ${t(`window_${s.window}`)}`;
}

function renderGrid() {
  const head = el("tr", {}, el("th", { scope: "col" }, ui("student")), sessions.map((s) => {
    const writable = WRITABLE.has(s.window);
    const topic = topics.get(s.id) || { topic: s.topic || "", work_kind: s.work_kind || "" };
    return el("th", { scope: "col", id: `s${s.id}`, class: s.window },
      el("div", {}, `${dayOf(s.starts_at).slice(5)} ${clockTime(s.starts_at)}`),
      el("div", { class: "muted" }, t(`session_${s.kind}`)),
      el("span", { class: "state" }, t(`window_${s.window}`)),
      writable ? el("input", { "aria-label": `${ui("topic")} ${dayOf(s.starts_at)}`, placeholder: ui("topic"),
        value: topic.topic, dataset: { session: s.id, field: "topic" }, oninput: editTopic }) : el("div", {}, s.topic || ""),
      writable ? el("input", { "aria-label": `${t("work_kind")} ${dayOf(s.starts_at)}`, placeholder: t("work_kind"),
        value: topic.work_kind, dataset: { session: s.id, field: "work_kind" }, oninput: editTopic }) : null,
      writable ? el("button", { type: "button", class: "secondary", dataset: { session: s.id }, onclick: allPresent },
        t("all_present")) : null);
  }));
  const rows = students.map((student, r) => el("tr", {}, el("th", { scope: "row" }, student), sessions.map((s, c) => {
    const onRoster = (s.roster || []).includes(student);
    if (!onRoster) return el("td", { class: "cell", "aria-disabled": "true" }, "");
    const dirty = pending.has(`${s.id}|${student}`);
    return el("td", { class: `cell ${s.window}${dirty ? " dirty" : ""}`, role: "gridcell", tabindex: r === 0 && c === 0 ? 0 : -1,
      "aria-label": cellLabel(s, student), "aria-readonly": String(!WRITABLE.has(s.window)),
      dataset: { row: r, col: c, session: s.id, student }, onkeydown: cellKey, onclick: (e) => e.currentTarget.focus() },
      markText(statusOf(s, student)),
      s.window === "closed" ? el("button", { type: "button", class: "link", title: t("request_correction"),
        "aria-label": `${t("request_correction")}: ${student}, ${dayOf(s.starts_at)}`, tabindex: -1,
        dataset: { action: "correction" }, onclick: () => askCorrection(s, student) }, "✎") : null);
  })));
  $("#grid").replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
  $("#dirty").textContent = pending.size || topics.size ? t("unsaved") : "";
}

function renderLegend() {
  $("#legend").replaceChildren(el("strong", { id: "legend-title" }, `${t("keys")}:`),
    ...keys.map((k) => el("span", {}, el("kbd", {}, k.key), ` ${label(k.code.labels)}`)),
    ...["on_time", "late", "closed"].map((w) => el("span", { class: `swatch ${w}` }, t(`window_${w}`))));
}

function renderGrades() {
  const head = el("tr", {}, el("th", { scope: "col" }, ui("student")),
    assessments.map((a) => el("th", { scope: "col" }, `${a.title}`, el("div", { class: "muted" }, `${a.date} · ${t(`kind_${a.kind}`)} · ≤ ${a.max}`))));
  const rows = students.map((student) => el("tr", {}, el("th", { scope: "row" }, student), assessments.map((a) => {
    const key = `${a.id}|${student}`;
    const stored = a.grades.find((g) => g.student === student)?.value;
    return el("td", {}, el("input", { type: "number", step: "any", min: 0, max: a.max, inputmode: "decimal",
      "aria-label": `${ui("grade")}: ${student}, ${a.title}`, value: gradeEdits.get(key) ?? stored ?? "",
      oninput: (e) => gradeEdits.set(key, e.target.value) }));
  })));
  $("#grades").replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
}

function render() {
  keys = shortcuts();
  $("#title").textContent = `${ui("journal")}: ${ui("group")} ${group} · ${ui("discipline")} ${discipline}`;
  renderLegend();
  renderGrid();
  renderGrades();
}

function editTopic(e) {
  const id = Number(e.target.dataset.session);
  const s = sessions.find((x) => x.id === id);
  const cur = topics.get(id) || { topic: s.topic || "", work_kind: s.work_kind || "" };
  topics.set(id, { ...cur, [e.target.dataset.field]: e.target.value });
  $("#dirty").textContent = t("unsaved");
}

function allPresent(e) {
  const s = sessions.find((x) => x.id === Number(e.currentTarget.dataset.session));
  const present = teacherCodes().find((c) => c.counts_as === "present") || teacherCodes()[0];
  for (const student of s.roster || []) pending.set(`${s.id}|${student}`, present.key);
  renderGrid();
}

function focusCell(row, col) {
  const cell = $(`#grid td[data-row="${row}"][data-col="${col}"]`);
  if (!cell) return false;
  for (const c of $$("#grid td[tabindex='0']")) c.tabIndex = -1;
  cell.tabIndex = 0;
  cell.focus();
  return true;
}

function cellKey(e) {
  const cell = e.currentTarget;
  const row = Number(cell.dataset.row);
  const col = Number(cell.dataset.col);
  const s = sessions.find((x) => x.id === Number(cell.dataset.session));
  const student = cell.dataset.student;
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  if (moves[e.key]) {
    e.preventDefault();
    focusCell(row + moves[e.key][0], col + moves[e.key][1]);
    return;
  }
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) return; // the page's own shortcut: save
  const shortcut = keys.find((k) => k.key === e.key.toLowerCase());
  const clear = e.key === "Delete" || e.key === "Backspace";
  if (!shortcut && !clear && e.key !== "Enter") return;
  e.preventDefault();
  if (s.window === "closed") {
    askCorrection(s, student, shortcut?.code.key);
    return;
  }
  if (!WRITABLE.has(s.window)) {
    say(t(`window_${s.window}`), false);
    return;
  }
  if (clear) pending.delete(`${s.id}|${student}`);
  else if (shortcut) pending.set(`${s.id}|${student}`, shortcut.code.key);
  if (shortcut || clear) {
    renderGrid();
    if (!focusCell(row + 1, col)) focusCell(row, col);
  }
}

let correctionTarget = null;

function askCorrection(s, student, value) {
  correctionTarget = { s, student };
  $("#corr-what").textContent = `${t("correction_for")} ${student}, ${dayOf(s.starts_at)} ${clockTime(s.starts_at)}`;
  $("#corr-value").replaceChildren(...teacherCodes().map((c) =>
    el("option", { value: c.key, selected: c.key === (value || statusOf(s, student)) }, label(c.labels))));
  $("#corr-reason").value = "";
  $("#correction").showModal();
}

$("#corr-cancel").addEventListener("click", () => $("#correction").close());
$("#corr-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const { s, student } = correctionTarget;
  const r = await api("POST", "/api/v1/corrections", {
    target: { kind: "attendance", session: s.id, student }, value: $("#corr-value").value, reason: $("#corr-reason").value });
  $("#correction").close();
  say(r.ok ? `${t("correction_filed")} (№ ${r.data.id})` : problemText(r), r.ok);
});

async function save() {
  const bySession = new Map();
  for (const [k, status] of pending) {
    const [id, student] = k.split("|");
    if (!bySession.has(id)) bySession.set(id, []);
    bySession.get(id).push({ student, status });
  }
  const failures = [];
  for (const [id, marks] of bySession) {
    const r = await api("PUT", `/api/v1/sessions/${id}/attendance`, { marks });
    if (r.ok) for (const m of marks) pending.delete(`${id}|${m.student}`);
    else failures.push(problemText(r));
  }
  for (const [id, topic] of [...topics]) {
    if (!topic.topic) continue;
    const r = await api("PUT", `/api/v1/sessions/${id}/topic`, { topic: topic.topic, work_kind: topic.work_kind || null });
    if (r.ok) topics.delete(id);
    else failures.push(problemText(r));
  }
  await load();
  render();
  say(failures.length ? failures.join("; ") : t("saved"), !failures.length);
}

async function saveGrades() {
  const byAssessment = new Map();
  for (const [k, value] of gradeEdits) {
    const [id, student] = k.split("|");
    if (value === "") continue;
    if (!byAssessment.has(id)) byAssessment.set(id, []);
    byAssessment.get(id).push({ student, value: Number(value) });
  }
  const failures = [];
  for (const [id, grades] of byAssessment) {
    const r = await api("PUT", `/api/v1/assessments/${id}/grades`, { grades });
    if (r.ok) for (const g of grades) gradeEdits.delete(`${id}|${g.student}`);
    else failures.push(problemText(r));
  }
  await load();
  render();
  say(failures.length ? failures.join("; ") : t("saved"), !failures.length);
}

$("#save").addEventListener("click", save);
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !$("#correction").open) {
    e.preventDefault();
    save();
  }
});
$("#save-grades").addEventListener("click", saveGrades);
$("#new-assessment").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await api("POST", "/api/v1/assessments", { group, discipline, kind: f.get("kind"), title: f.get("title"),
    date: f.get("date"), max: Number(f.get("max")) });
  if (r.ok) {
    e.target.reset();
    await load();
    render();
  }
  say(r.ok ? t("saved") : problemText(r), r.ok);
});
window.addEventListener("beforeunload", (e) => { if (pending.size) e.preventDefault(); });

await start({ render: async () => { if (!sessions.length) await load(); render(); } });
