// Review: a video's clips ranked by score, each with a player (the render, or the source segment before it),
// score, sub-scores, reason and words; approve / reject / edit with the keyboard (j k a r e).
import { act, announce, api, badge, errorBox, fmtSeconds, followJob, h } from "./dom.js";
import { onLeave } from "./app.js";
import { jobsPanel } from "./page-library.js";
import { clipResults } from "./analytics.js";

export function clipSrc(clip) {
  return clip.has_video ? `/api/clips/${clip.id}/download?v=${encodeURIComponent(clip.rendered_at || "")}`
    : `/api/videos/${clip.video_id}/source#t=${clip.start.toFixed(2)},${clip.end.toFixed(2)}`;
}

export function player(clip, label) {
  return h("video", { class: "player", controls: true, preload: "metadata", src: clipSrc(clip), "aria-label": label || `Preview of clip ${clip.id}`,
    poster: clip.has_thumbnail ? `/api/clips/${clip.id}/thumbnail` : null });
}

/** Approve, and render when the clip has no render yet; resolves when any render finished. */
export async function approveAndRender(clip, onJob) {
  const out = await api(`/api/clips/${clip.id}/approve?render=true`, { method: "POST" });
  if (out.render_job) { const final = await followJob(out.render_job.id, onJob || (() => {})); if (final && final.status !== "succeeded") throw new Error(`the render failed: ${final.error || final.status}`); }
  return out;
}

function clipCard(clip, rank, refresh) {
  const err = errorBox(`clip-${clip.id}-error`);
  const progress = h("progress", { max: 100, value: 0, hidden: true, "aria-label": `Render progress of clip ${clip.id}` });
  const name = clip.title || `clip ${clip.id}`;
  const approve = h("button", { type: "button", class: "primary", "aria-label": `Approve “${name}”`, "aria-keyshortcuts": "a",
    onclick: (e) => act(e.target, err, async () => { progress.hidden = false; await approveAndRender(clip, (j) => { progress.value = j.overall; }); announce(`clip ${clip.id} approved`); refresh(); }) }, "Approve");
  const reject = h("button", { type: "button", "aria-label": `Reject “${name}”`, "aria-keyshortcuts": "r",
    onclick: (e) => act(e.target, err, async () => { await api(`/api/clips/${clip.id}/reject`, { method: "POST" }); announce(`clip ${clip.id} rejected`); refresh(); }) }, "Reject");
  if (clip.status === "rejected") { approve.textContent = "Approve after all"; approve.setAttribute("aria-label", `Approve after all “${name}”`); }
  // only what applies to the clip's state (scheduled and published clips are changed through their posts)
  const actionsFor = (st) => st === "scheduled" || st === "published" ? [h("a", { class: "button", href: `#/posts?clip=${clip.id}` }, `Posts of “${name}”`)]
    : st === "rejected" ? [approve]
      : st === "approved" || st === "rendered" ? [h("a", { class: "button primary", href: `#/posts?clip=${clip.id}`, "aria-label": `Schedule “${name}”` }, "Schedule…"), reject]
        : [approve, reject];
  const platforms = Object.entries(clip.platform_captions || {});
  const results = h("div", {});
  if (clip.status === "published") clipResults(clip).then((box) => results.replaceChildren(box));
  return h("article", { class: "card clip", tabindex: 0, id: `clip-${clip.id}`, "aria-label": `Clip ${rank}: ${name}, score ${clip.score.toFixed(0)}, ${clip.status}` },
    h("div", {}, player(clip)),
    h("div", {},
      h("div", { class: "meta" }, h("span", { class: "score", title: "score" }, clip.score.toFixed(0)), badge(clip.status),
        h("span", {}, `${fmtSeconds(clip.start)}–${fmtSeconds(clip.end)} (${(clip.end - clip.start).toFixed(1)} s)`), h("span", { class: "plays" }, clip.has_video ? `plays render v${clip.render_version || 1}` : "plays the source (not rendered)")),
      h("h2", {}, clip.title || "(no title)"),
      h("div", { class: "scores", "aria-label": "sub-scores" }, Object.entries(clip.sub_scores || {}).map(([k, v]) => h("span", {}, `${k}: ${Number(v).toFixed(0)}`))),
      clip.reason ? h("p", {}, h("strong", {}, "Why: "), clip.reason) : "",
      clip.caption ? h("p", {}, h("strong", {}, "Caption: "), clip.caption) : "",
      clip.hashtags.length ? h("p", {}, clip.hashtags.map((t) => `#${t.replace(/^#+/, "")}`).join(" ")) : "",
      platforms.length ? h("details", {}, h("summary", {}, "Per-platform captions"), platforms.map(([p, c]) => h("p", {}, h("strong", {}, `${p}: `), c))) : "",
      results, progress, err,
      h("div", { class: "actions" }, ...actionsFor(clip.status), h("a", { class: "button", href: `#/clip/${clip.id}`, "aria-label": `Edit “${name}”`, "aria-keyshortcuts": "e" }, "Edit"))));
}

export async function videoPage(view, { id }) {
  const video = await api(`/api/videos/${id}`);
  const jobs = h("div", { id: "jobs" });
  const list = h("div", { id: "clips" });
  const err = errorBox("analyze-error");
  const analyze = h("button", { type: "button", onclick: (e) => act(e.target, err, async () => { await api(`/api/videos/${id}/analyze`, { method: "POST", json: {} }); await jobsPanel(jobs, `&video=${id}`, draw); }) }, "Analyze again");
  view.append(h("h1", {}, video.title || `Video ${id}`),
    h("p", { class: "meta" }, h("span", {}, fmtSeconds(video.duration)), h("span", {}, video.source), h("a", { href: "#/library" }, "Back to the library")),
    h("h2", {}, "Processing"), jobs, h("div", { class: "actions" }, analyze), err,
    h("h2", {}, "Clips, best first"),
    h("p", { class: "note" }, "Keys: j / k next and previous clip, a approve, r reject, e edit."), list);

  async function draw() {
    const clips = await api(`/api/clips?video=${id}&sort=score&limit=100`);
    list.replaceChildren(...(clips.items.length ? clips.items.map((c, i) => clipCard(c, i + 1, draw))
      : [h("p", { class: "note" }, "No clips yet: they appear here when the analysis finishes.")]));
  }
  const keys = (e) => {
    if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
    const cards = [...list.querySelectorAll("article.clip")];
    if (!cards.length) return;
    const current = document.activeElement.closest("article.clip");
    const i = cards.indexOf(current);
    const go = (n) => { const c = cards[Math.max(0, Math.min(cards.length - 1, n))]; c.focus(); c.scrollIntoView({ block: "nearest" }); };
    if (e.key === "j") go(i + 1);
    else if (e.key === "k") go(i - 1);
    else if (current && e.key === "a") current.querySelector('button[aria-keyshortcuts="a"]')?.click();
    else if (current && e.key === "r") current.querySelector('button[aria-keyshortcuts="r"]')?.click();
    else if (current && e.key === "e") current.querySelector('a[aria-keyshortcuts="e"]')?.click();
    else return;
    e.preventDefault();
  };
  document.addEventListener("keydown", keys);
  onLeave(() => document.removeEventListener("keydown", keys));
  await Promise.all([draw(), jobsPanel(jobs, `&video=${id}`, draw)]);
}
