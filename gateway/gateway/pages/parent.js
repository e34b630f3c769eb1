// A parent's page: each child's record, read-only.
import { $, el, getMe, problemText, start, t } from "/web/app.js";
import { fetchRecord, renderRecord } from "/web/record.js";

let records = null;

async function load() {
  records = await Promise.all((getMe().children || []).map(fetchRecord));
}

function render() {
  if (!records.length) {
    $("#children").replaceChildren(el("p", {}, t("no_items")));
    return;
  }
  $("#children").replaceChildren(...records.map((r, i) => el("article", { "aria-label": `${t("child")} ${i + 1}` },
    ...(r.ok ? renderRecord(r.data) : [el("p", { role: "alert" }, problemText(r))]))));
}

await start({ render: async () => { if (!records) await load(); render(); } });
