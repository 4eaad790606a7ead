// The JSON view: the spec as text, in sync both ways with the store. Typing valid JSON replaces
// the spec (one undo step per pause in typing); any other change to the spec rewrites the text
// unless the user is in the middle of typing invalid JSON there.
"use strict";

import { $ } from "./api.js";

const TYPING_PAUSE_MS = 400;

export function mount(store, showErrors, clearErrors) {
  const area = $("spec");
  let timer = null;
  let typing = false;

  const write = () => {
    if (typing) return;
    area.value = JSON.stringify(store.spec, null, 2);
  };

  const read = () => {
    timer = null;
    let spec;
    try {
      spec = JSON.parse(area.value);
    } catch (error) {
      showErrors(`The spec is not JSON: ${error.message}`, null);
      return false;
    }
    clearErrors();
    typing = false;
    if (spec && typeof spec === "object" && !Array.isArray(spec)) store.replace(spec, "Edit JSON");
    else showErrors("The spec must be a JSON object.", null);
    return true;
  };

  area.addEventListener("input", () => {
    typing = true;
    if (timer) clearTimeout(timer);
    timer = setTimeout(read, TYPING_PAUSE_MS);
  });
  area.addEventListener("blur", () => {
    if (timer) {
      clearTimeout(timer);
      read();
    }
  });
  store.subscribe(({ reason }) => {
    if (reason === "spec") write();
  });
  write();
  /** Read what is typed now (before a render): false when it is not JSON. */
  return {
    flush() {
      if (timer) clearTimeout(timer);
      return typing ? read() : true;
    },
  };
}
