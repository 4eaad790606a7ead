// The property form: one widget per property of an object schema, chosen by schema.js's
// `describe`, each writing its value through the store. Typing in a field is one undo step (the
// update's merge key is the field's path; a change or blur commits it). Unset optional fields show
// the schema's default as a placeholder and stay out of the spec.
"use strict";

import { element } from "./api.js";
import { dotted, getPath, setPath } from "./store.js";

export const PLACEHOLDER = /^\{\{\s*([A-Za-z_][A-Za-z0-9_-]{0,63})\s*\}\}$/;
const CUSTOM_EASING = "cubic-bezier(0.25, 0.1, 0.25, 1)";
const NUMBER = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;

/** ctx: {book, store, open: Set of open fieldsets' paths, rebuild(), chooseMedia(path), mark(path, value)}. */
export function objectForm(ctx, schema, path, skip = []) {
  const resolved = ctx.book.resolve(schema);
  const required = new Set(resolved.required || []);
  const rows = [];
  for (const [name, property] of Object.entries(resolved.properties || {})) {
    if (skip.includes(name)) continue;
    const spec = ctx.book.describe(name, property);
    if (spec.schema.const !== undefined) continue; // the discriminator: fixed for this form
    spec.required = required.has(name);
    rows.push(field(ctx, spec, [...path, name]));
  }
  return rows;
}

/** Write `value` at `path` (undefined: remove the key); a run of writes to one field is one undo step. */
export function write(ctx, path, value, commit = false) {
  ctx.writing = true;
  try {
    ctx.store.update(`Set ${path[path.length - 1]}`, (draft) => setPath(draft, path, value), {
      merge: dotted(path),
    });
  } finally {
    ctx.writing = false;
  }
  if (commit) ctx.store.commit();
}

/** Change the form's shape (add a row, turn on keyframes): one undo step, then a new form. */
function restructure(ctx, label, mutate) {
  ctx.store.update(label, mutate);
  ctx.store.commit();
}

function field(ctx, spec, path) {
  const value = getPath(ctx.store.spec, path);
  const row = element("div", null, "pf-field");
  row.dataset.field = dotted(path);
  const id = `pf-${dotted(path).replace(/[^\w-]/g, "-")}`;
  const label = element("label", spec.name + (spec.required ? " *" : ""), "pf-label");
  label.htmlFor = id;
  if (spec.description) label.title = spec.description;
  const nested = ["object", "objects", "values", "children", "variants"].includes(spec.kind);
  if (nested) return nestedField(ctx, spec, path, value, row);
  row.append(label);
  const line = element("div", null, "pf-line");
  if (typeof value === "string" && PLACEHOLDER.test(value)) {
    line.append(placeholderInput(ctx, spec, path, value, id));
  } else if (spec.keyframes && Array.isArray(value)) {
    line.append(element("span", `${value.length} keyframes`, "pf-note"));
  } else {
    line.append(...widget(ctx, spec, path, value, id));
  }
  const extras = [];
  if (spec.keyframes) extras.push(keyframeToggle(ctx, spec, path, value));
  if (["string", "number", "mixed", "color", "font", "source"].includes(spec.kind)) {
    extras.push(markButton(ctx, path, value, spec.default ?? undefined)); // the default: a sample
  }
  const range = line.querySelector(".pf-range"); // a slider takes its own line, after the rest
  if (range) range.before(...extras);
  else line.append(...extras);
  row.append(line);
  if (spec.keyframes && Array.isArray(value)) row.append(keyframeTable(ctx, spec, path, value));
  if (spec.description) {
    const hint = element("small", spec.description, "pf-hint");
    hint.title = spec.description;
    row.append(hint);
  }
  row.append(errorSlot());
  return row;
}

export function errorSlot() {
  const slot = element("p", null, "pf-error");
  slot.hidden = true;
  slot.setAttribute("role", "alert");
  return slot;
}

function shown(value) {
  return value === undefined || value === null ? "" : String(value);
}

function defaultText(spec) {
  if (spec.default === undefined || spec.default === null) return spec.required ? "required" : "";
  return typeof spec.default === "object" ? JSON.stringify(spec.default) : `${spec.default}`;
}

/** Text typed in a field that takes numbers or words: a number when it reads as one. */
function parseMixed(text, numeric) {
  if (text.trim() === "") return undefined;
  return numeric && NUMBER.test(text) ? Number(text) : text;
}

