// The editor's single source of truth: the spec being edited, the selected element, the playhead,
// the errors the API gave for the spec, and the undo history. Every module reads the spec from here
// and changes it only through `update`/`replace`, so the timeline, canvas, panel and JSON view
// can never disagree, and every change is one undo step.
"use strict";

const HISTORY_LIMIT = 200;

/** A deep copy of JSON data (specs are plain JSON). */
export function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** The value at `path` (an array of keys and indexes) in `root`, or undefined. */
export function getPath(root, path) {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = node[key];
  }
  return node;
}

/** Set the value at `path`, creating objects on the way; undefined deletes the key. */
export function setPath(root, path, value) {
  let node = root;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = {};
    node = node[key];
  }
  const last = path[path.length - 1];
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(last, 1);
    else delete node[last];
  } else {
    node[last] = value;
  }
}

/** A dotted field path as the API writes it ("elements.0.x") from a path array. */
export function dotted(path) {
  return path.join(".");
}

export class Store {
  constructor(spec) {
    this._spec = clone(spec);
    this.selection = null; // path of the selected element, e.g. ["elements", 2], or null
    this.time = 0; // the playhead, seconds into the output
    this.errors = []; // [{field: "elements.0.x", message}] from the API's last answer for this spec
    this.merge = {}; // sample values of the template's {{placeholders}}, sent with previews and renders
    this.templateId = null; // the saved template being edited, if any
    this._undo = [];
    this._redo = [];
    this._mergeKey = null;
    this._listeners = new Set();
  }

  /** The current spec. Read only: change it with update() or replace(). */
  get spec() {
    return this._spec;
  }

  /** fn({reason, label}) after every change; reason is "spec", "selection", "time", "errors" or
   * "merge" (the template or its sample values).
   * Answers a function that unsubscribes. */
  subscribe(fn) {
    this._listeners.add(fn);
    return () => this._listeners.delete(fn);
  }

  _emit(reason, label) {
    for (const fn of [...this._listeners]) fn({ reason, label });
  }

  _record(label, mergeKey) {
    // A drag sends many updates with one merge key: they make one undo step.
    if (!(mergeKey && mergeKey === this._mergeKey)) {
      this._undo.push({ spec: this._spec, selection: this.selection, label });
      if (this._undo.length > HISTORY_LIMIT) this._undo.shift();
    }
    this._mergeKey = mergeKey || null;
    this._redo = [];
  }

  /** Change the spec: `mutate(draft)` edits a deep copy in place. One undo step named `label`;
   * consecutive updates with the same `options.merge` key (a drag) make one step. */
  update(label, mutate, options = {}) {
    const draft = clone(this._spec);
    mutate(draft);
    if (JSON.stringify(draft) === JSON.stringify(this._spec)) return false;
    this._record(label, options.merge);
    this._spec = draft;
    this._fixSelection();
    this._emit("spec", label);
    return true;
  }

  /** Put a whole new spec (an example, the JSON view, a template): one undo step. */
  replace(spec, label) {
    return this.update(label, (draft) => {
      for (const key of Object.keys(draft)) delete draft[key];
      Object.assign(draft, clone(spec));
    });
  }

  /** End a merged run of updates (a drag ended): the next update starts a new undo step. */
  commit() {
    this._mergeKey = null;
  }

  get canUndo() {
    return this._undo.length > 0;
  }

  get canRedo() {
    return this._redo.length > 0;
  }

  undo() {
    const step = this._undo.pop();
    if (!step) return false;
    this._redo.push({ spec: this._spec, selection: this.selection, label: step.label });
    this._restore(step);
    return true;
  }

  redo() {
    const step = this._redo.pop();
    if (!step) return false;
    this._undo.push({ spec: this._spec, selection: this.selection, label: step.label });
    this._restore(step);
    return true;
  }

  _restore(step) {
    this._mergeKey = null;
    this._spec = step.spec;
    this.selection = step.selection;
    this._fixSelection();
    this._emit("spec", step.label);
    this._emit("selection");
  }

  _fixSelection() {
    if (this.selection && getPath(this._spec, this.selection) === undefined) {
      this.selection = null;
      this._emit("selection");
    }
  }

  /** Select the element at `path` (["elements", i], or deeper inside a composition), or null. */
  select(path) {
    const next = path ? [...path] : null;
    if (JSON.stringify(next) === JSON.stringify(this.selection)) return;
    this.selection = next;
    this._emit("selection");
  }

  /** The selected element's object (read only), or null. */
  get selected() {
    return this.selection ? getPath(this._spec, this.selection) ?? null : null;
  }

  /** Move the playhead. */
  seek(time) {
    const next = Math.max(0, Number(time) || 0);
    if (next === this.time) return;
    this.time = next;
    this._emit("time");
  }

  /** The template being edited (null: a plain spec) and its sample merge values. */
  setTemplate(templateId, merge) {
    this.templateId = templateId || null;
    this.setMerge(merge);
  }

  /** Change the sample merge values (previews follow). */
  setMerge(merge) {
    this.merge = { ...(merge || {}) };
    this._emit("merge");
  }

  /** The API's field errors for the current spec (an empty list clears them). */
  setErrors(errors) {
    this.errors = errors || [];
    this._emit("errors");
  }
}
