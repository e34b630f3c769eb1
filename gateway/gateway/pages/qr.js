// The full-screen rotating QR code of a session: a fresh code is fetched before the shown one expires (the
// preset's token_ttl_seconds; a scanned code stays usable its grace time longer), with the live roster beside
// it and the devices shared by several students flagged.
import { $, api, clockTime, code, el, fresh, getPolicy, label, param, problemText, say, start, t, ui } from "/web/app.js";

const session = param("session");
let roster = null;
let url = null;

async function refreshCode() {
  const r = await fetch(`/api/v1/sessions/${session}/checkin-codes/qr.svg`, { headers: { Authorization: `Bearer ${await fresh()}` } });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    say(problemText({ status: r.status, data: body }), false);
    return false;
  }
  const blob = await r.blob();
  if (url) URL.revokeObjectURL(url);
  url = URL.createObjectURL(blob);
  $("#qr").src = url;
  $("#qr").alt = t("qr_title");
  $("#qr").dataset.expires = r.headers.get("X-Checkin-Expires") || "";
  return true;
}

async function refreshRoster() {
  const r = await api("GET", `/api/v1/sessions/${session}/roster`);
  if (r.ok) {
    roster = r.data;
    renderRoster();
  }
}

function renderRoster() {
  if (!roster) return;
  $("#counts").textContent = `${t("checked_in")}: ${roster.students.filter((s) => s.checked_in_at).length} / ${roster.students.length}`;
  $("#roster").replaceChildren(
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, ui("student")), el("th", { scope: "col" }, ui("attendance")),
      el("th", { scope: "col" }, t("time")))),
    el("tbody", {}, roster.students.map((s) => el("tr", { class: s.shared_device ? "flag" : null },
      el("th", { scope: "row" }, s.student, s.shared_device ? el("span", { role: "img", "aria-label": t("shared_device"), title: t("shared_device") }, " ⚠") : null),
      el("td", {}, s.status ? label(code(s.status)?.labels) || s.status : t("not_yet")),
      el("td", {}, clockTime(s.checked_in_at))))));
  const flagged = roster.shared_devices.length
    ? el("p", { class: "message bad", role: "alert" }, `⚠ ${t("shared_device")}: `,
      roster.shared_devices.map((d) => d.students.join(", ")).join("; "))
    : null;
  const refused = roster.refused_checkins.length
    ? el("div", {}, el("h3", {}, t("refused")), el("ul", {}, roster.refused_checkins.map((c) =>
      el("li", {}, `${c.student} ${clockTime(c.at)}: ${c.reason || c.code}`))))
    : null;
  $("#refused").replaceChildren(...[flagged, refused].filter(Boolean));
}

function render() {
  const ttl = getPolicy()?.checkin?.token_ttl_seconds || 30;
  $("#refresh").textContent = t("code_refreshes", { s: ttl });
  $("#qr").alt = t("qr_title");
  renderRoster();
}

$("#full").addEventListener("click", () => $("#stage").requestFullscreen?.().catch(() => {}));

await start({ render });
const ttl = getPolicy()?.checkin?.token_ttl_seconds || 30;
const s = await api("GET", `/api/v1/sessions/${session}`);
if (s.ok) $("#session-info").textContent = `${s.data.discipline} · ${s.data.group} · ${clockTime(s.data.starts_at)}`;
if (await refreshCode()) {
  // the next code is shown a little before the current one expires, so a scan never meets a stale code
  setInterval(refreshCode, Math.max(2, ttl * 0.8) * 1000);
  await refreshRoster();
  setInterval(refreshRoster, 3000);
}