function bindText(ctx, input, path, parse) {
  input.addEventListener("input", () => write(ctx, path, parse(input.value)));
  input.addEventListener("change", () => ctx.store.commit());
}

/** The inputs for one scalar value (also used in keyframe rows and lists). */
function widget(ctx, spec, path, value, id) {
  const placeholder = defaultText(spec);
  switch (spec.kind) {
    case "enum": {
      const select = element("select");
      select.id = id;
      if (!spec.required) select.append(new Option(placeholder ? `default (${placeholder})` : "—", ""));
      for (const option of spec.options) select.append(new Option(String(option), String(option)));
      select.value = shown(value);
      select.addEventListener("change", () => {
        const option = spec.options.find((o) => String(o) === select.value);
        write(ctx, path, select.value === "" ? undefined : option, true);
      });
      return [select];
    }
    case "boolean": {
      const box = element("input");
      box.type = "checkbox";
      box.id = id;
      box.checked = value === undefined ? Boolean(spec.default) : Boolean(value);
      box.addEventListener("change", () => {
        const omit = !spec.required && box.checked === Boolean(spec.default);
        write(ctx, path, omit ? undefined : box.checked, true);
      });
      return [box];
    }
    case "number":
      return numberInputs(ctx, spec, path, value, id, placeholder);
    case "color":
      return colorInputs(ctx, path, value, id, placeholder);
    case "easing":
      return easingInputs(ctx, spec, path, value, id);
    case "mixed": {
      const input = element("input");
      input.type = "text";
      input.id = id;
      input.value = shown(value);
      input.placeholder = placeholder;
      bindText(ctx, input, path, (text) => parseMixed(text, spec.bounds.type !== undefined));
      if (!spec.options.length) return [input];
      const list = element("datalist");
      list.id = `${id}-options`;
      for (const option of spec.options) list.append(new Option(String(option)));
      input.setAttribute("list", list.id);
      return [input, list];
    }
    default: {
      const input = element(spec.long ? "textarea" : "input");
      if (!spec.long) input.type = "text";
      else input.rows = 3;
      input.id = id;
      input.value = shown(value);
      input.placeholder = placeholder;
      if (spec.bounds && spec.bounds.maxLength) input.maxLength = spec.bounds.maxLength;
      bindText(ctx, input, path, (text) => (text === "" && !spec.required ? undefined : text));
      const extra = [];
      if (spec.kind === "font") input.setAttribute("list", "pf-fonts");
      if (spec.kind === "source") {
        const choose = element("button", "Choose…", "pf-small");
        choose.type = "button";
        choose.title = "Choose from the media shelf";
        choose.addEventListener("click", () => ctx.chooseMedia(path));
        extra.push(choose);
      }
      return [input, ...extra];
    }
  }
}

function numberInputs(ctx, spec, path, value, id, placeholder) {
  const bounds = spec.bounds || {};
  const input = element("input");
  input.type = "number";
  input.id = id;
  input.value = shown(value);
  input.placeholder = placeholder;
  const low = bounds.minimum ?? bounds.exclusiveMinimum;
  const high = bounds.maximum ?? bounds.exclusiveMaximum;
  if (low !== undefined) input.min = String(low);
  if (high !== undefined) input.max = String(high);
  const step = bounds.multipleOf || spec.schema.multipleOf || (spec.integer ? 1 : "any");
  input.step = String(step);
  const parse = (text) => (text.trim() === "" || !NUMBER.test(text) ? undefined : Number(text));
  bindText(ctx, input, path, parse);
  if (low === undefined || high === undefined) return [input];
  const range = element("input", null, "pf-range");
  range.type = "range";
  range.min = String(low);
  range.max = String(high);
  range.step = step === "any" ? String((high - low) / 100) : String(step);
  range.value = shown(value ?? spec.default ?? low);
  range.tabIndex = -1; // the number input is the keyboard's way in
  range.setAttribute("aria-hidden", "true");
  range.addEventListener("input", () => {
    input.value = range.value;
    write(ctx, path, Number(range.value));
  });
  range.addEventListener("change", () => ctx.store.commit());
  input.addEventListener("input", () => {
    if (NUMBER.test(input.value)) range.value = input.value;
  });
  return [input, range];
}

