// Lengths as a spec writes them (120, "120px", "25%", or keyframe lists of those), resolved to
// pixels and written back in the unit the element already uses, so an edit on the canvas never
// turns a percent layout into pixels behind the user's back.
"use strict";

const LENGTH_RE = /^\s*(-?\d+(?:\.\d+)?)\s*(%|px)?\s*$/;

/** Properties that take a value or a keyframe list ([{time, value, easing}]). */
export const KEYFRAMED = ["x", "y", "width", "height", "scale", "opacity", "rotation", "volume"];

/** The unit a length is written in: "%", "px" (a "120px" string) or "" (a number). */
export function unitOf(value) {
  if (typeof value === "number") return "";
  const match = typeof value === "string" ? LENGTH_RE.exec(value) : null;
  return match ? match[2] || "px" : "";
}

/** Pixels of a length; percent is of `total`. NaN for anything else. */
export function toPx(value, total) {
  if (typeof value === "number") return value;
  const match = typeof value === "string" ? LENGTH_RE.exec(value) : null;
  if (!match) return NaN;
  const number = Number(match[1]);
  return match[2] === "%" ? (number * total) / 100 : number;
}

/** `px` written in `unit` ("%" of `total`, a "px" string, or a plain number). */
export function fromPx(px, unit, total) {
  if (unit === "%") return `${round(total ? (px * 100) / total : 0, 2)}%`;
  if (unit === "px") return `${Math.round(px)}px`;
  return Math.round(px);
}

export function round(value, digits) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** A keyframed value at `t` seconds of the element's own time (linear between keyframes: good
 * enough for a fallback box; the engine's layout is the truth once it answers). */
export function valueAt(value, t) {
  if (!Array.isArray(value)) return value;
  if (!value.length) return undefined;
  if (t <= value[0].time) return value[0].value;
  for (let i = 1; i < value.length; i++) {
    const a = value[i - 1];
    const b = value[i];
    if (t <= b.time) {
      const pa = toPx(a.value, 100);
      const pb = toPx(b.value, 100);
      if (Number.isNaN(pa) || Number.isNaN(pb) || unitOf(a.value) !== unitOf(b.value)) return b.value;
      const mixed = pa + ((pb - pa) * (t - a.time)) / (b.time - a.time);
      return unitOf(a.value) === "%" ? `${mixed}%` : mixed;
    }
  }
  return value[value.length - 1].value;
}

/** The factor of a `scale` (1.2, "120%" or keyframes of those) at `t` seconds of element time. */
export function scaleAt(value, t) {
  const at = Array.isArray(value) ? valueAt(value.map((key) => ({ ...key, value: factor(key.value) })), t) : value;
  const result = factor(at);
  return Number.isFinite(result) && result > 0 ? result : 1;
}

function factor(value) {
  if (typeof value === "string" && value.trim().endsWith("%")) return Number.parseFloat(value) / 100;
  return value == null ? 1 : Number(value);
}

/** Set a length property to `px` (pixels in the element's frame of `total`): a plain value keeps
 * its unit; a keyframe list gets (or updates) the keyframe at `t` seconds of element time. */
export function writeLength(element, name, px, total, t, frameSeconds) {
  const current = element[name];
  if (!Array.isArray(current)) {
    element[name] = fromPx(px, current === undefined || current === null ? "" : unitOf(current), total);
    return;
  }
  setKeyframe(current, t, frameSeconds, (near) => fromPx(px, unitOf(near.value), total));
}

/** Add or update the keyframe at `t` in a sorted list; `valueFor(nearest)` makes its value. */
export function setKeyframe(list, t, frameSeconds, valueFor) {
  const time = Math.max(0, round(t, 4));
  const tolerance = frameSeconds / 2;
  const existing = list.find((key) => Math.abs(key.time - time) < tolerance);
  if (existing) {
    existing.value = valueFor(existing);
    return;
  }
  const nearest = list.reduce((best, key) => (Math.abs(key.time - time) < Math.abs(best.time - time) ? key : best));
  const key = { time, value: valueFor(nearest) };
  const at = list.findIndex((other) => other.time > time);
  if (at < 0) list.push(key);
  else list.splice(at, 0, key);
}
