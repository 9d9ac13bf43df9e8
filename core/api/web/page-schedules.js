// Schedules per account: cron slots in the user's time zone, blackout windows, daily cap, minimum score,
// auto-approve; edited in forms.
import { act, announce, api, errorBox, field, fmtTime, h } from "./dom.js";

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

/** "22:00-07:00, 12:00-13:00" ⇄ [{start, end}] */
const parseBlackout = (text) => String(text || "").split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
  const [start, end] = s.split("-").map((x) => x.trim()); return { start, end };
});
const showBlackout = (list) => (list || []).map((b) => `${b.start}-${b.end}`).join(", ");

function scheduleForm(accounts, s, done) {
  const err = errorBox(`schedule-${s ? s.id : "new"}-error`);
  const form = h("form", { class: "card", "aria-label": s ? `Schedule ${s.name || s.id}` : "New schedule" },
    h("h2", {}, s ? `Schedule: ${s.name || `#${s.id}`}` : "New schedule"),
    h("div", { class: "field-row" },
      s ? "" : field("Account", { name: "account_id", required: true, options: accounts.map((a) => [a.id, `${a.platform}: ${a.name || a.remote_id}`]) }, "select"),
      field("Name", { name: "name", value: s ? s.name : "", maxlength: 200 }),
      field("Time slots (cron: minute hour day month weekday)", { name: "cron", value: s ? s.cron : "0 9,18 * * *", required: true }),
      field("Time zone", { name: "timezone", value: s ? s.timezone : ZONE, required: true })),
    h("div", { class: "field-row" },
      field("Blackout windows (HH:MM-HH:MM, comma separated)", { name: "blackout", value: s ? showBlackout(s.blackout) : "" }),
      field("Posts per day at most", { name: "max_per_day", type: "number", min: 1, max: 1000, value: s && s.max_per_day ? s.max_per_day : "" }),
      field("Minimum score", { name: "min_score", type: "number", min: 0, max: 100, step: "any", value: s ? s.min_score : 0 })),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "auto_approve", checked: s ? s.auto_approve : false }), "Auto-approve clips at or above the minimum score"),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "enabled", checked: s ? s.enabled : true }), "Enabled"),
    s && s.last_slot_at ? h("p", { class: "note" }, `Last slot used: ${fmtTime(s.last_slot_at)}`) : "",
    err, h("div", { class: "actions" }, h("button", { class: "primary" }, s ? "Save schedule" : "Create schedule"),
      s ? h("button", { type: "button", onclick: (e) => act(e.target, err, async () => { await api(`/api/schedules/${s.id}`, { method: "DELETE" }); announce("schedule deleted"); done(); }) }, "Delete") : ""));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { name: f.get("name"), cron: f.get("cron"), timezone: f.get("timezone"), blackout: parseBlackout(f.get("blackout")),
      max_per_day: f.get("max_per_day") ? Number(f.get("max_per_day")) : null, min_score: Number(f.get("min_score") || 0),
      auto_approve: f.get("auto_approve") === "on", enabled: f.get("enabled") === "on" };
    if (!s) body.account_id = Number(f.get("account_id"));
    act(form.querySelector("button"), err, async () => {
      await api(s ? `/api/schedules/${s.id}` : "/api/schedules", { method: s ? "PATCH" : "POST", json: body });
      announce("schedule saved"); done();
    });
  });
  return form;
}

export async function schedulesPage(view) {
  const [accounts, schedules] = await Promise.all([api("/api/accounts?limit=100"), api("/api/schedules?limit=100")]);
  const redraw = () => { view.replaceChildren(); schedulesPage(view); };
  view.append(h("h1", {}, "Schedules"),
    h("p", { class: "note" }, `Times are in the schedule's time zone (yours: ${ZONE}). The scheduler fills each slot with the best approved clip not yet posted to that account.`));
  if (!accounts.items.length) { view.append(h("p", {}, "Connect an account first: ", h("a", { href: "#/accounts" }, "Accounts"))); return; }
  const byId = new Map(accounts.items.map((a) => [a.id, a]));
  for (const s of schedules.items) {
    const a = byId.get(s.account_id);
    view.append(h("p", { class: "meta" }, `for ${a ? `${a.platform}: ${a.name}` : `account ${s.account_id}`}`), scheduleForm(accounts.items, s, redraw));
  }
  if (!schedules.items.length) view.append(h("p", { class: "note" }, "No schedule yet."));
  view.append(scheduleForm(accounts.items, null, redraw));
}
