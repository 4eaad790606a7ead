// Templates: the tenant's saved templates (open one to edit it), the sample value of every
// {{placeholder}} in the spec (previews and renders use them), save (POST new, PUT the one being
// edited; the sample values are its defaults), and "Render with values" (POST /api/v1/videocreate
// {template_id, merge}). The job's answer is announced as a `videogen:job` event on document,
// detail {status, data} as /videocreate answered, for the page's job tracker to follow.
"use strict";

import { $, api, element, errorMessage, fieldErrors } from "./api.js";

const PLACEHOLDERS = /\{\{\s*([A-Za-z_][A-Za-z0-9_-]{0,63})\s*\}\}/g;
const WHOLE = /^\{\{\s*([A-Za-z_][A-Za-z0-9_-]{0,63})\s*\}\}$/;

let store = null;
let typing = false; // a sample value is being typed: its form stays as it is
let samples = {}; // every sample value given, by name: store.merge is the share the spec uses
let saved = null; // the spec as last saved or opened (JSON), to save before rendering a changed one

/** Every {{name}} of the spec in order of first use, with whether one is a whole value (typed). */
export function placeholders(spec) {
  const found = new Map();
  const walk = (node) => {
    if (typeof node === "string") {
      for (const match of node.matchAll(PLACEHOLDERS)) {
        if (!found.has(match[1])) found.set(match[1], WHOLE.test(node));
      }
    } else if (node && typeof node === "object") {
      for (const value of Object.values(node)) walk(value);
    }
  };
  walk(spec);
  return found;
}

export function mount(editorStore) {
  store = editorStore;
  const root = $("templates");
  const bar = element("div", null, "tpl-bar");
  const refreshButton = element("button", "Refresh", "pf-small");
  refreshButton.type = "button";
  refreshButton.addEventListener("click", refresh);
  const fresh = element("button", "Save as new", "pf-small");
  fresh.type = "button";
  fresh.title = "Forget the template being edited: the next save makes a new one";
  fresh.addEventListener("click", () => {
    store.setTemplate(null, store.merge);
    note("The next save makes a new template.");
  });
  bar.append(refreshButton, fresh);
  const list = element("ul", null, "tpl-list");
  list.id = "tpl-list";
  const editor = element("form", null, "tpl-editor");
  editor.id = "tpl-editor";
  editor.noValidate = true;
  editor.addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  const nameLabel = element("label", "Name");
  nameLabel.htmlFor = "tpl-name";
  const name = element("input");
  name.id = "tpl-name";
  name.type = "text";
  name.maxLength = 200;
  name.placeholder = "Template name";
  const values = element("fieldset", null, "tpl-values");
  values.id = "tpl-values";
  const buttons = element("div", null, "tpl-buttons");
  const saveButton = element("button", "Save");
  saveButton.id = "tpl-save";
  saveButton.type = "submit";
  const renderButton = element("button", "Render with values");
  renderButton.id = "tpl-render";
  renderButton.type = "button";
  renderButton.addEventListener("click", renderWithValues);
  buttons.append(saveButton, renderButton);
  editor.append(nameLabel, name, values, buttons);
  const status = element("p", null, "tpl-note");
  status.id = "tpl-note";
  status.setAttribute("aria-live", "polite");
  root.append(bar, list, editor, status);
  store.subscribe(({ reason }) => {
    if (reason === "merge") samples = { ...samples, ...store.merge };
    if (reason === "spec") keepMergeToSpec();
    if (reason === "spec" || (reason === "merge" && !typing)) showValues();
    if (reason === "merge") markOpen();
    if (reason === "errors" || reason === "spec" || reason === "merge") showMergeErrors();
  });
  $("api-key").addEventListener("change", refresh);
  showValues();
  refresh();
}

function note(text, job) {
  const status = $("tpl-note");
  status.replaceChildren(document.createTextNode(text));
  if (job) {
    const code = element("code", job);
    code.id = "tpl-job";
    status.append(document.createTextNode(" Job "), code);
  }
}

// --- List and open ---------------------------------------------------------------------------

async function refresh() {
  const { status, data } = await api("GET", "/api/v1/templates?limit=50").catch((error) => ({
    status: 0,
    data: { error: { code: "NETWORK", message: error.message } },
  }));
  const list = $("tpl-list");
  if (status !== 200) {
    list.replaceChildren(element("li", errorMessage(status, data) + (status === 401 ? " Enter your API key above." : "")));
    return;
  }
  if (!data.templates.length) {
    list.replaceChildren(element("li", "No templates yet: mark fields with {{ }} and save.", "tpl-empty"));
    return;
  }
  list.replaceChildren(
    ...data.templates.map((template) => {
      const item = element("li");
      item.dataset.templateId = template.template_id;
      const open = element("button", template.name, "pf-link");
      open.type = "button";
      open.title = `Open (placeholders: ${template.placeholders.join(", ") || "none"})`;
      open.addEventListener("click", () => openTemplate(template.template_id));
      item.append(open, element("small", ` ${template.placeholders.length} placeholders`));
      return item;
    }),
  );
  markOpen();
}

function markOpen() {
  for (const item of $("tpl-list").querySelectorAll("li[data-template-id]")) {
    item.classList.toggle("tpl-open", item.dataset.templateId === store.templateId);
  }
}

async function openTemplate(templateId) {
  const { status, data } = await api("GET", `/api/v1/templates/${encodeURIComponent(templateId)}`);
  if (status !== 200) {
    note(errorMessage(status, data));
    return;
  }
  store.select(null);
  store.replace(data.spec, `Open template “${data.name}”`);
  store.commit();
  store.setTemplate(data.template_id, data.defaults);
  store.setErrors([]);
  store.seek(0);
  saved = JSON.stringify(store.spec);
  $("tpl-name").value = data.name;
  note(`Editing “${data.name}”.`);
}

