// Library: upload (drag and drop, progress), add by URL, search and paging; plus the processing panel.
import { act, announce, api, badge, errorBox, field, fmtSeconds, fmtTime, followJob, h } from "./dom.js";
import { onLeave } from "./app.js";

const PAGE = 10;

/** What a person can do about a failed job, by the stage it failed in. */
const ADVICE = {
  ingest: "The video could not be read or downloaded: check the file or link, then Retry or add it again.",
  missing: "The stored original of this video is gone from the server's storage: add the video again (upload it, or its link); retrying would fail the same way.",
  download: "The link could not be downloaded: check it opens in a browser, then Retry.",
  transcribe: "Speech-to-text failed: check the stt backend in the configuration (or its API key), then Retry.",
  select: "Clip selection failed: check the llm backend in the configuration (or its API key), then Retry.",
  render: "Rendering failed: check the caption style and brand kit names, then Retry.",
  publish: "Publishing failed: check the account on the Accounts page, then Retry.",
};

/** A job that failed because the video's stored original is gone (local storage's or the API's words). */
const MISSING = /no object 'videos\/[^']*'|no stored original/;

export function jobLabel(j) {
  const what = { analyze: "Analysis", process: "Analysis and render", render: "Render", publish: "Publish" }[j.kind] || j.kind;
  return `${what} #${j.id}` + (j.video_id ? ` (video ${j.video_id})` : "");
}

/** One job as a card: overall progress, stage, queued vs running, ETA, cancel/retry; live over SSE. */
export function jobCard(job, onFinished) {
  const card = h("div", { class: "card job", id: `job-${job.id}` });
  const err = errorBox(`job-${job.id}-error`);
  let live = false;
  const draw = (j) => {
    const active = j.status === "queued" || j.status === "running";
    const bar = h("progress", { max: 100, value: j.overall, "aria-label": `${jobLabel(j)} progress` });
    const state = j.status === "queued" ? "waiting for a worker" : j.status === "running" ? `stage: ${j.stage || "starting"}` : "";
    const eta = j.eta_seconds != null ? ` · about ${fmtSeconds(j.eta_seconds)} left` : "";
    const buttons = [];
    if (active) buttons.push(h("button", { type: "button", "aria-label": `Cancel ${jobLabel(j)}`,
      onclick: (e) => act(e.target, err, async () => draw(await api(`/api/jobs/${j.id}/cancel`, { method: "POST" }))) }, "Cancel"));
    const gone = MISSING.test(j.error || "");  // Retry cannot bring a lost original back: the advice says what can
    if ((j.status === "failed" && !gone) || j.status === "cancelled") buttons.push(h("button", { type: "button", "aria-label": `Retry ${jobLabel(j)}`,
      onclick: (e) => act(e.target, err, async () => { const n = await api(`/api/jobs/${j.id}/retry`, { method: "POST" }); draw(n); watch(n); }) }, "Retry"));
    card.replaceChildren(
      h("div", { class: "meta" }, h("strong", {}, jobLabel(j)), badge(j.status), h("span", {}, state + eta), h("span", {}, `${Math.round(j.overall)} %`)),
      bar, j.message && active ? h("div", { class: "note" }, j.message) : "",
      j.status === "failed" ? h("div", { class: "error" }, `Failed${j.stage ? ` during ${j.stage}` : ""}: ${j.error || "no reason recorded"}`) : "",
      j.status === "failed" ? h("div", { class: "note" }, ADVICE[gone ? "missing" : j.stage] || "Retry resumes from the stage that failed; if it fails again, check the server log.") : "",
      err, buttons.length ? h("div", { class: "actions" }, buttons) : "");
  };
  const watch = (j) => {
    if (live || !(j.status === "queued" || j.status === "running")) return;
    live = true;
    let stopped = false;
    onLeave(() => { stopped = true; });
    followJob(j.id, (n) => { if (!stopped) draw(n); }).then((final) => {
      live = false;
      if (!stopped && final) { announce(`${jobLabel(final)} ${final.status}`); if (onFinished) onFinished(final); }
    });
  };
  draw(job);
  watch(job);
  return card;
}

export async function jobsPanel(container, query, onFinished) {
  const jobs = await api(`/api/jobs?limit=8${query}`);
  container.replaceChildren(...(jobs.items.length ? jobs.items.map((j) => jobCard(j, onFinished))
    : [h("p", { class: "note" }, "Nothing is processing.")]));
}

