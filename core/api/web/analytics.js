// Post analytics in the studio: views and engagement per post (calendar, posts list) and per clip (review), from
// the engine's summaries (GET /api/accounts/{id}/metrics, /api/clips/{id}/metrics). Only published posts have numbers.
import { api, h } from "./dom.js";

/** Engagement = the interactions a platform reports (likes, comments, shares, saves), summed. */
export const ENGAGEMENT = ["likes", "comments", "shares", "saves"];
const num = (n) => Math.round(n).toLocaleString();

export function engagement(latest) { return ENGAGEMENT.reduce((n, k) => n + (Number(latest[k]) || 0), 0); }

/** "1,234 views · 56 engagements", or what is known when no number was collected yet. */
export function resultsText(latest, status, detail) {
  if (latest && Object.keys(latest).length) {
    const parts = [];
    if (latest.views !== undefined) parts.push(`${num(latest.views)} views`);
    parts.push(`${num(engagement(latest))} engagements`);
    return parts.join(" · ");
  }
  if (status && status !== "ok" && status !== "not collected") return `no numbers yet (${detail || status})`;
  return "no numbers collected yet";
}

/** Summaries of the published posts among ``posts``: post id → summary (one request per account). */
export async function postSummaries(posts) {
  const accounts = [...new Set(posts.filter((p) => p.status === "published").map((p) => p.account_id))];
  const out = new Map();
  await Promise.all(accounts.map(async (id) => {
    try { for (const s of (await api(`/api/accounts/${id}/metrics`)).posts) out.set(s.post_id, s); } catch { /* account gone */ }
  }));
  return out;
}

/** The results cell of a post: its numbers, an empty state, or nothing before it is published. */
export function postResults(post, summaries) {
  if (post.status !== "published") return h("span", { class: "note" }, "after publishing");
  const s = summaries.get(post.id);
  return h("span", { class: "results", "data-post-results": post.id }, resultsText(s && s.latest, s && s.status, s && s.detail));
}

/** A clip's results in review: the sum over its published posts. */
export async function clipResults(clip) {
  const box = h("p", { class: "results", "data-clip-results": clip.id });
  if (clip.status !== "published") return box;
  try {
    const m = await api(`/api/clips/${clip.id}/metrics`);
    const withNumbers = m.posts.filter((p) => Object.keys(p.latest).length);
    box.append(h("strong", {}, "Results: "), withNumbers.length
      ? `${resultsText(m.totals)} over ${m.posts.length} post${m.posts.length === 1 ? "" : "s"}`
      : `${resultsText(null)} (${m.posts.length} published post${m.posts.length === 1 ? "" : "s"})`);
  } catch (e) { box.append(`results unavailable: ${e.text || e.message}`); }
  return box;
}
