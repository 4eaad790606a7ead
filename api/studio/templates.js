// Placeholder: replaced by the templates module of the editor.
"use strict";

export function mount(store) {
  return store;
}
