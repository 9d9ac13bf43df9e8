// The studio's entry: a hash router (#/page/id?query), the header, and first-run/login handling.
import { $, api, h, setUnauthorized } from "./dom.js";
import { loginPage, startPage } from "./page-auth.js";
import { libraryPage } from "./page-library.js";
import { videoPage } from "./page-review.js";
import { clipPage } from "./page-edit.js";
import { accountsPage } from "./page-accounts.js";
import { schedulesPage } from "./page-schedules.js";
import { calendarPage, postsPage } from "./page-calendar.js";
import { usagePage } from "./page-usage.js";

const PAGES = {
  login: loginPage, start: startPage, library: libraryPage, video: videoPage, clip: clipPage,
  accounts: accountsPage, schedules: schedulesPage, calendar: calendarPage, posts: postsPage, usage: usagePage,
};
export const session = { user: null };
let cleanup = [];

/** Register something to stop when the page changes (event streams, timers). */
export function onLeave(fn) { cleanup.push(fn); }

function parseHash() {
  const [path, query] = (location.hash.replace(/^#\/?/, "") || "library").split("?");
  const [name, id] = path.split("/");
  return { name: name || "library", id, params: new URLSearchParams(query || "") };
}

function setHeader() {
  const user = session.user;
  $("#who").textContent = user ? user.email : "";
  $("#logout").hidden = !user;
  $("#nav").hidden = !user;
}

async function route() {
  for (const fn of cleanup.splice(0)) { try { fn(); } catch { /* already stopped */ } }
  const { name, id, params } = parseHash();
  if (!session.user && name !== "login") {
    session.user = (await api("/api/setup", { auth: false })).user;  // never a 401 (no console error)
    if (!session.user) { location.hash = "#/login"; return; }
  }
  setHeader();
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.getAttribute("href") === `#/${name}`) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  const mine = ++generation;
  const view = $("#view");
  const fresh = document.createElement("div");
  view.replaceChildren(fresh);
  try {
    await (PAGES[name] || libraryPage)(fresh, { id, params });
  } catch (e) {
    if (mine !== generation) return;
    fresh.append(h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, e.text || e.message));
  }
  if (mine !== generation) return;  // a newer page replaced this one while it loaded
  document.title = `${fresh.querySelector("h1")?.textContent || "Studio"} · Clipcast`;
}
let generation = 0;

export function loggedIn(user, first = false) {
  session.user = user;
  location.hash = first ? "#/start" : "#/library";
}

setUnauthorized(() => { if (session.user) { session.user = null; setHeader(); location.hash = "#/login"; } });
$("#logout").addEventListener("click", async () => {
  try { await api("/api/auth/logout", { method: "POST" }); } catch { /* the session is gone either way */ }
  session.user = null;
  setHeader();
  location.hash = "#/login";
});
window.addEventListener("hashchange", () => { route(); $("#view").focus({ preventScroll: true }); });
route();
