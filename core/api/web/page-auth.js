// First run (create the first administrator), login, and the getting-started checklist.
import { act, api, errorBox, field, h } from "./dom.js";
import { loggedIn, session } from "./app.js";

export async function loginPage(view) {
  if (session.user) { location.hash = "#/library"; return; }
  const setup = await api("/api/setup", { auth: false });
  if (setup.needs_admin) {
    const err = errorBox("setup-error");
    const form = h("form", { class: "card auth", "aria-labelledby": "setup-title" },
      h("h1", { id: "setup-title" }, "Welcome: create the first administrator"),
      h("p", { class: "note" }, "No user exists yet. This account manages the installation; you can add more users later."),
      field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
      field("Password (at least 8 characters)", { name: "password", type: "password", autocomplete: "new-password", required: true }),
      field("Repeat the password", { name: "again", type: "password", autocomplete: "new-password", required: true }),
      err, h("div", { class: "actions" }, h("button", { class: "primary" }, "Create administrator")));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = new FormData(form);
      if (f.get("password") !== f.get("again")) { err.textContent = "the two passwords differ"; return; }
      act(form.querySelector("button"), err, async () => {
        const out = await api("/api/setup", { method: "POST", auth: false, json: { email: f.get("email"), password: f.get("password") } });
        loggedIn(out.user, true);
      });
    });
    view.append(form);
    return;
  }
  const err = errorBox("login-error");
  const form = h("form", { class: "card auth", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in"),
    field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    err, h("div", { class: "actions" }, h("button", { class: "primary" }, "Log in")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(form);
    act(form.querySelector("button"), err, async () => {
      const out = await api("/api/auth/login", { method: "POST", auth: false, json: { email: f.get("email"), password: f.get("password") } });
      loggedIn(out.user);
    });
  });
  view.append(form);
}

export async function startPage(view) {
  const [accounts, schedules, videos] = await Promise.all([
    api("/api/accounts?limit=1"), api("/api/schedules?limit=1"), api("/api/videos?limit=1")]);
  const item = (done, href, text, why) => h("li", { class: done ? "done" : "" },
    h("a", { href }, text), done ? " (done)" : "", h("div", { class: "note" }, why));
  view.append(h("h1", {}, "Getting started"),
    h("ol", { class: "checklist" },
      item(accounts.total > 0, "#/accounts", "Connect an account", "YouTube, TikTok or Instagram, or a folder/webhook for testing."),
      item(schedules.total > 0, "#/schedules", "Set a schedule", "When clips go out: time slots, a daily cap, a minimum score."),
      item(videos.total > 0, "#/library", "Try a video", "Upload a long video or paste a link; Clipcast proposes the best clips.")),
    h("p", {}, h("a", { class: "button primary", href: "#/library" }, "Go to the library")));
}
