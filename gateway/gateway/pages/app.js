// What every page shares: the language, the token, calls to the public API, the header, small DOM helpers.
// The access token lives in sessionStorage (gone with the tab); nothing here decides access: the API does.
export const LANGS = ["ky", "ru", "kk", "en"];
const TOKEN = "ej.access";
const REFRESH = "ej.refresh";
const EXPIRES = "ej.expires";
let lang = LANGS.includes(localStorage.getItem("ej.lang")) ? localStorage.getItem("ej.lang") : "ky";
let strings = {};
let policy = null;
let me = null;
let repaint = () => {};

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
export const currentLang = () => lang;
export const getPolicy = () => policy;
export const getMe = () => me;
export const token = () => sessionStorage.getItem(TOKEN);
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN, value);
  else for (const key of [TOKEN, REFRESH, EXPIRES]) sessionStorage.removeItem(key);
}

/** A UI string of the page's language (i18n/<lang>.json); {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

/** A label of the institution's preset ({ky, ru, kk, en}) in the page's language. */
export function label(labels) {
  if (!labels) return "";
  return labels[lang] || labels.ky || labels.en || "";
}

/** A preset UI label (policy.labels.ui), or the page's own string when the preset has none. */
export function ui(key) {
  const labels = policy?.labels?.ui?.[key];
  return labels ? label(labels) : t(key);
}

/** The preset's attendance code for `key`. */
export const code = (key) => policy?.attendance?.codes?.find((c) => c.key === key);

/** An element: el("td", {class: "x", onclick: fn}, "text", child, ...). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

async function loadStrings() {
  const r = await fetch(`/web/i18n/${lang}.json`);
  strings = await r.json();
}

/** Keep the pair from a login or a refresh: the access token, the refresh token and when the access ends. */
function keep(pair) {
  setToken(pair.access_token);
  sessionStorage.setItem(REFRESH, pair.refresh_token);
  sessionStorage.setItem(EXPIRES, String(Date.now() + pair.expires_in * 1000));
}

let renewing = null;

/** Exchange the refresh token for a new pair (a QR page stays open a whole class, longer than an access
 * token lives); false when there is none or it is refused. One exchange at a time: a refresh token is used
 * once (API.md), a second use would revoke the family. */
function renew() {
  const refresh = sessionStorage.getItem(REFRESH);
  if (!refresh) return Promise.resolve(false);
  renewing ??= fetch("/api/v1/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: refresh }) })
    .then(async (r) => {
      if (!r.ok) return false;
      keep(await r.json());
      return true;
    })
    .catch(() => false)
    .finally(() => { renewing = null; });
  return renewing;
}

/** A valid access token, renewed a minute before it would expire. */
export async function fresh() {
  const expires = Number(sessionStorage.getItem(EXPIRES) || 0);
  if (token() && expires && Date.now() > expires - 60000) await renew();
  return token();
}

/** Call the public API. Answers {ok, status, data}; a 401 renews the token once, else sends the user to the
 * login page and back. */
export async function api(method, path, body, retried = false) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const auth = path.startsWith("/api/v1/auth/");
  const bearer = auth ? token() : await fresh();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (r.status === 401 && !auth) {
    if (!retried && (await renew())) return api(method, path, body, true);
    toLogin();
    return new Promise(() => {}); // the page is leaving
  }
  return { ok: r.ok, status: r.status, data };
}

export function toLogin() {
  setToken(null);
  location.assign(`/web/?next=${encodeURIComponent(location.pathname + location.search)}`);
}

export async function login(loginName, password) {
  const r = await api("POST", "/api/v1/auth/login", { login: loginName, password });
  if (r.ok) keep(r.data);
  return r;
}

/** Show a message in the page's live region (role=status, or role=alert for a failure). */
export function say(message, ok = true) {
  const box = $("#message");
  if (!box) return;
  box.hidden = !message;
  box.setAttribute("role", ok ? "status" : "alert");
  box.className = `message ${ok ? "ok" : "bad"}`;
  box.textContent = message || "";
}

/** The words of a problem+json answer for the user: a known code in the page's language, else its detail. */
export function problemText(r) {
  const known = { window_closed: "window_closed", locked: "window_locked", rate_limited: "too_many" };
  const key = known[r.data?.code];
  return key ? t(key) : r.data?.detail || `${t("error")} ${r.status}`;
}

