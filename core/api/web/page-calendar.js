// Calendar (week / month of scheduled and published posts: drag to reschedule, click to open) and the posts
// list (status, platform link, error, retry / cancel) with a form to schedule a clip.
import { act, allPages, announce, api, badge, errorBox, field, fmtTime, h, parseTime } from "./dom.js";
import { postResults, postSummaries, resultsText } from "./analytics.js";
import { postPreview } from "./post-preview.js";

const DAY = 86400000;
/** Previous / "a–b of n" / Next for a paged list of ``size`` a page; ``href(offset)`` builds each page's address. */
const pager = (offset, shown, total, size, href) => h("div", { class: "pager" },
  offset > 0 ? h("a", { class: "button", href: href(Math.max(0, offset - size)) }, "Previous page") : "",
  h("span", {}, `${offset + 1}–${offset + shown} of ${total}`),
  offset + shown < total ? h("a", { class: "button", href: href(offset + shown) }, "Next page") : "");
const startOfDay = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate());
const localInput = (d) => { const p = (n) => String(n).padStart(2, "0"); return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; };
const postName = (p, clips) => `${(clips.get(p.clip_id) || {}).title || `clip ${p.clip_id}`} → ${p.platform}`;

async function clipsById(ids) {
  const out = new Map();
  await Promise.all([...new Set(ids)].map(async (id) => { try { out.set(id, await api(`/api/clips/${id}`)); } catch { /* deleted */ } }));
  return out;
}

function postActions(p, err, done) {
  const out = [];
  if (p.status === "scheduled") out.push(h("button", { type: "button", "aria-label": `Cancel post ${p.id}`, onclick: (e) => act(e.target, err, async () => { await api(`/api/posts/${p.id}`, { method: "DELETE" }); announce(`post ${p.id} cancelled`); done(); }) }, "Cancel"));
  if (p.status === "failed") out.push(h("button", { type: "button", "aria-label": `Retry post ${p.id}`, onclick: (e) => act(e.target, err, async () => { await api(`/api/posts/${p.id}/retry`, { method: "POST" }); announce(`post ${p.id} scheduled again`); done(); }) }, "Retry"));
  // a folder post's address is a file on the server, which a browser cannot open: say where it went instead
  if (p.url && p.url.startsWith("file:")) out.push(h("span", { class: "note" }, "written to the folder account's outbox on the server"));
  else if (p.url) out.push(h("a", { href: p.url, rel: "noopener", target: "_blank" }, `Open on ${p.platform}`));
  return out;
}

