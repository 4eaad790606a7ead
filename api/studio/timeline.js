// Placeholder: replaced by the timeline module of the editor.
"use strict";

export function mount(store) {
  return store;
}
