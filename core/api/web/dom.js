// Small DOM and API helpers shared by every page. No framework: h() builds elements, api() calls the JSON API.

export class ApiError extends Error {
  constructor(status, message, hint, detail) { super(message); this.status = status; this.hint = hint; this.detail = detail; }
  get text() { return this.hint ? `${this.message}\n${this.hint}` : this.message; }
}

/** h("button", {type: "button", onclick}, "Label") — attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

let onUnauthorized = () => {};
export function setUnauthorized(fn) { onUnauthorized = fn; }

/** Call the API; a non-2xx answer throws ApiError with the server's message and hint. */
export async function api(path, { method = "GET", json, body, auth = true } = {}) {
  const options = { method, credentials: "same-origin", headers: {} };
  if (json !== undefined) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(json); }
  else if (body !== undefined) options.body = body;
  const response = await fetch(path, options);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const err = data && data.error;
    if (response.status === 401 && auth) onUnauthorized();
    throw new ApiError(response.status, err ? err.message : response.statusText, err && err.detail && err.detail.hint, err && err.detail);
  }
  return data;
}

/** Run ``work`` with ``button`` disabled, showing any error in ``errorEl`` (next to what caused it). */
export async function act(button, errorEl, work) {
  if (errorEl) errorEl.textContent = "";
  if (button) button.disabled = true;
  try { return await work(); }
  catch (e) { if (errorEl) errorEl.textContent = e.text || e.message; else announce(e.text || e.message); return undefined; }
  finally { if (button) button.disabled = false; }
}

export function announce(text) { const s = $("#status"); s.textContent = ""; setTimeout(() => { s.textContent = text; }, 30); }

export const errorBox = (id) => h("p", { class: "error", role: "alert", id });
export const badge = (status) => h("span", { class: `badge s-${status}` }, status);
export const fmtSeconds = (s) => { s = Math.max(0, Math.round(s)); const m = Math.floor(s / 60); return `${m}:${String(s % 60).padStart(2, "0")}`; };
export const fmtTime = (iso) => iso ? new Date(iso.endsWith("Z") || iso.includes("+") ? iso : iso + "Z").toLocaleString() : "";
export const parseTime = (iso) => new Date(iso.endsWith("Z") || /[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z");

/** A labelled input: field("Email", {name: "email", type: "email"}). */
export function field(label, { options, value, ...attrs }, tag = "input") {
  const id = attrs.id || `f-${attrs.name}-${Math.random().toString(36).slice(2, 8)}`;
  const control = tag === "select"
    ? h("select", { ...attrs, id }, ...(options || []).map(([v, t]) => h("option", { value: v, selected: String(value) === String(v) }, t)))
    : h(tag, { ...attrs, id });
  if (tag !== "select" && value !== undefined && value !== null) control.value = value;
  return h("label", { for: id }, label, " ", control);
}

/** Follow a job over SSE; calls onUpdate(job) on each change and resolves with the final job. */
export function followJob(jobId, onUpdate) {
  return new Promise((resolve) => {
    const source = new EventSource(`/api/jobs/${jobId}/events`);
    source.addEventListener("progress", (e) => onUpdate(JSON.parse(e.data)));
    source.addEventListener("end", (e) => { source.close(); const j = JSON.parse(e.data); onUpdate(j); resolve(j); });
    source.onerror = () => { source.close(); api(`/api/jobs/${jobId}`).then((j) => { onUpdate(j); resolve(j); }, () => resolve(null)); };
  });
}

/** Every item of a paged list (``path`` without limit/offset): asks page after page until ``total`` is reached. */
export async function allPages(path, size = 100) {
  const items = [];
  const sep = path.includes("?") ? "&" : "?";
  for (let offset = 0, total = 1; offset < total;) {
    const page = await api(`${path}${sep}limit=${size}&offset=${offset}`);
    items.push(...page.items);
    total = page.total;
    if (!page.items.length) break;  // the list shrank while paging
    offset += page.items.length;
  }
  return { items, total: items.length };
}
