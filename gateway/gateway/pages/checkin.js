// The page a scanned QR code opens. The code is kept in sessionStorage through the login (the server accepts
// it for its TTL plus the preset's grace time), then one call checks the student in and the result is shown:
// checked in, already checked in, expired, not your session, closed.
import { $, login, problemText, say, setToken, start, t, token } from "/web/app.js";

const KEY = "ej.checkin";
const fromUrl = new URLSearchParams(location.search).get("t");
if (fromUrl) {
  sessionStorage.setItem(KEY, fromUrl);
  history.replaceState(null, "", location.pathname); // the code leaves the address bar and the history
}
let result = null; // [string key or text, ok]

/** This browser's own random id, kept across visits: one phone checking in several students shows on the
 * teacher's live roster (the User-Agent alone is the same on every phone of a model). */
function device() {
  let id = localStorage.getItem("ej.device");
  if (!id) {
    id = `web-${crypto.getRandomValues(new Uint32Array(2)).join("-")}`;
    localStorage.setItem("ej.device", id);
  }
  return id;
}

function render() {
  if (result) say(t(result[0]), result[1]);
}

function show(key, ok) {
  result = [key, ok];
  render();
}

async function checkin() {
  const code = sessionStorage.getItem(KEY);
  if (!code) {
    show("ck_nocode", false);
    return;
  }
  if (!token()) {
    $("#login").hidden = false;
    return;
  }
  const r = await fetch("/api/v1/checkin", { method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token()}` }, body: JSON.stringify({ token: code, device: device() }) });
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) {
    setToken(null);
    $("#login").hidden = false;
    return;
  }
  $("#login").hidden = true;
  if (r.ok) {
    sessionStorage.removeItem(KEY);
    show(body.already ? "ck_already" : "ck_ok", true);
    $("#after").hidden = false;
    return;
  }
  const known = { token_expired: "ck_expired", forbidden: "ck_roster", not_found: "ck_roster", window_closed: "ck_closed",
    validation_error: "ck_nocode" };
  if (known[body.code]) show(known[body.code], false);
  else {
    result = null;
    say(problemText({ status: r.status, data: body }), false);
  }
}

$("#login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await login(f.get("login"), f.get("password"));
  if (!r.ok) {
    show(r.status === 429 ? "too_many" : "badlogin", false);
    return;
  }
  result = null;
  say("");
  await checkin();
});

await start({ open: true, bare: true, render });
await checkin();