/** A colour picker (#rrggbb) beside the text, which keeps any alpha (#rrggbbaa) the picker cannot. */
function colorInputs(ctx, path, value, id, placeholder) {
  const text = element("input", null, "pf-color-text");
  text.type = "text";
  text.id = id;
  text.value = shown(value);
  text.placeholder = placeholder;
  text.spellcheck = false;
  const picker = element("input", null, "pf-color");
  picker.type = "color";
  picker.title = "Pick a colour";
  const sync = () => {
    const hex = /^#[0-9a-fA-F]{6}/.exec(text.value || placeholder || "");
    picker.value = hex ? hex[0].toLowerCase() : "#000000";
  };
  sync();
  bindText(ctx, text, path, (typed) => (typed === "" ? undefined : typed));
  text.addEventListener("input", sync);
  picker.addEventListener("input", () => {
    const alpha = /^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})$/.exec(text.value || placeholder || "");
    text.value = picker.value + (alpha ? alpha[1] : "");
    write(ctx, path, text.value);
  });
  picker.addEventListener("change", () => ctx.store.commit());
  return [picker, text];
}

function easingInputs(ctx, spec, path, value, id) {
  const select = element("select");
  select.id = id;
  const fallback = defaultText(spec);
  if (!spec.required) select.append(new Option(fallback ? `default (${fallback})` : "—", ""));
  for (const name of spec.names) select.append(new Option(name, name));
  select.append(new Option("custom cubic-bezier…", "custom"));
  const custom = element("input", null, "pf-bezier");
  custom.type = "text";
  custom.placeholder = CUSTOM_EASING;
  custom.setAttribute("aria-label", `${spec.name}: cubic-bezier(x1, y1, x2, y2)`);
  const isCustom = typeof value === "string" && !spec.names.includes(value);
  select.value = isCustom ? "custom" : shown(value);
  custom.value = isCustom ? value : "";
  custom.hidden = !isCustom;
  select.addEventListener("change", () => {
    custom.hidden = select.value !== "custom";
    if (select.value === "custom") {
      custom.value = custom.value || CUSTOM_EASING;
      write(ctx, path, custom.value, true);
      custom.focus();
    } else {
      write(ctx, path, select.value || undefined, true);
    }
  });
  bindText(ctx, custom, path, (text) => text || undefined);
  return [select, custom];
}

/** A field holding "{{name}}": shown as such, with the placeholder's name editable. */
function placeholderInput(ctx, spec, path, value, id) {
  const input = element("input", null, "pf-placeholder");
  input.type = "text";
  input.id = id;
  input.value = value;
  input.title = "A template placeholder: its sample value is set under Templates";
  bindText(ctx, input, path, (text) => (text === "" && !spec.required ? undefined : text));
  return input;
}

/** "{{ }}": make the field a template placeholder, keeping its value (or default) as the sample. */
function markButton(ctx, path, value, fallback) {
  const marked = typeof value === "string" && PLACEHOLDER.test(value);
  const button = element("button", "{{ }}", "pf-small pf-mark");
  button.type = "button";
  button.title = marked ? "Put the sample value back" : "Mark as a template placeholder";
  button.setAttribute("aria-pressed", String(marked));
  button.addEventListener("click", () => ctx.mark(path, value ?? fallback));
  return button;
}

function keyframeToggle(ctx, spec, path, value) {
  const wrap = element("label", null, "pf-toggle");
  const box = element("input");
  box.type = "checkbox";
  box.checked = Array.isArray(value);
  wrap.append(box, document.createTextNode(" keyframes"));
  wrap.title = "Animate this value over the element's time";
  box.addEventListener("change", () => {
    restructure(ctx, `${box.checked ? "Keyframe" : "Unkeyframe"} ${spec.name}`, (draft) => {
      const current = getPath(draft, path);
      if (box.checked) {
        const start = current ?? spec.default ?? ctx.book.minimalValue(spec.keyframes.properties.value);
        setPath(draft, path, [{ time: 0, value: start }]);
      } else {
        setPath(draft, path, Array.isArray(current) && current.length ? current[0].value : undefined);
      }
    });
  });
  return wrap;
}

