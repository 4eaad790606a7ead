// The editor's keyboard: undo/redo, delete, duplicate, play, frame steps, keyframe, deselect.
// Never while typing in a field (the JSON view, the panel's inputs), so keys mean what they say
// there; Ctrl+Enter (render) lives in jobs.js.
"use strict";

import { duplicateSelected, removeSelected } from "./edit.js";

const TYPING = new Set(["INPUT", "SELECT", "TEXTAREA"]);

function typing(target) {
  return target instanceof HTMLElement && (TYPING.has(target.tagName) || target.isContentEditable);
}

export function mount(store, layout, player, canvas) {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || typing(event.target) || event.altKey) return;
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    let handled = true;
    if (mod && key === "z" && !event.shiftKey) store.undo();
    else if ((mod && key === "z" && event.shiftKey) || (event.ctrlKey && key === "y")) store.redo();
    else if (mod && key === "d") duplicateSelected(store, layout);
    else if (mod) handled = false;
    else if (key === "Delete" || key === "Backspace") removeSelected(store);
    else if (key === " " && !(event.target instanceof HTMLButtonElement)) player.toggle();
    else if (key === "ArrowLeft" || key === "ArrowRight") {
      const seconds = event.shiftKey ? 1 : player.frame();
      player.step(key === "ArrowLeft" ? -seconds : seconds);
    } else if (key === "Home") player.jump("start");
    else if (key === "End") player.jump("end");
    else if (key === "k") canvas.addKeyframe();
    else if (key === "Escape") store.select(null);
    else handled = false;
    if (handled) event.preventDefault();
  });
}