function paintStatic() {
  document.documentElement.lang = lang;
  for (const node of $$("[data-t]")) node.textContent = t(node.dataset.t);
  for (const node of $$("[data-ui]")) node.textContent = ui(node.dataset.ui);
  for (const node of $$("[data-t-label]")) node.setAttribute("aria-label", t(node.dataset.tLabel));
  for (const b of $$("#langs button")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  const title = $("#title");
  document.title = `${title ? `${title.textContent} · ` : ""}${policy ? label(policy.labels.short_name) : t("app_title")}`;
}

function header() {
  const top = $("#top");
  if (!top) return;
  const name = policy ? label(policy.labels.name) : "";
  const langs = el("div", { id: "langs", role: "group", "data-t-label": "language" },
    LANGS.map((l) => el("button", { type: "button", lang: l, dataset: { lang: l }, onclick: () => switchLang(l) },
      { ky: "Кыргызча", ru: "Русский", kk: "Қазақша", en: "English" }[l])));
  const nav = el("nav", { "data-t-label": "my_pages" },
    el("a", { href: "/web/", "data-t": "home" }),
    me ? el("span", { class: "who" }, me.full_name) : null,
    me ? el("button", { type: "button", class: "link", "data-t": "logout", onclick: logout }) : null);
  top.replaceChildren(el("a", { class: "skip", href: "#main", "data-t": "skip" }),
    el("div", { class: "brand" }, el("span", policy ? { "data-ui": "journal" } : { "data-t": "app_title" }),
      name ? el("small", {}, name) : null),
    nav, langs);
}

async function logout() {
  setToken(null);
  location.assign("/web/");
}

export async function switchLang(l) {
  lang = l;
  localStorage.setItem("ej.lang", l);
  await loadStrings();
  paintStatic();
  repaint();
}

/**
 * Start a page: strings, and unless `open`, the caller (GET /me) and the preset (GET /policy), going to the
 * login page first when there is no token; `bare` asks for neither (the check-in page: the burst path calls
 * nothing but the check-in). `render` runs now and again after each language switch.
 */
export async function start({ open = false, bare = false, render = () => {} } = {}) {
  window.addEventListener("unhandledrejection", (e) => say(`${t("error")}: ${e.reason?.message || e.reason}`, false));
  await loadStrings();
  if (!bare && (!open || token())) {
    if (!token()) {
      toLogin();
      return new Promise(() => {});
    }
    const [m, p] = await Promise.all([api("GET", "/api/v1/me"), api("GET", "/api/v1/policy")]);
    me = m.ok ? m.data : null;
    policy = p.ok ? p.data : null;
  }
  header();
  repaint = async () => {
    header();
    paintStatic();
    await render();
    paintStatic();
  };
  await repaint();
}

export const hasRole = (role) => !!me?.roles?.some((r) => r.role === role);
export const param = (name) => new URLSearchParams(location.search).get(name);

/** A local date as YYYY-MM-DD. */
export function isoDay(d = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A time of an ISO timestamp as the institution shows it (the offset the API sent). */
export const clockTime = (iso) => (iso ? iso.slice(11, 16) : "");
export const dayOf = (iso) => (iso ? iso.slice(0, 10) : "");

/** A table from rows: columns [{head, cell(row)}]. */
export function table(columns, rows, caption) {
  return el("table", {},
    caption ? el("caption", {}, caption) : null,
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c.head)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((c) => el("td", {}, c.cell(row)))))));
}

/** The heading of a field of an API object: the page's string `f_<field>` where there is one. */
export const fieldHead = (k) => (strings[`f_${k}`] ?? k);

/** A cell's text for a plain API value: a timestamp as date and time, a status key as the preset's label, a
 * known word (kind, role, step, state) in the page's language, objects as "field: value" pairs. */
export function fieldText(k, v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return Object.entries(v).filter(([, x]) => x !== null && typeof x !== "object")
    .map(([a, x]) => `${fieldHead(a)}: ${fieldText(a, x)}`).join(", ");
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v)) return `${v.slice(0, 10)} ${v.slice(11, 16)}`;
  if (typeof v === "string" && code(v)) return label(code(v).labels);
  if (typeof v === "boolean") return v ? "✓" : "—";
  return strings[`v_${v}`] ?? String(v);
}

/** A table of API objects: the given fields (or every field of the first), plus an optional actions column. */
export function objTable(items, fields = null, actions = null, caption = null) {
  if (!items.length) return el("p", { class: "muted" }, t("no_items"));
  const keys = fields || Object.keys(items[0]).filter((k) => !Array.isArray(items[0][k]));
  const columns = keys.map((k) => ({ head: fieldHead(k), cell: (row) => fieldText(k, row[k]) }));
  if (actions) columns.push({ head: t("actions"), cell: actions });
  return el("div", { class: "scroll" }, table(columns, items, caption));
}