/** Keyframes as a table: time, value, easing per row, with add and remove. */
function keyframeTable(ctx, spec, path, keyframes) {
  const frame = ctx.book.resolve(spec.keyframes);
  const table = element("table", null, "pf-keyframes");
  const head = element("tr");
  head.append(element("th", "time"), element("th", "value"), element("th", "easing"), element("th", ""));
  table.append(head);
  keyframes.forEach((_, n) => {
    const row = element("tr");
    row.dataset.field = dotted([...path, n]);
    for (const name of ["time", "value", "easing"]) {
      const cell = element("td");
      const cellSpec = { ...ctx.book.describe(name, frame.properties[name]), required: name !== "easing" };
      const cellPath = [...path, n, name];
      cell.dataset.field = dotted(cellPath);
      const inputs = widget(ctx, cellSpec, cellPath, getPath(ctx.store.spec, cellPath), `pf-${dotted(cellPath)}`);
      for (const input of inputs) input.setAttribute("aria-label", `${spec.name} keyframe ${n + 1} ${name}`);
      cell.append(...inputs.filter((input) => !input.classList.contains("pf-range")), errorSlot());
      row.append(cell);
    }
    const cell = element("td");
    const remove = element("button", "✕", "pf-small");
    remove.type = "button";
    remove.title = "Remove this keyframe";
    remove.disabled = keyframes.length === 1;
    remove.addEventListener("click", () => restructure(ctx, "Remove keyframe", (d) => getPath(d, path).splice(n, 1)));
    cell.append(remove);
    row.append(cell);
    table.append(row);
  });
  const add = element("button", "+ keyframe", "pf-small");
  add.type = "button";
  add.addEventListener("click", () =>
    restructure(ctx, "Add keyframe", (draft) => {
      const list = getPath(draft, path);
      const last = list[list.length - 1];
      list.push({ time: Math.round((Number(last.time) + 1) * 100) / 100, value: last.value });
    }),
  );
  const wrap = element("div", null, "pf-keyframe-box");
  wrap.append(table, add);
  return wrap;
}

/** A collapsible group (nested object, list): its open state survives rebuilding the form. */
function group(ctx, spec, path, row, summaryExtras) {
  const details = element("details", null, "pf-group");
  const key = dotted(path);
  details.open = ctx.open.has(key);
  details.addEventListener("toggle", () => (details.open ? ctx.open.add(key) : ctx.open.delete(key)));
  const summary = element("summary");
  summary.append(element("span", spec.name + (spec.required ? " *" : ""), "pf-label"), ...summaryExtras);
  if (spec.description) summary.title = spec.description;
  details.append(summary);
  row.classList.add("pf-nested");
  row.append(details);
  row.append(errorSlot());
  return details;
}

function nestedField(ctx, spec, path, value, row) {
  if (spec.kind === "object") return objectField(ctx, spec, path, value, row);
  if (spec.kind === "children") return childrenField(ctx, spec, path, value, row);
  if (spec.kind === "variants") return variantsField(ctx, spec, path, value, row);
  return listField(ctx, spec, path, value, row);
}

function objectField(ctx, spec, path, value, row) {
  const present = value !== undefined && value !== null;
  const extras = [];
  if (spec.nullable || !spec.required) {
    const box = element("input");
    box.type = "checkbox";
    box.checked = present;
    box.title = present ? `Turn ${spec.name} off` : `Turn ${spec.name} on`;
    box.setAttribute("aria-label", `${spec.name} on`);
    box.addEventListener("click", (event) => event.stopPropagation());
    box.addEventListener("change", () => {
      if (box.checked) ctx.open.add(dotted(path));
      restructure(ctx, `${box.checked ? "Add" : "Remove"} ${spec.name}`, (draft) =>
        setPath(draft, path, box.checked ? ctx.book.minimal(spec.object) : spec.nullable ? null : undefined),
      );
    });
    extras.push(box);
  }
  const details = group(ctx, spec, path, row, extras);
  if (present) details.append(...objectForm(ctx, spec.object, path));
  else details.append(element("p", "Off. Tick the box to set it.", "pf-note"));
  return row;
}

function moveButton(text, title, disabled, onClick) {
  const button = element("button", text, "pf-small");
  button.type = "button";
  button.title = title;
  button.disabled = disabled;
  button.addEventListener("click", onClick);
  return button;
}