function uploadForm(onDone) {
  const err = errorBox("upload-error");
  const input = h("input", { type: "file", name: "file", accept: "video/*", id: "upload-file", required: true });
  const bar = h("progress", { max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const button = h("button", { class: "primary", type: "submit" }, "Upload and analyze");
  const zone = h("div", { class: "dropzone" }, h("label", { for: "upload-file" }, "Video file (or drop one here)"), input);
  const form = h("form", { class: "card", id: "upload", "aria-label": "Upload a video" }, h("h2", {}, "Upload a video"), zone, bar, err, h("div", { class: "actions" }, button));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); if (e.dataTransfer.files.length) { input.files = e.dataTransfer.files; } });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!input.files.length) { err.textContent = "choose a video file first"; return; }
    err.textContent = ""; button.disabled = true; bar.hidden = false; bar.value = 0;
    const data = new FormData(); data.append("file", input.files[0]);
    const xhr = new XMLHttpRequest();  // fetch() has no upload progress
    xhr.open("POST", "/api/videos");
    xhr.upload.onprogress = (ev) => { if (ev.lengthComputable) bar.value = (100 * ev.loaded) / ev.total; };
    xhr.onloadend = () => {
      button.disabled = false; bar.hidden = true;
      let body = null; try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) { form.reset(); announce("uploaded; analysis queued"); onDone(body); }
      else { const er = body && body.error; err.textContent = er ? er.message + (er.detail && er.detail.hint ? "\n" + er.detail.hint : "") : `upload failed (${xhr.status || "connection lost"})`; }
    };
    xhr.send(data);
  });
  return form;
}

function urlForm(onDone) {
  const err = errorBox("url-error");
  const form = h("form", { class: "card", "aria-label": "Add a video by link" }, h("h2", {}, "Add by link"),
    field("Video link", { name: "url", type: "url", placeholder: "https://…", required: true }), err,
    h("div", { class: "actions" }, h("button", { class: "primary" }, "Add and analyze")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(form.querySelector("button"), err, async () => { const out = await api("/api/videos", { method: "POST", json: { url: new FormData(form).get("url") } }); form.reset(); onDone(out); });
  });
  return form;
}

/** One watched source: what it watches, how often, whether it is paused, its last error; edit and remove. */
function sourceItem(src, onGone) {
  const li = h("li", { class: "card source", id: `source-${src.id}` });
  const err = errorBox(`source-${src.id}-error`);
  const name = `${src.kind}: ${src.target}`;
  const view = () => li.replaceChildren(
    h("div", { class: "meta" }, h("strong", {}, name), h("span", {}, src.cron ? `cron ${src.cron}` : `every ${src.interval_minutes ?? 15} min`),
      src.enabled ? "" : badge("paused"), src.last_polled_at ? h("span", {}, `checked ${fmtTime(src.last_polled_at)}`) : ""),
    src.last_error ? h("p", { class: "error" }, src.last_error) : "", err,
    h("div", { class: "actions" },
      h("button", { type: "button", "aria-label": `Edit ${name}`, onclick: edit }, "Edit"),
      h("button", { type: "button", "aria-label": `Stop watching ${name}`, onclick: (e) => act(e.target, err, async () => {
        if (!confirm(`Stop watching ${name}? Videos found already stay.`)) return;
        await api(`/api/sources/${src.id}`, { method: "DELETE" }); announce("no longer watched"); onGone(); }) }, "Remove")));
  const edit = () => {
    const form = h("form", { "aria-label": `Edit ${name}` },
      h("div", { class: "field-row" },
        field("Folder path or link", { name: "target", value: src.target, required: true }),
        field("Check every (minutes)", { name: "interval_minutes", type: "number", min: 1, value: src.interval_minutes ?? 15 })),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "enabled", checked: src.enabled }), "Watching (unchecked: paused)"),
      err, h("div", { class: "actions" }, h("button", { class: "primary" }, "Save"), h("button", { type: "button", onclick: view }, "Cancel")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = new FormData(form);
      act(form.querySelector("button"), err, async () => {
        src = await api(`/api/sources/${src.id}`, { method: "PATCH", json: { target: f.get("target"), interval_minutes: Number(f.get("interval_minutes") || 15), enabled: f.get("enabled") === "on" } });
        announce("source saved"); view();
      });
    });
    li.replaceChildren(h("strong", {}, name), form);
    form.querySelector("input").focus();
  };
  view();
  return li;
}

