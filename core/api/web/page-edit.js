// Edit one clip: words (title, caption, hashtags, per-platform captions), trim on the transcript, fix a
// mis-heard caption word, style (caption style, reframe, aspect, brand kit, platform preset, music, caption
// position, hook title card, emoji, edit export), title variant, Render / Re-render.
import { act, announce, api, errorBox, field, fmtSeconds, followJob, h } from "./dom.js";
import { clipSrc, player } from "./page-review.js";

const PLATFORMS = ["youtube", "tiktok", "instagram"];

export async function clipPage(view, { id }) {
  const [clip, words, styles] = await Promise.all([api(`/api/clips/${id}`), api(`/api/clips/${id}/words?pad=15`), api("/api/clips/styles")]);
  let current = clip;
  const opts = clip.render_options || {};
  const preview = player(clip, "Clip preview");
  const status = h("p", { class: "note", id: "clip-state" });
  const actions = h("div", { class: "actions", id: "clip-actions" });
  const versionNote = h("p", { class: "note", id: "version-note" });
  const approveErr = errorBox("approve-error");
  const drawState = () => {
    const render = current.has_video
      ? `render v${current.render_version || 1} ready${current.rendered_duration ? ` (${current.rendered_duration.toFixed(1)} s)` : ""}`
      : "no render yet: the player shows the source";
    status.replaceChildren(h("span", { class: `state s-${current.status}` }, current.status), ` · ${render}`);
    const src = clipSrc(current);
    if (preview.getAttribute("src") !== src) preview.src = src;
    drawActions();
  };
  // only what applies to the clip's state: approve/reject before posting, its posts once scheduled or published
  const drawActions = () => {
    const st = current.status;
    const posted = st === "scheduled" || st === "published";
    const out = [];
    if (st === "proposed" || st === "rejected") out.push(h("button", { type: "button", id: "approve", class: "primary", onclick: (e) => act(e.target, approveErr, async () => {
      const res = await api(`/api/clips/${id}/approve?render=true`, { method: "POST" });
      current = res; drawState();
      if (res.render_job) await watchRender(res.render_job);
      announce("approved");
    }) }, st === "rejected" ? "Approve after all" : "Approve"));
    if (st === "proposed") out.push(h("button", { type: "button", id: "reject", onclick: (e) => act(e.target, approveErr, async () => {
      current = await api(`/api/clips/${id}/reject`, { method: "POST" }); drawState(); announce("rejected");
    }) }, "Reject"));
    if (st === "approved" || st === "rendered") out.push(h("a", { class: "button primary", href: `#/posts?clip=${id}` }, "Schedule…"));
    if (posted) out.push(h("a", { class: "button", href: `#/posts?clip=${id}` }, `Posts of this clip (${st})`));
    actions.replaceChildren(...out);
    versionNote.textContent = posted
      ? `This clip is ${st}. Trim, word fixes and style changes make a new render version (v${(current.render_version || 1) + 1}); ` +
        `its ${st} posts keep render v${current.render_version || 1} and the words they were scheduled with (change a scheduled post's words on the Posts page).`
      : current.has_video ? "Saving a new trim, word fix or style renders a new version; the approval stays." : "";
  };

  // --- words
  const textErr = errorBox("text-error");
  const text = h("form", { class: "card", id: "clip-text", "aria-label": "Title, caption and hashtags" }, h("h2", {}, "Words"),
    field("Title", { name: "title", value: clip.title, maxlength: 300 }),
    field("Caption", { name: "caption", value: clip.caption, maxlength: 5000 }, "textarea"),
    field("Hashtags (separated by spaces)", { name: "hashtags", value: clip.hashtags.map((t) => `#${t.replace(/^#+/, "")}`).join(" ") }),
    h("details", { open: Object.keys(clip.platform_captions || {}).length > 0 }, h("summary", {}, "Per-platform captions (instead of the caption there)"),
      PLATFORMS.map((p) => field(`Caption on ${p}`, { name: `pc-${p}`, value: (clip.platform_captions || {})[p] || "" }, "textarea"))),
    textErr, h("div", { class: "actions" }, h("button", { class: "primary" }, "Save words")));
  text.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(text);
    const platform_captions = {};
    for (const p of PLATFORMS) { const v = String(f.get(`pc-${p}`) || "").trim(); if (v) platform_captions[p] = v; }
    act(text.querySelector("button"), textErr, async () => {
      current = await api(`/api/clips/${id}`, { method: "PATCH", json: {
        title: f.get("title"), caption: f.get("caption"), platform_captions,
        hashtags: String(f.get("hashtags")).split(/[\s,]+/).filter(Boolean) } });
      announce("words saved");
    });
  });

  // --- trim and word fixes on the transcript
  let start = clip.start, end = clip.end, mode = "start";
  const fixes = { ...(opts.word_fixes || {}) };
  const bounds = h("p", { id: "trim-bounds" });
  const trimPreview = h("video", { class: "player trim", controls: true, preload: "metadata", "aria-label": "Preview of the new bounds" });
  const fixBox = h("div", { id: "fix-box" });
  const trimErr = errorBox("trim-error");
  const wordList = h("div", { class: "words", role: "group", "aria-label": "Transcript words" });
  const drawWords = () => {
    bounds.textContent = `Start ${fmtSeconds(start)} (${start.toFixed(2)} s) · end ${fmtSeconds(end)} (${end.toFixed(2)} s) · ${(end - start).toFixed(1)} s`;
    trimPreview.src = `/api/videos/${clip.video_id}/source#t=${start.toFixed(2)},${end.toFixed(2)}`;
    wordList.replaceChildren(...words.map((w, i) => {
      const key = w.start.toFixed(2);
      const shown = fixes[key] || w.text;
      const inside = w.end > start + 0.01 && w.start < end - 0.01;
      return h("button", { type: "button", class: `${inside ? "in" : ""} ${fixes[key] ? "fixed" : ""}`, "data-i": i,
        "aria-pressed": inside ? "true" : "false", "aria-label": `${shown} at ${w.start.toFixed(2)} s${fixes[key] ? ` (heard “${w.heard}”)` : ""}`,
        onclick: () => pick(i) }, shown);
    }));
  };
  const pick = (i) => {
    const w = words[i];
    if (mode === "start") { start = w.start; if (end - start < 1) end = Math.min(words[words.length - 1].end, start + 1); }
    else if (mode === "end") { end = w.end; if (end - start < 1) start = Math.max(0, end - 1); }
    else {
      const key = w.start.toFixed(2);
      const input = h("input", { id: "fix-word", value: fixes[key] || w.text, maxlength: 100 });
      const save = h("button", { type: "button", class: "primary", onclick: () => {
        const v = input.value.trim();
        if (v && v !== w.heard) fixes[key] = v; else delete fixes[key];
        fixBox.replaceChildren(); drawWords();
      } }, "Use this word");
      fixBox.replaceChildren(h("label", { for: "fix-word" }, `Correct “${w.heard}” at ${w.start.toFixed(2)} s`), input, " ", save);
      input.focus();
      return;
    }
    drawWords();
  };
  const modeRadio = (value, label) => h("label", { class: "inline" }, h("input", { type: "radio", name: "word-mode", value, checked: value === mode, onchange: () => { mode = value; } }), label);
  const trimSave = h("button", { type: "button", class: "primary", onclick: (e) => act(e.target, trimErr, async () => {
    const out = await api(`/api/clips/${id}`, { method: "PATCH", json: { start, end, word_fixes: fixes } });
    current = out; drawState();
    if (out.render_job) await watchRender(out.render_job);
    announce("trim and words saved");
  }) }, "Save trim and word fixes");
  const trim = h("section", { class: "card", "aria-labelledby": "trim-title" }, h("h2", { id: "trim-title" }, "Trim and fix words"),
    h("fieldset", {}, h("legend", {}, "A click on a word"), modeRadio("start", "sets the start"), modeRadio("end", "sets the end"), modeRadio("fix", "corrects the word")),
    bounds, wordList, fixBox, trimPreview, trimErr, h("div", { class: "actions" }, trimSave));

  // --- style and render
  const styleErr = errorBox("style-error");
  const choice = (label, name, values, value) => field(label, { name, value: value ?? "", options: [["", `default (${styles.defaults[name] ?? "none"})`], ...values.map((v) => [v, v])] }, "select");
  // On/off choices: "" keeps the default (the configuration's, or the caption style's).
  const onOff = (label, name, value) => field(label, { name, value: value === undefined || value === null ? "" : String(value),
    options: [["", `default (${styles.defaults[name] === null || styles.defaults[name] === undefined ? "style" : styles.defaults[name] ? "on" : "off"})`], ["true", "on"], ["false", "off"]] }, "select");
  const variants = clip.title_variants || [];
  const variantChoice = variants.length > 1 ? field("Title variant", { name: "title_variant", value: String(variants.indexOf(clip.title) + 1),
    options: [["0", "as written"], ...variants.map((v, i) => [String(i + 1), v])] }, "select") : null;
  const renderProgress = h("progress", { max: 100, value: 0, hidden: true, "aria-label": "Render progress" });
  const renderButton = h("button", { type: "button", class: "primary", id: "render" }, clip.has_video ? "Re-render" : "Render");
  // a still of the clip's start with the picked settings, made by the server before anything is rendered
  const still = h("img", { class: "still", id: "style-still", alt: "Preview frame with the picked style", width: 260, height: 462 });
  const stillNote = h("p", { class: "note", id: "still-note", "aria-live": "polite" });
  const stillErr = errorBox("still-error");
  const style = h("form", { class: "card", id: "clip-style", "aria-label": "Style" }, h("h2", {}, "Style"),
    h("div", { class: "still-box" }, h("div", {}, still, stillNote, stillErr),
      h("div", {}, h("div", { class: "field-row" },
        choice("Caption style", "caption_style", styles.caption_styles, opts.caption_style),
        choice("Reframe", "reframe", styles.reframes, opts.reframe),
        choice("Layout", "layout", styles.layouts, opts.layout),
        choice("Aspect", "aspect", styles.aspects, opts.aspect),
        choice("Brand kit", "brand", styles.brands, opts.brand),
        choice("Platform preset", "platform", styles.platforms, opts.platform),
        choice("Music", "music", styles.music, opts.music),
        choice("Caption position", "caption_position", styles.caption_positions, opts.caption_position)),
      h("div", { class: "field-row" },
        onOff("Hook title card", "hook_title", opts.hook_title),
        onOff("Emoji for keywords", "auto_emoji", opts.auto_emoji),
        onOff("Export the edit (FCPXML, EDL)", "export_edit", opts.export_edit),
        variantChoice),
      h("p", { class: "note" }, "The frame shows the clip's start with these settings, before rendering. Saving a new style of a rendered clip renders a new version; its approval stays."),
      styleErr, renderProgress, h("div", { class: "actions" }, h("button", {}, "Save style"), renderButton))));
  const styleBody = () => {
    const f = new FormData(style); const out = {};
    for (const k of ["caption_style", "reframe", "layout", "aspect", "brand", "platform", "music", "caption_position"]) out[k] = f.get(k) || null;
    for (const k of ["hook_title", "auto_emoji", "export_edit"]) out[k] = f.get(k) ? f.get(k) === "true" : null;
    return out;
  };
  // The title variant goes with Save style only (POST .../render takes render options, not titles).
  const variantOf = () => { const v = Number(new FormData(style).get("title_variant") || 0); return v > 0 && variants[v - 1] !== current.title ? { title_variant: v } : {}; };
  let stillTimer = null;
  const showStill = () => {  // the still knows the picture's settings only
    const picked = styleBody();
    const q = new URLSearchParams(["caption_style", "reframe", "aspect", "brand"].filter((k) => picked[k]).map((k) => [k, picked[k]]));
    const url = `/api/clips/${id}/preview-frame` + (q.toString() ? `?${q}` : "");
    stillErr.textContent = ""; stillNote.textContent = "making the preview frame…";
    still.onload = () => { stillNote.textContent = "preview frame (clip start)"; };
    still.onerror = () => {  // the server's reason, next to the pickers
      stillNote.textContent = "";
      api(url).catch((e) => { stillErr.textContent = `no preview frame: ${e.text || e.message}`; });
    };
    still.src = url;
  };
  style.addEventListener("change", () => { clearTimeout(stillTimer); stillTimer = setTimeout(showStill, 250); });
  style.addEventListener("submit", (e) => {
    e.preventDefault();
    act(style.querySelector("button"), styleErr, async () => { const out = await api(`/api/clips/${id}`, { method: "PATCH", json: { ...styleBody(), ...variantOf() } }); current = out; if (out.render_job) await watchRender(out.render_job); announce("style saved"); });
  });
  renderButton.addEventListener("click", () => act(renderButton, styleErr, async () => {
    const body = Object.fromEntries(Object.entries(styleBody()).filter(([, v]) => v !== null));
    const [job] = await api(`/api/videos/${clip.video_id}/render`, { method: "POST", json: { ...body, clip_ids: [Number(id)] } });
    await watchRender(job);
  }));
  async function watchRender(job) {
    renderProgress.hidden = false; renderProgress.value = 0;
    const final = await followJob(job.id, (j) => { renderProgress.value = j.overall; status.textContent = `rendering: ${j.stage} ${Math.round(j.overall)} %`; });
    renderProgress.hidden = true;
    current = await api(`/api/clips/${id}`);
    drawState();
    if (!final || final.status !== "succeeded") throw new Error(`the render ${final ? final.status : "stopped"}: ${(final && final.error) || "see Processing on the video page"}`);
    renderButton.textContent = "Re-render";
    announce("rendered");
  }

  view.append(h("h1", {}, `Edit: ${clip.title || `clip ${id}`}`),
    h("p", {}, h("a", { href: `#/video/${clip.video_id}` }, "Back to the clips of this video")),
    h("div", { class: "clip" }, h("div", {}, preview, status, actions, versionNote, approveErr),
      h("div", {}, text)), trim, style);
  drawState();
  drawWords();
  showStill();
}
