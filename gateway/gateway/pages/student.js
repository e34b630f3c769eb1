// The student's own record, with make-up requests for absences and appeals of grades or posted statements.
import { $, api, getMe, problemText, say, start, t } from "/web/app.js";
import { fetchRecord, renderRecord } from "/web/record.js";

let record = null;
let appealOf = null;

async function load() {
  const r = await fetchRecord(getMe().code);
  if (r.ok) record = r.data;
  else say(problemText(r), false);
}

const actions = {
  async makeup(session) {
    const r = await api("POST", "/api/v1/makeups", { session, student: getMe().code });
    say(r.ok ? t("makeup_filed") : problemText(r), r.ok);
    if (r.ok) await refresh();
  },
  appeal(assessment) {
    appealOf = { assessment };
    $("#appeal-what").textContent = `${t("assessment_id")}: ${assessment}`;
    $("#appeal-form").reset();
    $("#appeal").showModal();
  },
};

async function fileAppeal(body) {
  const r = await api("POST", "/api/v1/appeals", body);
  say(r.ok ? t("appeal_filed") : problemText(r), r.ok);
  if (r.ok) await refresh();
}

function render() {
  if (record) $("#record").replaceChildren(...renderRecord(record, actions));
}

async function refresh() {
  await load();
  render();
}

$("#appeal-cancel").addEventListener("click", () => $("#appeal").close());
$("#appeal-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("#appeal").close();
  await fileAppeal({ ...appealOf, reason: new FormData(e.target).get("reason") });
});
$("#statement-appeal").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  await fileAppeal({ statement: Number(f.get("statement")), reason: f.get("reason") });
});

await start({ render: async () => { if (!record) await load(); render(); } });
