// Usage: today's quotas and AI spend per day; for admins, every user and their limits.
import { act, announce, api, errorBox, field, h } from "./dom.js";
import { session } from "./app.js";

// [key in usage.used, key in usage.limits, label, decimals]
const QUOTAS = [["videos", "videos_per_day", "Videos today", 0], ["minutes", "minutes_per_day", "Minutes analyzed today", 1],
  ["llm_usd", "llm_usd_per_day", "AI spend today (USD)", 4]];

export async function usagePage(view) {
  const [usage, daily] = await Promise.all([api("/api/users/me/usage"), api("/api/users/me/usage/daily?days=14")]);
  const most = Math.max(0.000001, ...daily.map((d) => d.cost_usd));
  view.append(h("h1", {}, "Usage"),
    h("div", { class: "grid" }, QUOTAS.map(([k, lk, label, places]) => {
      const used = usage.used[k] ?? 0, limit = usage.limits[lk];
      return h("div", { class: "card" }, h("strong", {}, label), h("p", {}, `${Number(used).toFixed(places)} of ${limit == null ? "unlimited" : limit}`),
        limit ? h("progress", { max: limit, value: Math.min(used, limit), "aria-label": `${label} of the limit` }) : "");
    })),
    h("p", { class: "note" }, `Quotas reset at ${new Date(usage.resets_at).toLocaleString()}.`),
    h("h2", {}, "AI spend per day (last 14 days, UTC)"),
    h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), h("th", { scope: "col" }, "USD"), h("th", { scope: "col" }, "Calls"), h("th", { scope: "col", class: "hide-narrow" }, "Share of the busiest day"))),
      h("tbody", {}, daily.map((d) => h("tr", {}, h("td", {}, d.day), h("td", {}, d.cost_usd.toFixed(4)), h("td", {}, `${d.llm_calls} LLM, ${d.stt_calls} STT`),
        h("td", { class: "hide-narrow" }, h("div", { class: "bar", style: null, "data-w": d.cost_usd / most }))))))));
  for (const bar of view.querySelectorAll(".bar")) bar.style.width = `${Math.round(100 * Number(bar.dataset.w))}%`;
  if (session.user && session.user.is_admin) await adminUsers(view);
}

async function adminUsers(view) {
  const users = await api("/api/users?limit=100");
  const limitField = (label, u, k, step) => field(label, { name: k, type: "number", min: 0, step, value: u[k] ?? "", placeholder: "default" });
  const rows = users.items.map((u) => {
    const err = errorBox(`user-${u.id}-error`);
    const form = h("form", { class: "card", "aria-label": `Limits of ${u.email}` }, h("strong", {}, u.email), u.is_admin ? " (administrator)" : "",
      h("div", { class: "field-row" }, limitField("Videos per day", u, "videos_per_day", 1), limitField("Minutes per day", u, "minutes_per_day", "any"), limitField("AI USD per day", u, "llm_usd_per_day", "any")),
      err, h("div", { class: "actions" }, h("button", {}, "Save limits")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = new FormData(form);
      const num = (k) => (f.get(k) === "" ? null : Number(f.get(k)));
      act(form.querySelector("button"), err, async () => { await api(`/api/users/${u.id}`, { method: "PATCH", json: { videos_per_day: num("videos_per_day"), minutes_per_day: num("minutes_per_day"), llm_usd_per_day: num("llm_usd_per_day") } }); announce("limits saved"); });
    });
    return form;
  });
  const err = errorBox("new-user-error");
  const create = h("form", { class: "card", "aria-label": "Add a user" }, h("h2", {}, "Add a user"),
    h("div", { class: "field-row" }, field("Email", { name: "email", type: "email", required: true }), field("Password", { name: "password", type: "password", minlength: 8, required: true, autocomplete: "new-password" })),
    h("label", { class: "inline" }, h("input", { type: "checkbox", name: "is_admin" }), "Administrator"), err,
    h("div", { class: "actions" }, h("button", { class: "primary" }, "Add user")));
  create.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(create);
    act(create.querySelector("button"), err, async () => { await api("/api/users", { method: "POST", json: { email: f.get("email"), password: f.get("password"), is_admin: f.get("is_admin") === "on" } }); announce("user added"); view.replaceChildren(); usagePage(view); });
  });
  view.append(h("h2", {}, "Users and their limits"), ...rows, create);
}
