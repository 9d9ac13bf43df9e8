// Accounts: OAuth connect in the browser (the server's own callback brings it back here), folder/webhook by
// form, status ok / expiring / reconnect with Reconnect and Disconnect.
import { act, announce, api, badge, errorBox, field, fmtTime, h } from "./dom.js";

const NICE = { youtube: "YouTube", tiktok: "TikTok", instagram: "Instagram", folder: "Folder", webhook: "Webhook" };
const nice = (p) => NICE[p] || p;
const connectUrl = (p) => `/api/accounts/connect/${encodeURIComponent(p)}?studio=true`;

export async function accountsPage(view, { params }) {
  const [accounts, platforms] = await Promise.all([api("/api/accounts?limit=100"), api("/api/accounts/platforms")]);
  const oauth = new Map(platforms.map((p) => [p.name, p]));
  const flash = h("div", { role: "status" });
  const joined = accounts.items.find((a) => String(a.id) === params.get("connected"));
  if (params.get("connected")) flash.append(h("p", { class: "card" }, joined ? `${nice(joined.platform)}: ${joined.name || joined.remote_id} connected.` : `Account ${params.get("connected")} connected.`));
  if (params.get("error")) flash.append(h("p", { class: "error card", role: "alert" }, `The connection failed: ${params.get("error")}`));
  const list = h("div", { id: "accounts" });
  const draw = (items) => list.replaceChildren(...(items.length ? items.map((a) => {
    const err = errorBox(`account-${a.id}-error`);
    const isOauth = oauth.get(a.platform)?.oauth;
    return h("div", { class: "card", id: `account-${a.id}` },
      h("div", { class: "meta" }, h("strong", {}, `${nice(a.platform)}: ${a.name || a.remote_id}`), badge(a.status),
        a.token_expires_at ? h("span", {}, `token until ${fmtTime(a.token_expires_at)}`) : ""),
      a.status === "reconnect" ? h("p", { class: "note" }, "The platform no longer accepts this connection: reconnect it to keep posting.") : "",
      a.status === "expiring" ? h("p", { class: "note" }, "The connection expires soon (within 7 days) and the platform does not extend it: reconnect it to keep posting.") : "",
      err, h("div", { class: "actions" },
        isOauth ? h("a", { class: "button", href: connectUrl(a.platform), "aria-label": `Reconnect ${nice(a.platform)} ${a.name}` }, "Reconnect") : "",
        h("button", { type: "button", "aria-label": `Disconnect ${nice(a.platform)} ${a.name}`, onclick: (e) => act(e.target, err, async () => {
          if (!confirm(`Disconnect ${nice(a.platform)} ${a.name}? Its schedules are deleted too.`)) return;
          await api(`/api/accounts/${a.id}`, { method: "DELETE" }); announce("disconnected"); refresh(); }) }, "Disconnect")));
  }) : [h("p", { class: "note" }, "No account yet: connect one below.")]));
  const refresh = async () => draw((await api("/api/accounts?limit=100")).items);
  draw(accounts.items);

  // a platform whose publisher cannot build its OAuth client says why (usually: no client id configured)
  const connectors = platforms.filter((p) => p.oauth || p.error).map((p) => p.oauth && p.configured
    ? h("a", { class: "button primary", href: connectUrl(p.name) }, `Connect ${nice(p.name)}`)
    : h("p", { class: "note" }, h("strong", {}, `${nice(p.name)}: `), p.error || `set publishers.${p.name}.client_id in the configuration to connect.`));
  const formErr = errorBox("account-form-error");
  const plain = platforms.filter((p) => !p.oauth && !p.error);
  const form = h("form", { class: "card", id: "account-form", "aria-label": "Add a folder or webhook account" },
    h("h2", {}, "Add a folder or webhook account"),
    h("div", { class: "field-row" },
      field("Kind", { name: "platform", options: plain.map((p) => [p.name, nice(p.name)]) }, "select"),
      field("Name", { name: "name", maxlength: 200, placeholder: "e.g. outbox" })),
    h("p", { class: "note" }, "Where files go (the folder path or webhook URL) is set in the configuration's publishers section."),
    formErr, h("div", { class: "actions" }, h("button", { class: "primary" }, "Add account")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(form);
    act(form.querySelector("button"), formErr, async () => { await api("/api/accounts", { method: "POST", json: { platform: f.get("platform"), name: f.get("name") || null } }); form.reset(); announce("account added"); refresh(); });
  });
  view.append(h("h1", {}, "Accounts"), flash, list, h("h2", {}, "Connect a platform"), h("div", { class: "connectors" }, connectors), form);
}