// --- Sample values ---------------------------------------------------------------------------

/** A typed sample: a number stays a number where its placeholder is a whole value. */
function parse(text, whole, previous) {
  if (whole && typeof previous === "number" && text.trim() !== "" && !Number.isNaN(Number(text))) {
    return Number(text);
  }
  if (whole && typeof previous === "boolean" && (text === "true" || text === "false")) return text === "true";
  return text;
}

function showValues() {
  const box = $("tpl-values");
  if (!box) return;
  const found = placeholders(store.spec);
  const focused = box.contains(document.activeElement) ? document.activeElement.dataset.placeholder : null;
  const legend = element("legend", "Sample values");
  if (!found.size) {
    box.replaceChildren(legend, element("p", "No {{placeholders}} yet: mark a field with {{ }} in the panel.", "pf-note"));
    return;
  }
  const rows = [...found].map(([name, whole]) => {
    const row = element("div", null, "pf-field");
    row.dataset.field = `merge.${name}`;
    const label = element("label", `{{${name}}}`, "pf-label");
    label.htmlFor = `tpl-value-${name}`;
    const input = element("input");
    input.type = "text";
    input.id = `tpl-value-${name}`;
    input.dataset.placeholder = name;
    const value = store.merge[name];
    input.value = value === undefined ? "" : String(value);
    input.placeholder = "sample value";
    input.addEventListener("input", () => {
      const merge = { ...store.merge };
      if (input.value === "" && typeof merge[name] !== "string") delete merge[name];
      else merge[name] = parse(input.value, whole, store.merge[name]);
      typing = true;
      try {
        store.setMerge(merge);
      } finally {
        typing = false;
      }
    });
    const slot = element("p", null, "pf-error");
    slot.hidden = true;
    row.append(label, input, slot);
    return row;
  });
  box.replaceChildren(legend, ...rows);
  if (focused) {
    const again = document.getElementById(`tpl-value-${focused}`);
    if (again) {
      again.focus();
      again.setSelectionRange(again.value.length, again.value.length);
    }
  }
}

/** The sample values of the spec's placeholders only (the API refuses values naming none). */
function values() {
  const found = placeholders(store.spec);
  return Object.fromEntries(Object.entries(store.merge).filter(([name]) => found.has(name)));
}

/** Previews send store.merge, which the API refuses if it names a placeholder the spec no longer
 * has: after each edit it holds the samples of the spec's own placeholders (an undone mark gets
 * its sample back from `samples`). */
function keepMergeToSpec() {
  const found = placeholders(store.spec);
  const next = Object.fromEntries([...found.keys()].filter((name) => name in samples).map((n) => [n, samples[n]]));
  if (JSON.stringify(next) !== JSON.stringify(store.merge)) store.setMerge(next);
}

/** The API's errors about merge values (a preview's, a save's, a render's) at their inputs. */
function showMergeErrors() {
  const box = $("tpl-values");
  if (!box) return;
  for (const slot of box.querySelectorAll(".pf-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const error of store.errors || []) {
    const named = /^merge\.(.+)$/.exec(String(error.field));
    const row = named && box.querySelector(`[data-field="merge.${CSS.escape(named[1])}"]`);
    if (!row) continue;
    const slot = row.querySelector(".pf-error");
    slot.append(element("span", error.message));
    slot.hidden = false;
  }
}

/** A save's or render's field errors in the store, paths relative to the spec ("spec.x" is "x",
 * a default is its merge value), so the panel and the sample values show them at their fields. */
function showFieldErrors(data) {
  const fields = fieldErrors(data).map((error) => ({
    field: String(error.field).replace(/^spec\./, "").replace(/^defaults\./, "merge."),
    message: error.message,
  }));
  store.setErrors(fields);
  return fields.map((error) => `${error.field}: ${error.message}`);
}

// --- Save and render -------------------------------------------------------------------------

async function save() {
  const name = $("tpl-name").value.trim();
  if (!name) {
    note("Give the template a name.");
    $("tpl-name").focus();
    return false;
  }
  const body = { name, spec: store.spec, defaults: values() };
  const editing = store.templateId;
  const path = editing ? `/api/v1/templates/${encodeURIComponent(editing)}` : "/api/v1/templates";
  $("tpl-save").disabled = true;
  try {
    const { status, data } = await api(editing ? "PUT" : "POST", path, body);
    if (status !== 200 && status !== 201) {
      note([errorMessage(status, data), ...showFieldErrors(data)].join(" — "));
      return false;
    }
    showFieldErrors(null);
    store.setTemplate(data.template_id, store.merge);
    saved = JSON.stringify(store.spec);
    note(`Saved “${data.name}”.`);
    await refresh();
    return true;
  } finally {
    $("tpl-save").disabled = false;
  }
}

async function renderWithValues() {
  if (!store.templateId || saved !== JSON.stringify(store.spec)) {
    if (!(await save())) return;
  }
  const button = $("tpl-render");
  button.disabled = true;
  try {
    const body = { template_id: store.templateId, merge: values() };
    const { status, data } = await api("POST", "/api/v1/videocreate", body);
    if (status === 200 || status === 202) {
      showFieldErrors(null);
      note(status === 200 ? "Rendered." : "Rendering…", data.job_id);
      document.dispatchEvent(new CustomEvent("videogen:job", { detail: { status, data } }));
    } else {
      note([errorMessage(status, data), ...showFieldErrors(data)].join(" — "));
    }
  } catch (error) {
    note(`Request failed: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}