function openPost(p, clips, summaries, done) {
  const err = errorBox("post-dialog-error");
  const at = field("Publish at (your time)", { name: "at", type: "datetime-local", value: localInput(parseTime(p.scheduled_at)) });
  const close = h("button", { type: "button", onclick: () => dialog.close() }, "Close");
  const dialog = h("dialog", { "aria-labelledby": "post-dialog-title" },
    h("h2", { id: "post-dialog-title" }, postName(p, clips)),
    h("p", { class: "meta" }, badge(p.status), h("span", {}, fmtTime(p.scheduled_at))),
    p.error ? h("p", { class: "error" }, p.error) : "",
    p.status === "published" ? h("p", {}, h("strong", {}, "Results: "), postResults(p, summaries)) : "",
    postPreview({ post: p }),
    p.status === "scheduled" ? h("form", { onsubmit: (e) => { e.preventDefault(); act(e.submitter, err, async () => {
      await api(`/api/posts/${p.id}`, { method: "PATCH", json: { at: new Date(at.querySelector("input").value).toISOString() } }); dialog.close(); done(); }); } },
    at, h("button", { class: "primary" }, "Reschedule")) : "",
    err, h("div", { class: "actions" }, postActions(p, err, () => { dialog.close(); done(); }), h("a", { class: "button", href: `#/clip/${p.clip_id}` }, "Open the clip"), close));
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

export async function calendarPage(view, { params }) {
  const mode = params.get("view") === "month" ? "month" : "week";
  const anchor = params.get("d") ? new Date(params.get("d") + "T00:00") : new Date();
  let first, days;
  if (mode === "week") { first = startOfDay(new Date(anchor.getTime() - ((anchor.getDay() + 6) % 7) * DAY)); days = 7; }
  else { const m = new Date(anchor.getFullYear(), anchor.getMonth(), 1); first = new Date(m.getTime() - ((m.getDay() + 6) % 7) * DAY); days = 42; }
  first = startOfDay(first);
  const last = new Date(first.getFullYear(), first.getMonth(), first.getDate() + days);
  // every post of the range, page after page (a busy month is more than one page)
  const posts = await allPages(`/api/posts?after=${encodeURIComponent(first.toISOString())}&before=${encodeURIComponent(last.toISOString())}`);
  const [clips, summaries] = await Promise.all([clipsById(posts.items.map((p) => p.clip_id)), postSummaries(posts.items)]);
  const numbers = (p) => { if (p.status !== "published") return ""; const s = summaries.get(p.id); return ` · ${resultsText(s && s.latest, s && s.status, s && s.detail)}`; };
  const err = errorBox("calendar-error");
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  const step = mode === "week" ? 7 : 31;
  const move = (n) => `#/calendar?view=${mode}&d=${iso(new Date(anchor.getTime() + n * step * DAY))}`;
  const grid = h("div", { class: "cal", id: "calendar" });
  // weekday headings are visual only: each day's group is labelled with its full date
  grid.append(...["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map((d) => h("div", { class: "dow", "aria-hidden": "true" }, d)));
  const reload = () => { view.replaceChildren(); calendarPage(view, { params }); };
  for (let i = 0; i < days; i++) {
    const day = new Date(first.getFullYear(), first.getMonth(), first.getDate() + i);
    const items = posts.items.filter((p) => startOfDay(parseTime(p.scheduled_at)).getTime() === day.getTime());
    const cell = h("div", { class: `day ${mode === "month" && day.getMonth() !== anchor.getMonth() ? "other" : ""}`, role: "group", "data-day": iso(day), "aria-label": day.toDateString() },
      h("div", { class: "date" }, day.getDate()),
      items.map((p) => h("button", { type: "button", class: `chip s-${p.status}`, draggable: "true", "data-post": p.id,
        "aria-label": `${postName(p, clips)}, ${p.status}, ${parseTime(p.scheduled_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}${numbers(p)}`,
        title: numbers(p).slice(3) || null,
        ondragstart: (e) => { e.dataTransfer.setData("text/plain", String(p.id)); },
        onclick: () => openPost(p, clips, summaries, reload) },
      `${parseTime(p.scheduled_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} ${postName(p, clips)}`,
      p.status === "published" ? h("span", { class: "chip-results" }, numbers(p).slice(3)) : "")));
    cell.addEventListener("dragover", (e) => { e.preventDefault(); cell.classList.add("over"); });
    cell.addEventListener("dragleave", () => cell.classList.remove("over"));
    cell.addEventListener("drop", (e) => {
      e.preventDefault(); cell.classList.remove("over");
      const p = posts.items.find((x) => String(x.id) === e.dataTransfer.getData("text/plain"));
      if (!p) return;
      const old = parseTime(p.scheduled_at);
      const at = new Date(day.getFullYear(), day.getMonth(), day.getDate(), old.getHours(), old.getMinutes());
      act(null, err, async () => { await api(`/api/posts/${p.id}`, { method: "PATCH", json: { at: at.toISOString() } }); announce(`post ${p.id} moved to ${at.toLocaleString()}`); reload(); });
    });
    grid.append(cell);
  }
  view.append(h("h1", {}, "Calendar"),
    h("div", { class: "pager" }, h("a", { class: "button", href: move(-1) }, "Previous"),
      h("strong", {}, mode === "week" ? `Week of ${first.toLocaleDateString()}` : anchor.toLocaleDateString([], { month: "long", year: "numeric" })),
      h("a", { class: "button", href: move(1) }, "Next"),
      h("a", { class: "button", href: `#/calendar?view=${mode === "week" ? "month" : "week"}&d=${iso(anchor)}` }, mode === "week" ? "Month view" : "Week view")),
    h("p", { class: "note" }, "Drag a post to another day to move it (same time of day), or open it to pick a time."), err, grid);
}

const POSTS_PAGE = 50;

export async function postsPage(view, { params }) {
  const clipFilter = params.get("clip");
  const status = params.get("status") || "";
  const offset = Math.max(0, Number(params.get("offset") || 0));
  const [posts, accounts, ready] = await Promise.all([
    api(`/api/posts?limit=${POSTS_PAGE}&offset=${offset}${status ? `&status=${status}` : ""}${clipFilter ? `&clip=${clipFilter}` : ""}`),
    api("/api/accounts?limit=100"),
    Promise.all(["approved", "rendered", "scheduled", "published"].map((s) => api(`/api/clips?status=${s}&sort=newest&limit=100`))).then((r) => r.flatMap((x) => x.items))]);
  const [clips, summaries] = await Promise.all([clipsById(posts.items.map((p) => p.clip_id)), postSummaries(posts.items)]);
  for (const c of ready) clips.set(c.id, c);
  const reload = () => { view.replaceChildren(); postsPage(view, { params }); };

  const err = errorBox("post-form-error");
  const form = h("form", { class: "card", id: "post-form", "aria-label": "Schedule a clip" }, h("h2", {}, "Schedule a clip"),
    ready.length && accounts.items.length ? h("div", { class: "field-row" },
      field("Clip", { name: "clip_id", value: clipFilter || "", options: ready.map((c) => [c.id, `${c.title || `clip ${c.id}`} (score ${c.score.toFixed(0)})`]) }, "select"),
      field("Account", { name: "account_id", options: accounts.items.map((a) => [a.id, `${a.platform}: ${a.name || a.remote_id}`]) }, "select"),
      field("When (your time; empty: the next free slot)", { name: "at", type: "datetime-local" }))
      : h("p", { class: "note" }, !accounts.items.length ? "Connect an account first (Accounts)." : "Approve a clip first (Library → a video)."),
    err, h("div", { class: "actions" }, h("button", { class: "primary", disabled: !(ready.length && accounts.items.length) }, "Schedule")));
  // what the chosen clip will look like on the chosen account's platform, before it is scheduled
  const previewSlot = h("div", { id: "post-preview" });
  const showPreview = () => {
    const f = new FormData(form);
    if (f.get("clip_id") && f.get("account_id")) previewSlot.replaceChildren(postPreview({ clipId: f.get("clip_id"), accountId: f.get("account_id") }));
  };
  if (ready.length && accounts.items.length) {
    form.querySelector(".actions").before(previewSlot);
    for (const sel of form.querySelectorAll("select")) sel.addEventListener("change", showPreview);
    showPreview();
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { clip_id: Number(f.get("clip_id")), account_id: Number(f.get("account_id")) };
    if (f.get("at")) body.at = new Date(f.get("at")).toISOString();
    act(form.querySelector("button"), err, async () => { const p = await api("/api/posts", { method: "POST", json: body }); announce(`post ${p.id} scheduled for ${fmtTime(p.scheduled_at)}`); reload(); });
  });

  const filter = field("Show", { name: "status", value: status, options: [["", "all posts"], ...["scheduled", "uploading", "processing", "published", "failed", "cancelled"].map((s) => [s, s])] }, "select");
  filter.querySelector("select").addEventListener("change", (e) => { location.hash = `#/posts?status=${e.target.value}${clipFilter ? `&clip=${clipFilter}` : ""}`; });
  const rows = posts.items.map((p) => {
    const rerr = errorBox(`post-${p.id}-error`);
    return h("tr", { id: `post-${p.id}` }, h("td", { "data-label": "Clip" }, h("a", { href: `#/clip/${p.clip_id}` }, (clips.get(p.clip_id) || {}).title || `clip ${p.clip_id}`)),
      h("td", { "data-label": "Platform" }, p.platform), h("td", { "data-label": "When" }, fmtTime(p.scheduled_at)), h("td", { class: "post-status", "data-label": "Status" }, badge(p.status)),
      h("td", { "data-label": "Results" }, postResults(p, summaries)),
      h("td", { "data-label": "Details" }, p.error ? h("span", { class: "error" }, p.error) : "", rerr, h("div", { class: "actions" }, postActions(p, rerr, reload))));
  });
  view.append(h("h1", {}, "Posts"), form, h("h2", {}, "All posts"), filter,
    rows.length ? h("div", { class: "table-wrap" }, h("table", { class: "stack" }, h("thead", {}, h("tr", {}, ["Clip", "Platform", "When", "Status", "Views and engagement", "Details"].map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, rows)))
      : h("p", { class: "note" }, "No posts yet."),
    posts.total > posts.items.length || offset > 0 ? pager(offset, posts.items.length, posts.total, posts.limit, (off) => `#/posts?offset=${off}${status ? `&status=${status}` : ""}${clipFilter ? `&clip=${clipFilter}` : ""}`) : "");
}
