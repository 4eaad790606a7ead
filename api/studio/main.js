// The studio's entry point: one store for the spec being edited, and the views mounted on it.
"use strict";

import { $, element } from "./api.js";
import * as canvas from "./canvas.js";
import * as jobs from "./jobs.js";
import * as jsonview from "./jsonview.js";
import { createLayout } from "./layout.js";
import * as panel from "./panel.js";
import * as playback from "./playback.js";
import * as shelf from "./shelf.js";
import * as shortcuts from "./shortcuts.js";
import { Store } from "./store.js";
import * as templates from "./templates.js";
import * as timeline from "./timeline.js";

async function loadExamples() {
  const response = await fetch("/studio/examples.json");
  return response.json();
}

function bindHistoryButtons(store) {
  const refresh = () => {
    $("undo").disabled = !store.canUndo;
    $("redo").disabled = !store.canRedo;
  };
  $("undo").addEventListener("click", () => store.undo());
  $("redo").addEventListener("click", () => store.redo());
  store.subscribe(refresh);
  refresh();
}

async function start() {
  const examples = await loadExamples();
  const store = new Store(examples[0].spec);
  window.videogenStudio = { store }; // for the browser tests and the console
  $("example").replaceChildren(...examples.map((example, index) => {
    const option = element("option", example.name);
    option.value = String(index);
    return option;
  }));
  $("example").addEventListener("change", () => {
    const example = examples[Number($("example").value)];
    if (!example) return;
    jobs.clearErrors();
    store.replace(example.spec, `Open “${example.name}”`);
    store.select(null);
    store.seek(0);
  });
  const json = jsonview.mount(store, jobs.showErrors, jobs.clearErrors);
  jobs.mount(store, json);
  bindHistoryButtons(store);
  const layout = createLayout(store);
  window.videogenStudio.layout = layout;
  timeline.mount(store, layout);
  const stage = canvas.mount(store, layout);
  shortcuts.mount(store, layout, playback.mount(store, layout, stage), stage);
  panel.mount(store);
  shelf.mount(store);
  templates.mount(store);
}

document.addEventListener("DOMContentLoaded", start);
