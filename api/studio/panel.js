// The property panel: the selected element's form, or the output settings when nothing is
// selected, generated from the JSON Schema (schema.js, fields.js); the element's actions and the
// "add element" menu; the API's field errors shown at their fields.
"use strict";

import { $, api, element } from "./api.js";
import { errorSlot, objectForm, PLACEHOLDER } from "./fields.js";
import { addElement, STARTERS } from "./placing.js";
import { loadSchema } from "./schema.js";
import { chooseMedia, sampleFor } from "./shelf.js";
import { clone, dotted, getPath, setPath } from "./store.js";

const NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

let store = null;
let ctx = null;

export function mount(editorStore) {
  store = editorStore;
  const root = $("panel");
  const head = element("div", null, "pf-head");
  head.id = "panel-head";
  const form = element("form", null, "pf-form");
  form.id = "panel-form";
  form.noValidate = true;
  form.addEventListener("submit", (event) => event.preventDefault());
  const others = element("ul", null, "pf-others");
  others.id = "panel-other-errors";
  const fonts = element("datalist");
  fonts.id = "pf-fonts";
  root.append(head, others, form, fonts);
  ctx = {
    book: null,
    store,
    open: new Set(),
    writing: false,
    chooseMedia: (path) => chooseMedia(store, path),
    mark: markPlaceholder,
  };
  loadSchema()
    .then((book) => {
      ctx.book = book;
      build();
    })
    .catch((error) => form.replaceChildren(element("p", `The schema did not load: ${error.message}`, "pf-error")));
  loadFonts(fonts);
  $("api-key").addEventListener("change", () => loadFonts(fonts));
  store.subscribe(({ reason }) => {
    if (!ctx.book) return;
    if (reason === "selection" || (reason === "spec" && !ctx.writing)) build();
    else if (reason === "errors") showErrors();
  });
}

async function loadFonts(list) {
  const { status, data } = await api("GET", "/api/v1/fonts").catch(() => ({ status: 0, data: null }));
  if (status !== 200 || !data || !Array.isArray(data.fonts)) return;
  list.replaceChildren(
    ...data.fonts.map((font) => {
      const option = new Option(font.family);
      if (Array.isArray(font.scripts)) option.label = `${font.family} (${font.scripts.join(", ")})`;
      return option;
    }),
  );
}

/** The form for the selection (or the output settings), keeping focus, caret and scroll. */
function build() {
  const root = $("panel");
  const form = $("panel-form");
  const focused = root.contains(document.activeElement) ? document.activeElement : null;
  const focusId = focused && focused.id;
  const caret = focused && "selectionStart" in focused ? safeCaret(focused) : null;
  const scroll = root.scrollTop;
  const selected = store.selected;
  const schema = selected ? ctx.book.element(selected.type) : ctx.book.spec;
  buildHead(selected);
  if (!schema) {
    form.replaceChildren(element("p", `Unknown element type ${JSON.stringify(selected.type)}: edit it in the JSON.`));
  } else {
    form.replaceChildren(...objectForm(ctx, schema, selected ? store.selection : [], selected ? [] : ["elements"]));
  }
  form.dataset.field = selected ? dotted(store.selection) : "";
  root.scrollTop = scroll;
  const again = focusId && document.getElementById(focusId);
  if (again) {
    again.focus({ preventScroll: true });
    if (caret !== null && "setSelectionRange" in again) {
      try {
        again.setSelectionRange(caret, caret);
      } catch {
        // number inputs have no caret
      }
    }
  }
  showErrors();
}

function safeCaret(input) {
  try {
    return input.selectionStart;
  } catch {
    return null;
  }
}

