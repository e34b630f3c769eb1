// A teacher's sessions of a day (today by default), each with its journal grid and its QR page.
import { $, api, clockTime, el, isoDay, param, problemText, say, start, t, ui } from "/web/app.js";

let day = param("date") || isoDay();
let sessions = [];

async function load() {
  const r = await api("GET", `/api/v1/sessions?from=${day}&to=${day}&limit=500`);
  if (!r.ok) {
    say(problemText(r), false);
    sessions = [];
    return;
  }
  sessions = r.data.items.sort((a, b) => a.starts_at.localeCompare(b.starts_at));
}

function render() {
  if (!sessions.length) {
    $("#sessions").replaceChildren(el("li", {}, t("no_items")));
    return;
  }
  $("#sessions").replaceChildren(...sessions.map((s) => {
    const grid = `/web/grid.html?group=${encodeURIComponent(s.group)}&discipline=${encodeURIComponent(s.discipline)}`;
    return el("li", {},
      el("strong", {}, `${clockTime(s.starts_at)} · ${s.discipline}`),
      el("div", {}, `${ui("group")}: ${s.group}${s.subgroup ? ` (${s.subgroup})` : ""} · ${t(`session_${s.kind}`)}`),
      s.room ? el("div", { class: "muted" }, `${t("room")}: ${s.room}`) : null,
      s.topic ? el("div", { class: "muted" }, `${ui("topic")}: ${s.topic}`) : null,
      el("a", { class: "button", href: `${grid}#s${s.id}` }, t("open_grid")),
      el("a", { class: "button", href: `/web/qr.html?session=${s.id}` }, t("qr_page")));
  }));
}

$("#pick").date.value = day;
$("#pick").addEventListener("submit", async (e) => {
  e.preventDefault();
  day = e.target.date.value;
  history.replaceState(null, "", `?date=${day}`);
  await load();
  render();
});

await start({ render: async () => { if (!sessions.length) await load(); render(); } });
