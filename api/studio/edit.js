// Edits of the selected element that the timeline, the canvas and the keyboard share: delete,
// duplicate, nudge in time. Each is one undo step through the store.
"use strict";

import { getPath } from "./store.js";
import { round } from "./lengths.js";

/** Seconds snapped to the output's frames (and rounded, so 0.1 + 0.2 stays 0.3). */
export function toFrame(seconds, fps) {
  return round(Math.round(seconds * fps) / fps, 4);
}

/** How an element is named to a person (screen readers, undo labels). */
export function describe(element) {
  if (!element || typeof element !== "object") return "element";
  const type = element.type || "element";
  if (element.id) return `${type} '${element.id}'`;
  if (typeof element.text === "string") return `${type} '${element.text.slice(0, 30)}'`;
  if (typeof element.source === "string") return `${type} '${element.source.split("/").pop()}'`;
  return type;
}

export function removeSelected(store) {
  const path = store.selection;
  if (!path) return false;
  const label = `Delete ${describe(store.selected)}`;
  store.select(null);
  return store.update(label, (draft) => {
    const parent = getPath(draft, path.slice(0, -1));
    if (Array.isArray(parent)) parent.splice(path[path.length - 1], 1);
  });
}

/** A copy of the selected element right after it on its track (or, when it runs to the end of
 * the video, on a new track above), with a new id if it had one; the copy is selected. */
export function duplicateSelected(store, layout) {
  const path = store.selection;
  const element = store.selected;
  if (!path || !element) return false;
  const index = path[path.length - 1];
  const listPath = path.slice(0, -1);
  const entry = layout.entry(path.join("."));
  const end = entry ? entry.end : null;
  const output = layout.output;
  const copy = JSON.parse(JSON.stringify(element));
  const siblings = getPath(store.spec, listPath) || [];
  if (copy.id) copy.id = freshId(copy.id, collectIds(store.spec));
  if (typeof element.duration === "number" && end !== null && end < output.duration) {
    copy.time = toFrame(end, output.fps);
  } else {
    copy.track = Math.max(...siblings.map((e) => Number(e.track ?? 1))) + 1;
  }
  const done = store.update(`Duplicate ${describe(element)}`, (draft) => {
    getPath(draft, listPath).splice(index + 1, 0, copy);
  });
  if (done) store.select([...listPath, index + 1]);
  return done;
}

/** Move the selected element `seconds` later (earlier if negative), snapped to frames; `merge`
 * makes a run of nudges (a held arrow key) one undo step. */
export function nudgeSelected(store, seconds, fps, merge) {
  const element = store.selected;
  if (!element) return false;
  const time = toFrame(Math.max(0, Number(element.time || 0) + seconds), fps);
  return store.update(
    `Move ${describe(element)}`,
    (draft) => {
      getPath(draft, store.selection).time = time;
    },
    { merge },
  );
}

function collectIds(spec) {
  const ids = new Set();
  const walk = (elements) => {
    for (const element of Array.isArray(elements) ? elements : []) {
      if (element && element.id) ids.add(element.id);
      if (element && Array.isArray(element.elements)) walk(element.elements);
    }
  };
  walk(spec.elements);
  return ids;
}

function freshId(id, taken) {
  const stem = id.replace(/-\d+$/, "");
  for (let n = 2; ; n++) {
    const candidate = `${stem}-${n}`.slice(-64);
    if (!taken.has(candidate)) return candidate;
  }
}