/** A list: objects (animations, filters, cues) as sub-forms, or scalar values (colours). */
function listField(ctx, spec, path, value, row) {
  const items = Array.isArray(value) ? value : [];
  const details = group(ctx, spec, path, row, [element("span", ` (${items.length})`, "pf-note")]);
  const max = spec.array.maxItems ?? Infinity;
  const min = spec.array.minItems ?? 0;
  items.forEach((item, n) => {
    const itemPath = [...path, n];
    const box = element("fieldset", null, "pf-item");
    box.dataset.field = dotted(itemPath);
    const legend = element("legend");
    const title = item && typeof item === "object" && item.type ? `${n + 1}. ${item.type}` : `${n + 1}`;
    legend.append(
      element("span", title),
      moveButton("↑", "Move up", n === 0, () => restructure(ctx, `Move ${spec.name}`, (d) => swap(getPath(d, path), n, n - 1))),
      moveButton("↓", "Move down", n === items.length - 1, () =>
        restructure(ctx, `Move ${spec.name}`, (d) => swap(getPath(d, path), n, n + 1)),
      ),
      moveButton("✕", "Remove", items.length <= min, () =>
        restructure(ctx, `Remove ${spec.name}`, (d) => {
          const list = getPath(d, path);
          list.splice(n, 1);
          if (!list.length && !spec.required) setPath(d, path, undefined);
        }),
      ),
    );
    box.append(legend);
    if (spec.kind === "objects") {
      box.append(...objectForm(ctx, spec.items, itemPath));
    } else {
      const itemSpec = { ...ctx.book.describe(spec.name, spec.items), required: true };
      box.append(...widget(ctx, itemSpec, itemPath, item, `pf-${dotted(itemPath)}`));
    }
    box.append(errorSlot());
    details.append(box);
  });
  const add = element("button", `+ ${spec.name}`, "pf-small");
  add.type = "button";
  add.disabled = items.length >= max;
  add.addEventListener("click", () => {
    ctx.open.add(dotted(path));
    restructure(ctx, `Add ${spec.name}`, (draft) => {
      const list = Array.isArray(getPath(draft, path)) ? getPath(draft, path) : [];
      const fresh = spec.kind === "objects" ? ctx.book.minimal(spec.items) : ctx.book.minimalValue(spec.items);
      if (!list.length && min > 1) list.push(...Array.from({ length: min - 1 }, () => structuredClone(fresh)));
      list.push(fresh);
      setPath(draft, path, list);
    });
  });
  details.append(add);
  return row;
}

function swap(list, a, b) {
  [list[a], list[b]] = [list[b], list[a]];
}

/** A composition's own elements: each selected to edit it in the panel. */
function childrenField(ctx, spec, path, value, row) {
  const items = Array.isArray(value) ? value : [];
  const details = group(ctx, spec, path, row, [element("span", ` (${items.length})`, "pf-note")]);
  const list = element("ul", null, "pf-children");
  items.forEach((item, n) => {
    const entry = element("li");
    entry.dataset.field = dotted([...path, n]);
    const open = element("button", `${n + 1}. ${item.type}${item.id ? ` “${item.id}”` : ""}`, "pf-link");
    open.type = "button";
    open.title = "Edit this element";
    open.addEventListener("click", () => ctx.store.select([...path, n]));
    entry.append(open, errorSlot());
    list.append(entry);
  });
  details.append(list);
  return row;
}

/** A value of one of a few shapes (true, or {time, width}): a choice of shape, then its widget. */
function variantsField(ctx, spec, path, value, row) {
  const labels = spec.variants.map((variant) => variant.title || variant.type || "value");
  const current = spec.variants.findIndex((variant) => matches(variant, value));
  const select = element("select");
  select.setAttribute("aria-label", `${spec.name}: kind of value`);
  select.append(new Option(`default (${defaultText(spec) || "none"})`, ""));
  labels.forEach((label, n) => select.append(new Option(label, String(n))));
  select.value = value === undefined ? "" : String(current);
  select.addEventListener("change", (event) => {
    event.stopPropagation();
    const variant = spec.variants[Number(select.value)];
    if (variant) ctx.open.add(dotted(path));
    restructure(ctx, `Set ${spec.name}`, (draft) =>
      setPath(draft, path, variant ? ctx.book.minimalValue(variant, spec.name) : undefined),
    );
  });
  select.addEventListener("click", (event) => event.stopPropagation());
  const details = group(ctx, spec, path, row, [select]);
  const variant = spec.variants[current];
  if (value !== undefined && variant) {
    const inner = { ...ctx.book.describe(spec.name, variant), required: true };
    if (inner.kind === "object") details.append(...objectForm(ctx, variant, path));
    else details.append(...widget(ctx, inner, path, value, `pf-${dotted(path)}`));
  }
  return row;
}

function matches(variant, value) {
  if (value === undefined || value === null) return false;
  if (variant.type === "object" || variant.properties) return typeof value === "object" && !Array.isArray(value);
  if (variant.type === "array") return Array.isArray(value);
  if (variant.type === "integer" || variant.type === "number") return typeof value === "number";
  return typeof value === variant.type;
}