/** Watched sources: folders, channels, playlists and feeds whose new videos are analyzed automatically. */
async function sourcesPanel() {
  const [sources, plugins] = await Promise.all([api("/api/sources?limit=100"), api("/api/plugins")]);
  const err = errorBox("source-error");
  const list = h("ul", { id: "sources", class: "plain" });
  const draw = (items) => list.replaceChildren(...(items.length ? items.map((s) => sourceItem(s, refresh)) : [h("li", { class: "note" }, "Nothing is watched yet.")]));
  const refresh = async () => draw((await api("/api/sources?limit=100")).items);
  draw(sources.items);
  const form = h("form", { id: "source-form", "aria-label": "Watch a source" }, h("h2", {}, "Watch a source"),
    h("p", { class: "note" }, "New videos in a folder, channel, playlist or feed are analyzed as they appear."),
    h("div", { class: "field-row" },
      field("Kind", { name: "kind", options: (plugins.backends.source || []).map((k) => [k, k]) }, "select"),
      field("Folder path or link", { name: "target", required: true }),
      field("Check every (minutes)", { name: "interval_minutes", type: "number", min: 1, value: 15 })),
    err, h("div", { class: "actions" }, h("button", {}, "Watch")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(form);
    act(form.querySelector("button"), err, async () => {
      await api("/api/sources", { method: "POST", json: { kind: f.get("kind"), target: f.get("target"), interval_minutes: Number(f.get("interval_minutes") || 15) } });
      form.reset(); announce("watching"); refresh();
    });
  });
  return h("div", { class: "card" }, form, h("h3", { class: "sources-title" }, "Watched sources"), list);
}

export async function libraryPage(view, { params }) {
  const q = params.get("q") || "";
  const offset = Number(params.get("offset") || 0);
  const list = h("div", { id: "videos" });
  const jobs = h("div", { id: "jobs" });
  const reload = () => { drawList(); jobsPanel(jobs, "", reload); };
  const search = h("form", { role: "search", class: "field-row" },
    field("Search videos", { name: "q", type: "search", value: q }), h("button", {}, "Search"));
  search.addEventListener("submit", (e) => { e.preventDefault(); location.hash = `#/library?q=${encodeURIComponent(new FormData(search).get("q"))}`; });
  view.append(h("h1", {}, "Library"), h("div", { class: "grid" }, uploadForm(reload), urlForm(reload), await sourcesPanel()),
    h("h2", {}, "Processing"), jobs, h("h2", {}, "Videos"), search, list);

  async function drawList() {
    const page = await api(`/api/videos?limit=${PAGE}&offset=${offset}${q ? `&q=${encodeURIComponent(q)}` : ""}`);
    if (!page.items.length) {
      list.replaceChildren(h("p", { class: "note" }, q ? `No video matches “${q}”.` : "No videos yet: upload one or add a link above."));
      return;
    }
    const rows = page.items.map((v) => h("div", { class: "card video-row" },
      h("img", { src: `/api/videos/${v.id}/thumbnail`, alt: "", loading: "lazy", width: 120, height: 68 }),
      h("div", {},
        h("a", { href: `#/video/${v.id}` }, h("strong", {}, v.title || `video ${v.id}`)),
        h("div", { class: "meta" }, h("span", {}, fmtSeconds(v.duration)), h("span", {}, `${v.source_kind}: ${v.source}`),
          badge(v.status), h("span", {}, `${v.clips} clip${v.clips === 1 ? "" : "s"}`), h("span", { class: "hide-narrow" }, fmtTime(v.created_at))))));
    const nav = (label, off, disabled) => h("a", { class: "button", href: `#/library?offset=${off}${q ? `&q=${encodeURIComponent(q)}` : ""}`, "aria-disabled": disabled ? "true" : null, hidden: disabled }, label);
    list.replaceChildren(...rows, h("div", { class: "pager" },
      nav("Previous page", Math.max(0, offset - PAGE), offset === 0),
      h("span", {}, `${offset + 1}–${offset + page.items.length} of ${page.total}`),
      nav("Next page", offset + PAGE, offset + PAGE >= page.total)));
  }
  await Promise.all([drawList(), jobsPanel(jobs, "", reload)]);
}
