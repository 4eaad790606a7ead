// The timeline: one row per track (higher tracks, drawn on top in the video, on top rows), each
// element a block at its start and length. Dragging a block moves it in time (snapped to frames,
// and to other blocks' edges and the playhead; Alt: frames only) or to another track; dragging an
// edge trims or extends it; keyframes are marks on their block, dragged in time. A drag is one undo
// step. The ruler scrubs the playhead; Ctrl/⌘+wheel and the buttons zoom.
"use strict";

import { $, element } from "./api.js";
import { describe, nudgeSelected, toFrame } from "./edit.js";
import { KEYFRAMED, round } from "./lengths.js";
import { getPath } from "./store.js";

const ROW_PX = 36;
const SNAP_PX = 8;
const DRAG_THRESHOLD_PX = 3;
const MIN_PPS = 2;
const MAX_PPS = 2000;
const ZOOM_STEP = 1.5;
const TICK_STEPS = [0.04, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
const PLAYABLE = new Set(["video", "audio"]);

export function mount(store, layout) {
  const root = $("timeline");
  const zoomOut = button("−", "Zoom out the timeline", "tl-zoom-out");
  const zoomIn = button("+", "Zoom in the timeline", "tl-zoom-in");
  const fitButton = button("Fit", "Fit the whole video in the timeline", "tl-fit");
  const bar = element("div", null, "tl-bar");
  bar.append(zoomOut, zoomIn, fitButton, element("span", "Drag blocks to move, edges to trim · Ctrl+wheel zooms", "tl-hint"));
  const labels = element("div", null, "tl-labels");
  const scroll = element("div", null, "tl-scroll");
  const content = element("div", null, "tl-content");
  const ruler = element("div", null, "tl-ruler");
  ruler.tabIndex = 0;
  ruler.setAttribute("role", "slider");
  ruler.setAttribute("aria-label", "Playhead");
  ruler.setAttribute("aria-valuemin", "0");
  const rows = element("div", null, "tl-rows");
  const playhead = element("div", null, "tl-playhead");
  content.append(ruler, rows, playhead);
  scroll.append(content);
  const body = element("div", null, "tl-body");
  body.append(labels, scroll);
  root.append(bar, body);

  let pps = null; // pixels per second; null: fit the video to the width
  let tracks = []; // the rows' track numbers, top row first
  let frozenTracks = null; // the rows during a drag, so a track emptied mid-drag keeps its row
  let spans = []; // per top-level element: {start, end}
  let drag = null;

  const fps = () => layout.output.fps || 30;
  const scale = () => pps || fitScale();
  const fitScale = () => Math.max(MIN_PPS, (scroll.clientWidth - 16) / Math.max(1, layout.output.duration || 1));

  /** Where an element is in time: the engine's answer when it was made for this spec, else the
   * spec's own numbers (mid-drag), with a "media" length taken from the last answer. */
  const spanOf = (item, index, out) => {
    const entry = layout.entry(`elements.${index}`);
    if (entry && layout.fresh) return { start: entry.start, end: entry.end };
    const start = Number(item.time || 0);
    if (typeof item.duration === "number") return { start, end: start + item.duration };
    if (item.duration === "media" && entry) return { start, end: start + (entry.end - entry.start) };
    return { start, end: Math.max(start + 1 / fps(), out.duration) };
  };

  const trackList = (elements) => {
    const used = [...new Set(elements.map((item) => Number(item.track ?? 1)))].sort((a, b) => b - a);
    return [(used[0] ?? 0) + 1, ...used]; // an empty row on top: drop a block there for a new track
  };

  const render = () => {
    const elements = Array.isArray(store.spec.elements) ? store.spec.elements : [];
    const out = layout.output;
    spans = elements.map((item, index) => spanOf(item, index, out));
    tracks = frozenTracks || trackList(elements);
    const px = scale();
    const length = Math.max(out.duration || 0, ...spans.map((span) => span.end), 1);
    content.style.width = `${Math.ceil(length * px) + 24}px`;
    rows.style.height = `${tracks.length * ROW_PX}px`;
    const focused = root.contains(document.activeElement) ? document.activeElement.dataset.path : null;

    labels.replaceChildren(
      element("div", null, "tl-corner"),
      ...tracks.map((track, row) => element("div", row === 0 ? `${track} (new)` : `Track ${track}`, "tl-label")),
    );
    rows.replaceChildren(
      ...tracks.map((_, row) => {
        const line = element("div", null, "tl-row");
        line.style.top = `${row * ROW_PX}px`;
        return line;
      }),
      ...elements.map((item, index) => block(item, index, px)),
    );
    drawRuler(length, px);
    markSelection();
    movePlayhead();
    if (focused) {
      const again = rows.querySelector(`[data-path="${focused}"]`);
      if (again) again.focus({ preventScroll: true });
    }
    zoomIn.disabled = px >= MAX_PPS;
    zoomOut.disabled = px <= MIN_PPS;
  };

  const block = (item, index, px) => {
    const span = spans[index];
    const track = Number(item.track ?? 1);
    const path = `elements.${index}`;
    const node = element("div", null, "tl-block");
    node.dataset.path = path;
    node.dataset.type = String(item.type || "");
    node.tabIndex = 0;
    node.setAttribute("role", "button");
    node.setAttribute(
      "aria-label",
      `${describe(item)} ${span.start.toFixed(1)}–${span.end.toFixed(1)} s track ${track}`,
    );
    node.style.left = `${span.start * px}px`;
    node.style.width = `${Math.max(6, (span.end - span.start) * px)}px`;
    node.style.top = `${Math.max(0, tracks.indexOf(track)) * ROW_PX + 3}px`;
    node.append(element("span", describe(item), "tl-name"));
    for (const edge of ["start", "end"]) {
      const handle = element("span", null, `tl-trim tl-trim-${edge}`);
      handle.dataset.edge = edge;
      handle.title = edge === "start" ? "Drag to trim the start" : "Drag to change the length";
      node.append(handle);
    }
    for (const time of keyframeTimes(item)) {
      const mark = element("span", null, "tl-key");
      mark.dataset.keyTime = String(time);
      mark.style.left = `${time * px}px`;
      mark.title = `Keyframe at ${round(time, 3)} s of this element (drag to move)`;
      node.append(mark);
    }
    node.addEventListener("pointerdown", (event) => startDrag(event, index));
    node.addEventListener("focus", () => store.select(["elements", index]));
    node.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        event.stopPropagation(); // the page's arrows move the playhead; on a block they move it
        const step = event.shiftKey ? 1 : 1 / fps();
        store.select(["elements", index]);
        nudgeSelected(store, event.key === "ArrowLeft" ? -step : step, fps(), `nudge-${index}`);
      }
    });
    node.addEventListener("keyup", () => store.commit());
    return node;
  };

  const markSelection = () => {
    const selected = store.selection && store.selection.length === 2 ? `elements.${store.selection[1]}` : null;
    for (const node of rows.querySelectorAll(".tl-block")) {
      node.setAttribute("aria-pressed", String(node.dataset.path === selected));
    }
  };

  const drawRuler = (length, px) => {
    const step = TICK_STEPS.find((candidate) => candidate * px >= 60) || TICK_STEPS[TICK_STEPS.length - 1];
    const ticks = [];
    for (let t = 0; t <= length + 1e-9; t += step) {
      const tick = element("span", clock(t), "tl-tick");
      tick.style.left = `${t * px}px`;
      ticks.push(tick);
    }
    ruler.replaceChildren(...ticks);
    ruler.setAttribute("aria-valuemax", String(round(length, 3)));
  };

  const movePlayhead = () => {
    const px = scale();
    playhead.style.left = `${store.time * px}px`;
    ruler.setAttribute("aria-valuenow", String(round(store.time, 3)));
    ruler.setAttribute("aria-valuetext", `${store.time.toFixed(2)} s`);
    const x = store.time * px;
    if (!drag && (x < scroll.scrollLeft || x > scroll.scrollLeft + scroll.clientWidth - 8)) {
      scroll.scrollLeft = Math.max(0, x - scroll.clientWidth / 4);
    }
  };

  // --- Dragging ---------------------------------------------------------------------------------

  const startDrag = (event, index) => {
    if (event.button !== 0) return;
    event.preventDefault();
    const item = store.spec.elements[index];
    event.currentTarget.focus({ preventScroll: true }); // selects it
    store.select(["elements", index]);
    const target = event.target;
    const span = spans[index];
    const kind = target.dataset.keyTime ? "key" : target.dataset.edge || "move";
    drag = {
      kind,
      index,
      x: event.clientX,
      moved: false,
      merge: `timeline-${kind}-${index}-${Date.now()}`,
      span: { ...span },
      element: JSON.parse(JSON.stringify(item)),
      keyTime: kind === "key" ? Number(target.dataset.keyTime) : null,
    };
    frozenTracks = tracks;
  };

  const onMove = (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const sameRow = drag.kind !== "move" || rowAt(event.clientY) === Number(drag.element.track ?? 1);
    if (!drag.moved && Math.abs(dx) < DRAG_THRESHOLD_PX && sameRow) return;
    drag.moved = true;
    const dt = dx / scale();
    const apply = { move: moveTo, start: trimStart, end: trimEnd, key: moveKey }[drag.kind];
    apply(dt, event);
  };

  const onUp = () => {
    if (!drag) return;
    drag = null;
    frozenTracks = null;
    store.commit();
    render();
  };

  const rowAt = (clientY) => {
    const top = rows.getBoundingClientRect().top;
    const row = Math.min(tracks.length - 1, Math.max(0, Math.floor((clientY - top) / ROW_PX)));
    return tracks[row];
  };

  /** Edges to snap to: the other blocks' starts and ends and the playhead. */
  const edges = () => {
    const list = [0, store.time];
    spans.forEach((span, index) => {
      if (index !== drag.index) list.push(span.start, span.end);
    });
    return list;
  };

  /** The nearest edge within SNAP_PX of any of `times` (as the shift to apply), else null. */
  const snapShift = (times, event) => {
    if (event.altKey) return null;
    const reach = SNAP_PX / scale();
    let best = null;
    for (const edge of edges()) {
      for (const time of times) {
        const shift = edge - time;
        if (Math.abs(shift) <= reach && (best === null || Math.abs(shift) < Math.abs(best))) best = shift;
      }
    }
    return best;
  };

  const change = (label, mutate) => {
    store.update(label, (draft) => mutate(getPath(draft, ["elements", drag.index])), { merge: drag.merge });
  };

  const moveTo = (dt, event) => {
    const { span, element: item } = drag;
    const length = span.end - span.start;
    let start = Math.max(0, span.start + dt);
    const shift = snapShift([start, start + length], event);
    start = shift === null ? toFrame(start, fps()) : Math.max(0, round(start + shift, 4));
    const track = rowAt(event.clientY);
    change(`Move ${describe(item)}`, (draft) => {
      draft.time = round(Number(item.time || 0) + (start - span.start), 4);
      if (track !== Number(item.track ?? 1) || "track" in item) draft.track = track;
    });
  };

  const trimStart = (dt, event) => {
    const { span, element: item } = drag;
    const speed = Number(item.speed || 1);
    const trimmed = Number(item.trim_start || 0);
    const earliest = PLAYABLE.has(item.type) ? Math.max(0, span.start - trimmed / speed) : 0;
    let start = span.start + dt;
    const shift = snapShift([start], event);
    start = shift === null ? toFrame(start, fps()) : round(start + shift, 4);
    start = Math.min(span.end - 1 / fps(), Math.max(earliest, start));
    change(`Trim ${describe(item)}`, (draft) => {
      draft.time = round(Number(item.time || 0) + (start - span.start), 4);
      draft.duration = round(span.end - start, 4);
      if (PLAYABLE.has(item.type)) {
        const trim = round(trimmed + (start - span.start) * speed, 4);
        if (trim > 0) draft.trim_start = trim;
        else delete draft.trim_start;
      }
    });
  };

  const trimEnd = (dt, event) => {
    const { span, element: item } = drag;
    let end = span.end + dt;
    const shift = snapShift([end], event);
    end = shift === null ? toFrame(end, fps()) : round(end + shift, 4);
    end = Math.max(span.start + 1 / fps(), end);
    change(`Change the length of ${describe(item)}`, (draft) => {
      draft.duration = round(end - span.start, 4);
    });
  };

  const moveKey = (dt) => {
    const { span, element: item, keyTime } = drag;
    const frame = 1 / fps();
    const target = Math.min(span.end - span.start, Math.max(0, toFrame(keyTime + dt, fps())));
    change(`Move a keyframe of ${describe(item)}`, (draft) => {
      for (const name of KEYFRAMED) {
        const keys = item[name];
        if (!Array.isArray(keys)) continue;
        const at = keys.findIndex((key) => Math.abs(key.time - keyTime) < 1e-6);
        if (at < 0) continue;
        const low = at > 0 ? keys[at - 1].time + frame : 0;
        const high = at < keys.length - 1 ? keys[at + 1].time - frame : Infinity;
        draft[name][at].time = round(Math.min(high, Math.max(low, target)), 4);
      }
    });
  };

  // --- The ruler and zoom -------------------------------------------------------------------------

  const scrubTo = (clientX) => {
    const left = content.getBoundingClientRect().left;
    store.seek(toFrame(Math.max(0, (clientX - left) / scale()), fps()));
  };
  let scrubbing = false;
  ruler.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    scrubbing = true;
    scrubTo(event.clientX);
  });
  window.addEventListener("pointermove", (event) => {
    if (scrubbing) scrubTo(event.clientX);
    else onMove(event);
  });
  window.addEventListener("pointerup", () => {
    scrubbing = false;
    onUp();
  });
  window.addEventListener("pointercancel", () => {
    scrubbing = false;
    onUp();
  });

  const zoomAround = (factor, anchorPx) => {
    const before = scale();
    const time = (scroll.scrollLeft + anchorPx) / before;
    pps = Math.min(MAX_PPS, Math.max(MIN_PPS, before * factor));
    render();
    scroll.scrollLeft = Math.max(0, time * pps - anchorPx);
  };
  const playheadPx = () => Math.max(0, store.time * scale() - scroll.scrollLeft);
  zoomIn.addEventListener("click", () => zoomAround(ZOOM_STEP, playheadPx()));
  zoomOut.addEventListener("click", () => zoomAround(1 / ZOOM_STEP, playheadPx()));
  fitButton.addEventListener("click", () => {
    pps = null;
    render();
  });
  scroll.addEventListener(
    "wheel",
    (event) => {
      if (!(event.ctrlKey || event.metaKey)) return;
      event.preventDefault();
      const anchor = event.clientX - scroll.getBoundingClientRect().left;
      zoomAround(event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, anchor);
    },
    { passive: false },
  );
  new ResizeObserver(() => {
    if (pps === null) render();
  }).observe(scroll);

  store.subscribe(({ reason }) => {
    if (reason === "time") movePlayhead();
    else if (reason === "selection") markSelection();
    else if (reason === "spec") render();
  });
  layout.subscribe(() => {
    if (!drag) render();
  });
  render();
  return { render, get pixelsPerSecond() { return scale(); } };
}

function button(text, label, id) {
  const node = element("button", text);
  node.type = "button";
  node.id = id;
  node.title = label;
  node.setAttribute("aria-label", label);
  return node;
}

/** Keyframe times (seconds of the element) of every keyframed property, each time once. */
function keyframeTimes(item) {
  const times = new Set();
  for (const name of KEYFRAMED) {
    if (Array.isArray(item[name])) {
      for (const key of item[name]) if (key && typeof key.time === "number") times.add(key.time);
    }
  }
  return [...times].sort((a, b) => a - b);
}

/** "1.5 s" under a minute, "2:05" above. */
export function clock(seconds) {
  if (seconds < 60) return `${round(seconds, 2)} s`;
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}
