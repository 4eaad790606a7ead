// Placeholder: replaced by the panel module of the editor.
"use strict";

export function mount(store) {
  return store;
}
