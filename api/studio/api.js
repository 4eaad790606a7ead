// Calls to the API from the page, with the user's key. Everything the API returns is inserted as
// text (textContent) by the modules: job data, file names and messages are untrusted.
"use strict";

const KEY_STORAGE = "videogen.apiKey";

export const $ = (id) => document.getElementById(id);

export function apiKey() {
  const input = $("api-key");
  return input ? input.value.trim() : "";
}

/** Restore the key from the browser's storage and keep it there as it is typed. */
export function bindApiKey(onChange) {
  const input = $("api-key");
  input.value = localStorage.getItem(KEY_STORAGE) || "";
  input.addEventListener("input", () => localStorage.setItem(KEY_STORAGE, apiKey()));
  input.addEventListener("change", onChange);
}

export function authHeaders() {
  return apiKey() ? { "X-API-Key": apiKey() } : {};
}

/** A fetch to the API with the key, answering the status and the parsed JSON body (or null). */
export async function api(method, path, body) {
  const headers = authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const payload = body === undefined || typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(path, { method, headers, body: payload });
  return { status: response.status, data: await jsonOf(response) };
}

/** A response's JSON body, or null when it has none (or not JSON: a proxy's error page). */
export async function jsonOf(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** The merge values to send with a preview: the template's samples, if any. */
export function mergeOf(store) {
  return store.merge && Object.keys(store.merge).length ? store.merge : undefined;
}

/** POST the spec being edited (with its template's sample values) and `fields` to a preview route
 * ("frame", "clip", "layout"), with the key; the raw response: an image, a clip or JSON. */
export function postPreview(route, store, fields) {
  return fetch(`/api/v1/preview/${route}`, {
    method: "POST",
    headers: { ...authHeaders(), "Content-Type": "application/json" },
    body: JSON.stringify({ spec: store.spec, merge: mergeOf(store), ...fields }),
  });
}

/** The envelope's message, or a fallback naming the HTTP status. */
export function errorMessage(status, data) {
  const error = data && data.error;
  return error && error.message ? `${error.code}: ${error.message}` : `HTTP ${status}`;
}

/** The envelope's field errors ([{field, message}]), or an empty list. */
export function fieldErrors(data) {
  const details = data && data.error && data.error.details;
  return details && Array.isArray(details.fields) ? details.fields : [];
}

export function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

/** `run` never twice at once: a call while it runs asks for one more run after it, with whatever
 * is newest then. Previews are rendered on the server whether or not the page still waits for them
 * (an aborted fetch does not stop the render), so a page sends one at a time instead of a queue. */
export function oneAtATime(run) {
  let running = false;
  let again = false;
  const go = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await run();
    } finally {
      running = false;
      if (again) {
        again = false;
        go();
      }
    }
  };
  go.busy = () => running;
  return go;
}

/** Seconds a 429 asks to wait (Retry-After), at least one. */
export function retryAfter(response) {
  return Math.max(1, Number(response.headers.get("Retry-After")) || 1);
}