function button(text, title, onClick) {
  const node = element("button", text, "pf-small");
  node.type = "button";
  node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

function buildHead(selected) {
  const head = $("panel-head");
  const title = element("p", null, "pf-title");
  const parts = [];
  if (selected) {
    title.append(element("strong", selected.type), document.createTextNode(` ${selected.id || dotted(store.selection)}`));
    const actions = element("div", null, "pf-actions");
    actions.setAttribute("role", "toolbar");
    actions.setAttribute("aria-label", "Element");
    actions.append(
      button("Duplicate", "Duplicate the element", duplicate),
      button("Delete", "Delete the element", remove),
      button("Forward", "Bring forward: one track up", () => retrack(1)),
      button("Back", "Send back: one track down", () => retrack(-1)),
      button("Deselect", "Show the output settings", () => store.select(null)),
    );
    parts.push(title, actions);
  } else {
    title.append(element("strong", "Output settings"));
    parts.push(title);
  }
  const add = element("select", null, "pf-add");
  add.id = "panel-add";
  add.setAttribute("aria-label", "Add element");
  add.append(new Option("+ Add element…", ""));
  for (const type of ctx.book.elementTypes) add.append(new Option(type, type));
  add.addEventListener("change", () => {
    if (add.value) addOfType(add.value);
    add.value = "";
  });
  head.replaceChildren(...parts, add);
}

async function addOfType(type) {
  const fresh = { ...ctx.book.minimal(ctx.book.element(type)), ...clone(STARTERS[type] || {}), type };
  const properties = ctx.book.element(type).properties || {};
  if ("source" in properties && (ctx.book.element(type).required || []).includes("source")) {
    fresh.source = (await sampleFor(type)) || fresh.source;
  }
  addElement(store, fresh);
}

function parentList(path) {
  return { list: path.slice(0, -1), index: path[path.length - 1] };
}

function duplicate() {
  const path = store.selection;
  const { list, index } = parentList(path);
  const copy = clone(store.selected);
  if (copy.id) copy.id = `${copy.id}-copy`.slice(0, 64);
  store.update("Duplicate element", (draft) => getPath(draft, list).splice(index + 1, 0, copy));
  store.commit();
  store.select([...list, index + 1]);
}

function remove() {
  const { list, index } = parentList(store.selection);
  store.select(null);
  store.update("Delete element", (draft) => getPath(draft, list).splice(index, 1));
  store.commit();
}

function retrack(step) {
  const path = store.selection;
  const track = Number(store.selected.track ?? 1) + step;
  if (track < 0 || track > 1000) return;
  store.update(step > 0 ? "Bring forward" : "Send back", (draft) => setPath(draft, [...path, "track"], track));
  store.commit();
}

/** "{{ }}" on a field: ask a name, put "{{name}}" there and keep the value as its sample; on a
 * field already marked, put the sample value back. */
function markPlaceholder(path, value) {
  const marked = typeof value === "string" ? PLACEHOLDER.exec(value) : null;
  if (marked) {
    const sample = store.merge[marked[1]];
    store.update(`Unmark ${path[path.length - 1]}`, (draft) => setPath(draft, path, sample));
    store.commit();
    return;
  }
  const name = window.prompt("Placeholder name (letters, digits, _ and -):", String(path[path.length - 1]));
  if (name === null) return;
  if (!NAME.test(name.trim())) {
    window.alert(`“${name}” cannot name a placeholder: start with a letter or _, then letters, digits, _ or -.`);
    return;
  }
  const clean = name.trim();
  store.update(`Mark ${path[path.length - 1]} as {{${clean}}}`, (draft) => setPath(draft, path, `{{${clean}}}`));
  store.commit();
  if (value !== undefined && !(clean in store.merge)) store.setMerge({ ...store.merge, [clean]: value });
}

// --- Errors ----------------------------------------------------------------------------------

function clearErrors(root) {
  for (const slot of root.querySelectorAll(".pf-error")) {
    slot.textContent = "";
    slot.hidden = true;
  }
  for (const node of root.querySelectorAll(".pf-invalid")) node.classList.remove("pf-invalid");
}

function say(slot, text) {
  if (!slot) return;
  slot.append(element("span", text));
  slot.hidden = false;
}

function ownSlot(node) {
  return [...node.children].find((child) => child.classList.contains("pf-error")) || null;
}

/** Each field error under its field; a field inside a closed group also on the group; errors of
 * other elements listed above the form, each selecting its element. */
function showErrors() {
  const root = $("panel");
  const form = $("panel-form");
  const others = $("panel-other-errors");
  clearErrors(root);
  others.replaceChildren();
  const base = store.selection ? dotted(store.selection) : "";
  for (const error of store.errors || []) {
    const field = String(error.field || "");
    const message = String(error.message || "");
    if (field.startsWith("merge.")) continue; // a sample value's: shown at it, under Templates
    const mine = base ? field === base || field.startsWith(`${base}.`) : !/^elements(\.|$)/.test(field);
    if (!mine) {
      others.append(otherError(field, message));
      continue;
    }
    const target = closestField(form, field, base);
    if (!target) {
      say(topSlot(form), field === base ? message : `${field.slice(base.length + (base ? 1 : 0))}: ${message}`);
      continue;
    }
    target.classList.add("pf-invalid");
    const exact = target.dataset.field === field;
    say(ownSlot(target), exact ? message : `${field.slice(target.dataset.field.length + 1)}: ${message}`);
    const closed = outermostClosed(target, form);
    if (closed) {
      const row = closed.parentElement;
      row.classList.add("pf-invalid");
      say(ownSlot(row), `${field.slice(row.dataset.field.length + 1) || field}: ${message}`);
    }
  }
}

function closestField(form, field, base) {
  const parts = field.split(".");
  for (let length = parts.length; length > 0; length -= 1) {
    const prefix = parts.slice(0, length).join(".");
    if (base && prefix.length <= base.length) return null;
    const node = form.querySelector(`[data-field="${CSS.escape(prefix)}"]`);
    if (node && ownSlot(node)) return node;
  }
  return null;
}

function outermostClosed(node, form) {
  let found = null;
  for (let at = node.parentElement; at && at !== form; at = at.parentElement) {
    if (at.tagName === "DETAILS" && !at.open) found = at;
  }
  return found;
}

function topSlot(form) {
  let slot = form.querySelector(":scope > .pf-error");
  if (!slot) {
    slot = errorSlot();
    form.prepend(slot);
  }
  return slot;
}

function otherError(field, message) {
  const item = element("li");
  const match = /^((?:elements\.\d+\.)*elements\.\d+)/.exec(field);
  if (match) {
    const path = match[1].split(".").map((part) => (/^\d+$/.test(part) ? Number(part) : part));
    const go = element("button", field, "pf-link");
    go.type = "button";
    go.title = "Select this element";
    go.addEventListener("click", () => store.select(path));
    item.append(go);
  } else {
    item.append(element("code", field));
  }
  item.append(document.createTextNode(` ${message}`));
  return item;
}
