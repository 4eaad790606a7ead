// Placeholder: replaced by the canvas module of the editor.
"use strict";

export function mount(store) {
  return store;
}
