// The canvas: the frame at the playhead as the engine renders it (POST /api/v1/preview/frame, the
// latest request wins, the last good frame stays until the next arrives), and over it the selected
// element's box with 8 handles, from the engine's layout. Click selects the topmost element under
// the pointer; dragging moves it, handles resize it (Shift keeps the aspect ratio). Values are
// written in the unit the element uses; a keyframed x/y gets a keyframe at the playhead instead.
"use strict";

import { $, element, errorMessage, fieldErrors, jsonOf, mergeOf, oneAtATime, postPreview, retryAfter } from "./api.js";
import { describe, toFrame } from "./edit.js";
import { fraction, pathOf } from "./layout.js";
import { fromPx, scaleAt, setKeyframe, unitOf, writeLength } from "./lengths.js";
import { dotted, getPath } from "./store.js";

const DEBOUNCE_MS = 60;
const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
const MIN_SIDE = 2;
const STAGE_HEIGHT_VH = 40;

export function mount(store, layout) {
  const root = $("canvas");
  const frame = element("div", null, "cv-frame");
  const image = element("img", null, "cv-image");
  image.alt = "The frame at the playhead";
  image.draggable = false;
  const overlay = element("div", null, "cv-overlay");
  overlay.setAttribute("aria-hidden", "true"); // the timeline and the panel are the accessible way in
  const message = element("p", null, "cv-message");
  message.setAttribute("role", "status");
  message.hidden = true;
  frame.append(image, overlay, message);
  root.append(frame);

  let timer = null;
  let frames = 0; // frames shown so far: tests and people can tell a new one arrived
  let paused = false; // playback shows its video instead
  let drag = null;

  const output = () => layout.output;

  const fit = () => {
    const { width, height } = output();
    frame.style.aspectRatio = `${width} / ${height}`;
    frame.style.width = `min(100%, ${((STAGE_HEIGHT_VH * width) / height).toFixed(3)}vh)`;
  };

  // --- The frame ----------------------------------------------------------------------------------

  const say = (text) => {
    message.textContent = text;
    message.hidden = !text;
  };

  const requestWidth = () => {
    const css = frame.clientWidth || 640;
    const wanted = Math.round(css * (window.devicePixelRatio || 1));
    return Math.max(2, Math.min(output().width, wanted - (wanted % 2)));
  };

  const wanted = () => JSON.stringify([store.spec, store.time, mergeOf(store), requestWidth()]);

  const request = oneAtATime(async () => {
    if (paused) return;
    const time = store.time;
    const sent = wanted();
    try {
      const response = await postPreview("frame", store, { time, width: requestWidth(), format: "jpg" });
      const current = sent === wanted(); // else a newer request follows: the page stays "loading"
      if (response.status === 429) {
        setTimeout(schedule, retryAfter(response) * 1000); // the server's preview slots are full
        return;
      }
      if (response.ok) {
        show(URL.createObjectURL(await response.blob()), time, response.headers.get("ETag"));
        say("");
        if (current) frame.dataset.state = "ready";
        if (current && store.errors.length) store.setErrors([]);
        return;
      }
      const data = await jsonOf(response);
      if (!current) return;
      if (response.status === 400) store.setErrors(fieldErrors(data));
      say(failure(response.status, data));
      frame.dataset.state = "error";
    } catch (error) {
      say(`No preview: ${error.message}`);
      frame.dataset.state = "error";
    }
  });

  const show = (url, time, etag) => {
    const previous = image.src;
    image.onload = () => {
      if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
    };
    image.src = url;
    frames += 1;
    image.dataset.time = String(time);
    image.dataset.frames = String(frames);
    if (etag) image.dataset.etag = etag;
  };

  const schedule = () => {
    if (paused) return;
    frame.dataset.state = "loading"; // "ready" or "error" once the answer is in: tests wait on it
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      request();
    }, DEBOUNCE_MS);
  };

  // --- The overlay --------------------------------------------------------------------------------

  /** CSS pixels per output pixel. */
  const ratio = () => frame.clientWidth / output().width;

  /** The box an element's x/y/width/height are relative to: its composition's, or the output. */
  const parentFrame = (path) => {
    const parent = path.length > 2 ? layout.entry(dotted(path.slice(0, -2))) : null;
    if (parent && parent.box) return parent.box;
    const { width, height } = output();
    return { x: 0, y: 0, width, height };
  };

  const drawOverlay = () => {
    const path = store.selection;
    const entry = path ? layout.entry(dotted(path)) : null;
    const box = drag ? drag.box : entry && entry.box;
    if (paused || !box) {
      overlay.replaceChildren();
      return;
    }
    const k = ratio();
    const outline = element("div", null, "cv-box");
    outline.classList.toggle("cv-away", Boolean(entry && !entry.visible));
    outline.style.left = `${box.x * k}px`;
    outline.style.top = `${box.y * k}px`;
    outline.style.width = `${box.width * k}px`;
    outline.style.height = `${box.height * k}px`;
    if (!drag && entry && entry.rotation) outline.style.transform = `rotate(${entry.rotation}deg)`;
    outline.dataset.path = dotted(path);
    for (const name of HANDLES) {
      const handle = element("span", null, `cv-handle cv-handle-${name}`);
      handle.dataset.handle = name;
      outline.append(handle);
    }
    overlay.replaceChildren(outline);
  };

  /** The pointer in output pixels. */
  const pointer = (event) => {
    const rect = frame.getBoundingClientRect();
    const k = ratio();
    return { x: (event.clientX - rect.left) / k, y: (event.clientY - rect.top) / k };
  };

  /** The topmost element drawn at the playhead under `point` (layout order: later is on top). */
  const hit = (point) => {
    const items = layout.current.elements;
    for (let i = items.length - 1; i >= 0; i--) {
      const { box, visible } = items[i];
      if (!box || !visible) continue;
      if (point.x >= box.x && point.x <= box.x + box.width && point.y >= box.y && point.y <= box.y + box.height) {
        return items[i];
      }
    }
    return null;
  };

  overlay.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || paused) return;
    event.preventDefault();
    const point = pointer(event);
    const handle = event.target.dataset.handle;
    const selected = store.selection ? layout.entry(dotted(store.selection)) : null;
    const entry = handle && selected ? selected : hit(point);
    if (!entry || !entry.box) {
      store.select(null);
      return;
    }
    const path = pathOf(entry.path);
    store.select(path);
    drag = {
      mode: handle || "move",
      path,
      start: point,
      entry,
      box: { ...entry.box },
      element: JSON.parse(JSON.stringify(getPath(store.spec, path))),
      parent: parentFrame(path),
      merge: `canvas-${entry.path}-${Date.now()}`,
      moved: false,
    };
    overlay.setPointerCapture(event.pointerId);
  });

  overlay.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const point = pointer(event);
    const dx = point.x - drag.start.x;
    const dy = point.y - drag.start.y;
    if (!drag.moved && Math.hypot(dx, dy) * ratio() < 3) return;
    drag.moved = true;
    if (drag.mode === "move") move(dx, dy);
    else resize(drag.mode, dx, dy, event.shiftKey);
    drawOverlay();
  });

  const finish = () => {
    if (!drag) return;
    drag = null;
    store.commit();
    drawOverlay();
  };
  overlay.addEventListener("pointerup", finish);
  overlay.addEventListener("pointercancel", finish);

  /** Seconds into the element at the playhead, on a frame: where a keyframe goes. */
  const elementTime = (entry) => {
    const fps = output().fps || 30;
    return Math.min(entry.end - entry.start, Math.max(0, toFrame(store.time - entry.start, fps)));
  };

  /** Where the element's x/y point is (output pixels), from the layout or its box. */
  const anchorOf = (entry, item) =>
    entry.anchor || {
      x: entry.box.x + fraction(item.x_anchor, entry.box.width) * entry.box.width,
      y: entry.box.y + fraction(item.y_anchor, entry.box.height) * entry.box.height,
    };

  const move = (dx, dy) => {
    const { entry, element: item, parent, path } = drag;
    const anchor = anchorOf(entry, item);
    const t = elementTime(entry);
    const frameSeconds = 1 / (output().fps || 30);
    drag.box = { ...entry.box, x: entry.box.x + dx, y: entry.box.y + dy };
    store.update(
      `Move ${describe(item)}`,
      (draft) => {
        const target = getPath(draft, path);
        writeLength(target, "x", anchor.x + dx - parent.x, parent.width, t, frameSeconds);
        writeLength(target, "y", anchor.y + dy - parent.y, parent.height, t, frameSeconds);
      },
      { merge: drag.merge },
    );
  };

  const resize = (handle, dx, dy, keepAspect) => {
    const { entry, element: item, parent, path } = drag;
    const box = entry.box;
    let [left, top, right, bottom] = [box.x, box.y, box.x + box.width, box.y + box.height];
    if (handle.includes("w")) left = Math.min(right - MIN_SIDE, left + dx);
    if (handle.includes("e")) right = Math.max(left + MIN_SIDE, right + dx);
    if (handle.includes("n")) top = Math.min(bottom - MIN_SIDE, top + dy);
    if (handle.includes("s")) bottom = Math.max(top + MIN_SIDE, bottom + dy);
    const horizontal = /[ew]/.test(handle);
    const vertical = /[ns]/.test(handle);
    if (keepAspect) {
      const aspect = box.width / box.height;
      let [w, h] = [right - left, bottom - top];
      if (horizontal && (!vertical || w / h > aspect)) h = w / aspect;
      else w = h * aspect;
      if (handle.includes("w")) left = right - w;
      else right = left + w;
      if (handle.includes("n")) top = bottom - h;
      else bottom = top + h;
    }
    const next = { x: left, y: top, width: right - left, height: bottom - top };
    drag.box = next;
    const t = elementTime(entry);
    const frameSeconds = 1 / (output().fps || 30);
    const factor = scaleAt(item.scale, t); // the box is scaled; width and height are before scaling
    store.update(
      `Resize ${describe(item)}`,
      (draft) => {
        const target = getPath(draft, path);
        const [width, height] = [next.width / factor, next.height / factor];
        if (horizontal || keepAspect) writeLength(target, "width", width, parent.width, t, frameSeconds);
        if (vertical || keepAspect) writeLength(target, "height", height, parent.height, t, frameSeconds);
        place(target, "x", next.x - parent.x, next.width, parent.width, t, frameSeconds);
        place(target, "y", next.y - parent.y, next.height, parent.height, t, frameSeconds);
      },
      { merge: drag.merge },
    );
  };

  /** Put the box's near edge at `edge` (in its parent): write x (or y) where the anchor point
   * then is, unless the element is centred (no x) and stays centred. */
  const place = (target, name, edge, size, total, t, frameSeconds) => {
    const anchor = edge + fraction(target[`${name}_anchor`], size) * size;
    if (target[name] == null && Math.abs(edge - (total - size) / 2) < 0.5) return;
    writeLength(target, name, anchor, total, t, frameSeconds);
  };

  // --- Keyframes ----------------------------------------------------------------------------------

  /** Make the selected element's x/y keyframed, or add a keyframe of them at the playhead. */
  const addKeyframe = async () => {
    const path = store.selection;
    if (!path) return false;
    const current = await layout.settled();
    const entry = current.elements.find((item) => item.path === dotted(path));
    const item = store.selected;
    if (!entry || !entry.box || !item || JSON.stringify(path) !== JSON.stringify(store.selection)) return false;
    const parent = parentFrame(path);
    const anchor = anchorOf(entry, item);
    const t = elementTime(entry);
    const frameSeconds = 1 / (output().fps || 30);
    return store.update(`Add a keyframe to ${describe(item)}`, (draft) => {
      const target = getPath(draft, path);
      for (const [name, px, total] of [
        ["x", anchor.x - parent.x, parent.width],
        ["y", anchor.y - parent.y, parent.height],
      ]) {
        const value = target[name];
        if (Array.isArray(value)) {
          setKeyframe(value, t, frameSeconds, (near) => fromPx(px, unitOf(near.value), total));
        } else {
          target[name] = [{ time: t, value: value == null ? fromPx(px, "", total) : value }];
        }
      }
    });
  };

  store.subscribe(({ reason }) => {
    if (reason === "spec" || reason === "time" || reason === "merge") schedule();
    if (reason === "spec") fit();
    if (reason === "selection") drawOverlay();
  });
  layout.subscribe(() => {
    fit();
    drawOverlay();
  });
  const key = document.getElementById("api-key");
  if (key) key.addEventListener("change", schedule);
  new ResizeObserver(() => {
    drawOverlay();
    schedule();
  }).observe(frame);
  fit();
  schedule();

  return {
    frame,
    addKeyframe,
    /** Stop asking for frames while a video plays over the canvas; resume with the frame at the playhead. */
    pause(value) {
      paused = value;
      drawOverlay();
      if (!paused) schedule();
    },
  };
}

function failure(status, data) {
  if (status === 401) return "Enter your API key above to see the preview.";
  if (status === 400) return `Cannot preview: ${errorMessage(status, data)}`;
  return `No preview: ${errorMessage(status, data)}`;
}
