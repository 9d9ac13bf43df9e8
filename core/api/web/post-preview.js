// What a post will look like on its platform (GET /api/posts/{id}/preview, or /api/posts/preview?clip=&account=
// before scheduling): title, the text with hashtags as that platform gets them, lengths against its limits,
// privacy, the picture and the render version it publishes.
import { api, h } from "./dom.js";

/** A box that fills itself: ``{post}`` for a scheduled post, or ``{clipId, accountId}`` before scheduling. */
export function postPreview({ post, clipId, accountId }) {
  const box = h("section", { class: "card preview", "aria-label": "Post preview", "aria-live": "polite" }, h("p", { class: "note" }, "Loading the preview…"));
  const url = post ? `/api/posts/${post.id}/preview` : `/api/posts/preview?clip=${clipId}&account=${accountId}`;
  api(url).then((p) => {
    const over = (n, limit) => limit && n > limit;
    const count = (n, limit) => h("span", { class: over(n, limit) ? "error" : "note" }, limit ? `(${n} of ${limit} allowed)` : `(${n} characters)`);
    box.replaceChildren(
      h("h3", {}, `On ${p.platform}: ${p.account_name}`),
      h("div", { class: "preview-body" },
        p.thumbnail ? h("img", { src: p.thumbnail, alt: "the clip's first frame", class: "preview-thumb", width: 90, height: 160 }) : h("p", { class: "note" }, "no render yet"),
        h("div", {},
          p.title === null ? h("p", { class: "note" }, "No title on this platform.")
            : h("p", {}, h("strong", {}, "Title: "), p.title || "(none)", " ", count(p.title.length, p.title_limit)),
          h("p", {}, h("strong", {}, "Text as posted"), " ", count(p.text_length, p.text_limit)),
          h("pre", { class: "post-text" }, p.text || "(empty)"),
          h("p", {}, h("strong", {}, "Privacy: "), p.privacy || "no privacy setting on this platform"),
          h("p", { class: "note" }, p.render_version
            ? `Publishes render v${p.render_version}${p.current_version && p.current_version !== p.render_version ? ` (the clip is now at v${p.current_version}; this post keeps its own)` : ""}.`
            : "Not rendered yet."),
          p.problems.map((x) => h("p", { class: "error" }, x)),
          p.note ? h("p", { class: "note" }, p.note) : "")));
  }, (e) => box.replaceChildren(h("p", { class: "error" }, `No preview: ${e.text || e.message}`)));
  return box;
}
