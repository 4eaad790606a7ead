// Where the engine puts every element: POST /api/v1/preview/layout for the spec at the playhead
// (engine-resolved start/end, so "media" and omitted durations are real lengths, and each box in
// output pixels). The timeline and the canvas read it from here; one request serves both, one at a
// time, the newest spec next. Until the route answers (before the first answer, a spec it refuses,
// the network down) the layout is worked out from the spec itself, roughly: numbers it states,
// boxes by the engine's placement rules.
"use strict";

import { oneAtATime, postPreview, retryAfter } from "./api.js";
import { KEYFRAMED, toPx, valueAt } from "./lengths.js";

const DEBOUNCE_MS = 60;
const SILENT = new Set(["audio", "speech"]);

/** ["elements", 3, "elements", 0] from "elements.3.elements.0". */
export function pathOf(dotted) {
  return dotted.split(".").map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

export function createLayout(store) {
  const listeners = new Set();
  let current = fallback(store.spec, store.time);
  let forSpec = JSON.stringify(store.spec);
  let timer = null;

  const emit = () => {
    for (const fn of [...listeners]) fn(current);
  };

  const settle = (layout, specText) => {
    current = layout;
    forSpec = specText;
    emit();
  };

  const request = oneAtATime(async () => {
    const specText = JSON.stringify(store.spec);
    const time = store.time;
    try {
      const response = await postPreview("layout", store, { time });
      if (response.status === 429) {
        setTimeout(schedule, retryAfter(response) * 1000); // the server's preview slots are full
        return;
      }
      // A spec the API refuses still has a timeline: the spec's own numbers.
      const layout = response.ok ? { ...(await response.json()), time, source: "engine" } : null;
      settle(layout || fallback(store.spec, time), specText);
    } catch {
      settle(fallback(store.spec, time), specText);
    }
  });

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      request();
    }, DEBOUNCE_MS);
  };

  store.subscribe(({ reason }) => {
    if (reason === "spec" || reason === "time" || reason === "merge") schedule();
  });
  const key = document.getElementById("api-key");
  if (key) key.addEventListener("change", schedule);
  schedule();

  return {
    /** The last layout: {duration, width, height, fps, elements: [...], time, source}. */
    get current() {
      return current;
    },
    /** True when the layout was made for the spec as it is now (not mid-drag). */
    get fresh() {
      return forSpec === JSON.stringify(store.spec);
    },
    /** The layout's entry for a dotted path ("elements.2"), or null. */
    entry(dotted) {
      return current.elements.find((item) => item.path === dotted) || null;
    },
    /** The output's size, frame rate and length, from the layout or else the spec. */
    get output() {
      const { width, height, fps, duration } = current;
      if (width && height && fps && duration) return { width, height, fps, duration };
      const spec = fallback(store.spec, store.time);
      return {
        width: current.width || spec.width,
        height: current.height || spec.height,
        fps: current.fps || spec.fps,
        duration: current.duration || spec.duration,
      };
    },
    /** A promise of the layout for the spec and playhead as they are now (after a seek or an edit). */
    settled() {
      const ready = () => forSpec === JSON.stringify(store.spec) && current.time === store.time;
      if (ready() && !timer && !request.busy()) return Promise.resolve(current);
      return new Promise((resolve) => {
        const off = this.subscribe((next) => {
          if (ready()) {
            off();
            resolve(next);
          }
        });
      });
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    /** Ask again now (after a key is entered, a template's values change...). */
    refresh: schedule,
  };
}

// --- The layout as the spec states it ----------------------------------------------------------

function number(value, otherwise) {
  const parsed = typeof value === "number" ? value : Number.parseFloat(value);
  return Number.isFinite(parsed) ? parsed : otherwise;
}

/** The layout of a spec's top-level elements without the engine: stated times and lengths (a
 * "media" or omitted duration runs to the output's end) and boxes placed as media.placement does. */
export function fallback(spec, time) {
  const safe = spec && typeof spec === "object" ? spec : {};
  const width = number(safe.width, 1280);
  const height = number(safe.height, 720);
  const fps = number(safe.fps, 30);
  const elements = Array.isArray(safe.elements) ? safe.elements.filter((e) => e && typeof e === "object") : [];
  const ends = elements.map((e) => (typeof e.duration === "number" ? number(e.time, 0) + e.duration : 0));
  const starts = elements.map((e) => number(e.time, 0));
  const duration = number(safe.duration, Math.max(...ends, ...starts.map((s) => s + 1), 1));
  const placed = (Array.isArray(safe.elements) ? safe.elements : []).map((element, index) => {
    const item = element && typeof element === "object" ? element : {};
    const start = number(item.time, 0);
    const end = typeof item.duration === "number" ? start + item.duration : duration;
    const local = Math.max(0, time - start);
    const box = SILENT.has(item.type) ? null : boxOf(item, local, width, height);
    return {
      path: `elements.${index}`,
      type: item.type,
      track: number(item.track, 1),
      start,
      end,
      visible: Boolean(box) && time >= start && time < end,
      box,
      anchor: box ? box.anchor : null,
    };
  });
  placed.sort((a, b) => a.track - b.track); // drawing order: higher tracks on top, stable within one
  for (const item of placed) {
    if (item.box) delete item.box.anchor;
  }
  return { duration, width, height, fps, elements: placed, time, source: "spec" };
}

function boxOf(element, local, width, height) {
  const at = (name) => (KEYFRAMED.includes(name) ? valueAt(element[name], local) : element[name]);
  let w = element.width == null ? null : toPx(at("width"), width);
  let h = element.height == null ? null : toPx(at("height"), height);
  if (w === null && h === null) {
    if (element.type === "text") {
      const size = number(element.font_size, 48);
      const lines = String(element.text || "").split("\n");
      w = Math.max(...lines.map((line) => line.length)) * size * 0.6;
      h = lines.length * size * 1.2;
    } else {
      [w, h] = [width, height];
    }
  } else if (w === null) {
    w = element.type === "image" || element.type === "video" ? h : width;
  } else if (h === null) {
    h = element.type === "image" || element.type === "video" ? w : height;
  }
  if (!Number.isFinite(w) || !Number.isFinite(h)) return null;
  const ax = fraction(element.x_anchor, w);
  const ay = fraction(element.y_anchor, h);
  const anchorX = element.x == null ? width / 2 - w / 2 + ax * w : toPx(at("x"), width);
  const anchorY = element.y == null ? height / 2 - h / 2 + ay * h : toPx(at("y"), height);
  if (!Number.isFinite(anchorX) || !Number.isFinite(anchorY)) return null;
  return { x: anchorX - ax * w, y: anchorY - ay * h, width: w, height: h, anchor: { x: anchorX, y: anchorY } };
}

/** x_anchor / y_anchor as a fraction of the box's side (default 0: the top-left corner). */
export function fraction(anchor, size) {
  if (anchor == null) return 0;
  const px = toPx(anchor, size);
  return Number.isFinite(px) && size ? px / size : 0;
}
