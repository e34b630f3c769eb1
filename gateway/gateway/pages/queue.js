// The office queues, one simple list page with actions each (issue 9): the directorate's excuses, the
// correction chain (department head, academic office, IT admin), statements to close, the journal-filling
// report, the commission's appeals. Every action is one call of the public API; the API decides who may.
import { $, api, el, getMe, hasRole, objTable, param, problemText, say, start, t } from "/web/app.js";

const q = param("q");
let items = null;
let extra = null; // the filling report's totals

/** A list's page of 500 after `cursor` (API.md: lists answer a page and its next_cursor). */
const page = (path, cursor) => `${path}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
const MAX_PAGES = 20; // a queue is worked through whole; 10,000 items is more than any office holds

const button = (text, onclick, secondary = false) =>
  el("button", { type: "button", class: secondary ? "secondary" : null, onclick }, text);

/** A note or reason asked in a small dialog-free way: the browser's prompt is not accessible enough, so the
 * row carries its own input. */
const noteInput = (id) => el("input", { id, "aria-label": t("note"), placeholder: t("note"), maxlength: 2000 });

async function act(method, path, body) {
  const r = await api(method, path, body);
  say(r.ok ? t("done") : problemText(r), r.ok);
  if (r.ok) await refresh();
}

const QUEUES = {
  excuses: {
    title: "q_excuses",
    load: (f, cursor) => api("GET", page("/api/v1/excuses?state=pending", cursor)),
    fields: ["id", "student", "kind", "from", "to", "document", "state"],
    actions: (x) => el("div", { class: "toolbar" }, noteInput(`note-${x.id}`),
      button(t("approve"), () => act("POST", `/api/v1/excuses/${x.id}/decision`, { approve: true, note: $(`#note-${x.id}`).value || null })),
      button(t("reject"), () => act("POST", `/api/v1/excuses/${x.id}/decision`, { approve: false, note: $(`#note-${x.id}`).value || null }), true)),
  },
  corrections: {
    title: "q_corrections",
    load: (f, cursor) => api("GET", page("/api/v1/corrections?state=pending", cursor)),
    fields: ["id", "target", "value", "reason", "requested_by", "created_at", "next", "due"],
    actions: (x) => {
      const step = x.next && hasRole(x.next.role) ? x.next.action : null;
      return el("div", { class: "toolbar" }, noteInput(`note-${x.id}`),
        step ? button(t(step), () => act("POST", `/api/v1/corrections/${x.id}/${step}`, { note: $(`#note-${x.id}`).value || null })) : null,
        button(t("reject"), () => act("POST", `/api/v1/corrections/${x.id}/reject`, { note: $(`#note-${x.id}`).value || null }), true));
    },
  },
  statements: {
    title: "q_statements",
    filter: [["group", "group_code"], ["discipline", "discipline_code"]],
    load: (f) => api("GET", `/api/v1/statements?group=${encodeURIComponent(f.group)}&discipline=${encodeURIComponent(f.discipline)}&state=posted`),
    fields: ["id", "group", "discipline", "kind", "state"],
    actions: (x) => (hasRole("academic_office") ? button(t("close"), () => act("POST", `/api/v1/statements/${x.id}/close`)) : null),
  },
  filling: {
    title: "q_filling",
    filter: [["teacher", "teacher_code"], ["term", "term"]],
    load: async (f) => {
      const r = await api("GET", `/api/v1/reports/filling?teacher=${encodeURIComponent(f.teacher)}&term=${encodeURIComponent(f.term)}`);
      if (r.ok) extra = r.data.totals;
      return r.ok ? { ok: true, data: { items: r.data.rows } } : r;
    },
    fields: ["group", "discipline_name", "scheduled", "held", "on_time", "late", "missing", "topics_recorded",
      "topics_missing", "grades_entered", "grades_late"],
  },
  appeals: {
    title: "q_appeals",
    load: (f, cursor) => api("GET", page("/api/v1/appeals?state=filed", cursor)),
    fields: ["id", "student", "statement", "assessment", "reason", "state"],
    actions: (x) => {
      const protocol = el("input", { id: `protocol-${x.id}`, "aria-label": t("protocol"), placeholder: t("protocol"), maxlength: 64 });
      const value = el("input", { id: `value-${x.id}`, "aria-label": t("value"), placeholder: t("value"), inputmode: "decimal" });
      const decide = (upheld) => {
        const v = $(`#value-${x.id}`).value;
        return act("POST", `/api/v1/appeals/${x.id}/decision`, { upheld, protocol: $(`#protocol-${x.id}`).value,
          value: upheld && v !== "" ? Number(v) : null });
      };
      return el("div", { class: "toolbar" }, protocol, value, button(t("upheld"), () => decide(true)),
        button(t("not_upheld"), () => decide(false), true));
    },
  },
};
const queue = QUEUES[q];

function filterValues() {
  return Object.fromEntries(new FormData($("#filter")));
}

async function load() {
  if (queue.filter && !queue.filter.every(([name]) => filterValues()[name])) {
    items = [];
    return;
  }
  let r = await queue.load(filterValues());
  if (!r.ok) {
    items = [];
    say(problemText(r), false);
    return;
  }
  items = r.data.items;
  for (let n = 1; r.ok && r.data.next_cursor && n < MAX_PAGES; n++) {
    r = await queue.load(filterValues(), r.data.next_cursor);
    if (r.ok) items = items.concat(r.data.items);
  }
}

/** The filter's inputs (statements: group and discipline; filling: teacher and term), filled from the address. */
function buildFilter() {
  if (!queue?.filter) return;
  const f = $("#filter");
  f.hidden = false;
  const mine = getMe();
  f.replaceChildren(...queue.filter.map(([name, key]) => el("label", {}, el("span", { "data-t": key }),
    el("input", { name, required: true, value: param(name) || (name === "teacher" && hasRole("teacher") ? mine.code : "") }))),
  el("button", { type: "submit", "data-t": "show" }));
}

function render() {
  $("#title").textContent = queue ? t(queue.title) : t("no_items");
  if (!queue) return;
  const parts = [objTable(items || [], queue.fields, queue.actions)];
  if (extra) parts.push(el("p", {}, `${t("totals")}: `, Object.entries(extra).map(([k, v]) => `${t(`f_${k}`)} ${v}`).join(" · ")));
  $("#list").replaceChildren(...parts);
}

async function refresh() {
  await load();
  render();
}

$("#filter").addEventListener("submit", (e) => {
  e.preventDefault();
  extra = null;
  refresh();
});

await start({
  render: async () => {
    if (items === null) {
      buildFilter();
      await load();
    }
    render();
  },
});
