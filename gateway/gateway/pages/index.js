// The login page and, once logged in, the pages of the caller's roles.
import { $, api, el, getMe, hasRole, login, param, problemText, say, start, t, token } from "/web/app.js";

/** Pages by role: [role(s), string key, href]. */
const PAGES = [
  [["teacher"], "role_teacher", "/web/teacher.html"],
  [["student"], "role_student", "/web/student.html"],
  [["parent"], "role_parent", "/web/parent.html"],
  [["directorate"], "role_excuses", "/web/queue.html?q=excuses"],
  [["department_head", "academic_office", "directorate", "it_admin"], "role_corrections", "/web/queue.html?q=corrections"],
  [["academic_office"], "role_statements", "/web/queue.html?q=statements"],
  [["department_head", "academic_office", "directorate", "it_admin"], "role_filling", "/web/queue.html?q=filling"],
  [["commission"], "role_appeals", "/web/queue.html?q=appeals"],
];

/** Only a page of this site is a place to return to after the login. */
function next() {
  const n = param("next");
  return n && n.startsWith("/") && !n.startsWith("//") ? n : null;
}

function render() {
  const me = getMe();
  $("#login").hidden = !!me;
  $("#home").hidden = !me;
  if (!me) return;
  $("#title").removeAttribute("data-t");
  $("#title").textContent = `${t("welcome")}, ${me.full_name}`;
  const mine = PAGES.filter(([roles]) => roles.some(hasRole));
  $("#pages").replaceChildren(...mine.map(([, key, href]) => el("li", {}, el("a", { href }, t(key)))));
  if (!mine.length) $("#pages").replaceChildren(el("li", {}, t("no_items")));
}

$("#login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await login(f.get("login"), f.get("password"));
  if (!r.ok) {
    say(r.status === 429 ? t("too_many") : r.status === 401 ? t("badlogin") : problemText(r), false);
    return;
  }
  location.assign(next() || "/web/");
});

if (token() && next()) location.assign(next());
else start({ open: true, render });
