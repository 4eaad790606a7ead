// Placeholder: replaced by the shelf module of the editor.
"use strict";

export function mount(store) {
  return store;
}
