// New elements, from the panel's "add element" menu and the media shelf: at the playhead, on a new
// top track, selected, one undo step.
"use strict";

/** What a new element of a type starts with beyond its schema's required fields, so it draws
 * something at once (the schema cannot say "a colour or a gradient"). Types not named here start
 * with their required fields only. */
export const STARTERS = {
  text: { text: "Text" },
  speech: { text: "Hello" },
  color: { color: "#1e3a8a" },
  shape: { fill_color: "#f59e0b", width: "30%", height: "30%" },
  subtitles: { cues: [{ start: 0, end: 2, text: "Subtitles" }] },
  composition: { elements: [{ type: "text", text: "Text" }] },
};

/** Put `fresh` (an element object) in the spec on a track above all others at the playhead. */
export function addElement(store, fresh, label = `Add ${fresh.type}`) {
  const elements = Array.isArray(store.spec.elements) ? store.spec.elements : [];
  const top = elements.reduce((highest, e) => Math.max(highest, Number(e.track ?? 1) || 0), 0);
  const placed = { ...fresh, track: Math.min(top + 1, 1000) };
  const time = Math.round(store.time * 100) / 100;
  if (time > 0) placed.time = time;
  store.update(label, (draft) => {
    if (!Array.isArray(draft.elements)) draft.elements = [];
    draft.elements.push(placed);
  });
  store.commit();
  store.select(["elements", store.spec.elements.length - 1]);
}
