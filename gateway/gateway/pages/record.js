// A student's record (GET /api/v1/students/{code}/record) as the student and the parents see it: attendance
// and grades by discipline, make-ups, appeals. The student's own page adds the actions (make-up, appeal).
import { api, clockTime, code, currentLang, dayOf, el, getPolicy, label, objTable, t, table, ui } from "/web/app.js";

export async function fetchRecord(student) {
  return api("GET", `/api/v1/students/${encodeURIComponent(student)}/record?lang=${currentLang()}`);
}

function statusText(status) {
  const c = code(status);
  return c ? label(c.labels) : status;
}

/** The record's sections; `actions` = {makeup(session), appeal(assessment)} on the student's own page. */
export function renderRecord(record, actions = null) {
  const policy = getPolicy();
  const makeupable = new Set(policy?.makeup?.enabled ? policy.makeup.applies_to : []);
  const requested = new Set(record.makeups.map((m) => m.session));
  const parts = [el("p", {}, `${ui("student")}: ${record.student.full_name} (${record.student.code}) · ${ui("group")}: ${record.student.group || "—"}`)];
  for (const d of record.disciplines) {
    const title = `${ui("discipline")}: ${d.discipline_name || d.discipline}`;
    const id = `d-${d.group}-${d.discipline}`.replace(/[^\w-]/g, "_");
    parts.push(el("section", { "aria-labelledby": id },
      el("h2", { id }, title),
      el("p", {}, `${ui("attendance")}: ${d.attendance.percent ?? "—"}%`,
        d.forecast?.projected != null ? ` · ${ui("rating")}: ${d.forecast.projected}` : ""),
      el("div", { class: "scroll" }, table([
        { head: ui("date"), cell: (s) => `${dayOf(s.starts_at)} ${clockTime(s.starts_at)}` },
        { head: t("kind"), cell: (s) => t(`session_${s.kind}`) },
        { head: ui("attendance"), cell: (s) => statusText(s.status) },
        ...(actions ? [{ head: t("actions"), cell: (s) => (makeupable.has(s.status) && !requested.has(s.session)
          ? el("button", { type: "button", class: "secondary", onclick: () => actions.makeup(s.session),
            "aria-label": `${t("request_makeup")}: ${dayOf(s.starts_at)}` }, t("request_makeup")) : "") }] : []),
      ], d.attendance.sessions, ui("attendance"))),
      d.grades.length ? el("div", { class: "scroll" }, table([
        { head: t("title"), cell: (g) => g.title },
        { head: ui("date"), cell: (g) => g.date },
        { head: ui("grade"), cell: (g) => `${g.value ?? "—"} / ${g.max}` },
        ...(actions ? [{ head: t("actions"), cell: (g) => el("button", { type: "button", class: "secondary",
          onclick: () => actions.appeal(g.assessment), "aria-label": `${t("file_appeal")}: ${g.title}` }, t("file_appeal")) }] : []),
      ], d.grades, t("grades"))) : null));
  }
  const cases = (items, heading) => el("section", {}, el("h2", {}, heading), objTable(items));
  parts.push(cases(record.makeups, t("makeups")), cases(record.appeals, t("appeals")));
  return parts;
}
