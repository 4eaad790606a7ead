// Playback and the transport: play renders a low-resolution clip of [playhead, playhead + 10 s]
// with the engine (POST /api/v1/preview/clip) and plays it over the canvas, moving the playhead
// with it; pause or the clip's end puts the still frame back. The buttons step by frames and jump
// to the ends; "Keyframe" keys the selected element's position at the playhead.
"use strict";

import { $, element, errorMessage, jsonOf, postPreview } from "./api.js";
import { toFrame } from "./edit.js";

const CLIP_SECONDS = 10;

export function mount(store, layout, canvas) {
  const transport = $("transport");
  const home = control("|◀", "Go to the start (Home)", "go-start");
  const back = control("◁", "Previous frame (←)", "frame-back");
  const play = control("▶", "Play (Space)", "play");
  const forward = control("▷", "Next frame (→)", "frame-forward");
  const end = control("▶|", "Go to the end (End)", "go-end");
  const keyframe = control("◆ Keyframe", "Keyframe the selected element's position here (K)", "keyframe");
  const clock = element("output", null, "tp-time");
  clock.id = "time";
  clock.setAttribute("aria-live", "off");
  const note = element("span", null, "tp-note");
  note.setAttribute("role", "status");
  transport.append(home, back, play, forward, end, clock, keyframe, note);

  const video = element("video", null, "cv-video");
  video.playsInline = true;
  video.hidden = true;
  canvas.frame.append(video);

  let session = 0; // bumps on every play/stop: a late clip of an older play is dropped
  let playing = false;
  let clipStart = 0;
  let clipUrl = null;

  const fps = () => layout.output.fps || 30;
  const duration = () => layout.output.duration || 0;

  const showTime = () => {
    clock.textContent = `${store.time.toFixed(2)} / ${duration().toFixed(2)} s`;
    keyframe.disabled = !store.selection;
  };

  const setPlaying = (value) => {
    playing = value;
    play.textContent = value ? "❚❚" : "▶";
    play.title = value ? "Pause (Space)" : "Play (Space)";
    play.setAttribute("aria-label", play.title);
    play.setAttribute("aria-pressed", String(value));
  };

  const stop = () => {
    session += 1;
    setPlaying(false);
    video.pause();
    video.hidden = true;
    if (clipUrl) URL.revokeObjectURL(clipUrl);
    clipUrl = null;
    video.removeAttribute("src");
    canvas.pause(false);
  };

  const start = async () => {
    const total = duration();
    if (store.time >= total - 1 / fps()) store.seek(0);
    const from = store.time;
    const length = Math.min(CLIP_SECONDS, total - from);
    if (length <= 0) return;
    const mine = ++session;
    setPlaying(true);
    note.textContent = "Rendering the preview…";
    let response;
    try {
      response = await postPreview("clip", store, { start: from, duration: length });
    } catch (error) {
      if (mine === session) stopWith(`Cannot play: ${error.message}`);
      return;
    }
    if (mine !== session) return;
    if (!response.ok) {
      const data = await jsonOf(response);
      if (mine === session) stopWith(`Cannot play: ${errorMessage(response.status, data)}`);
      return;
    }
    const blob = await response.blob();
    if (mine !== session) return;
    note.textContent = "";
    clipStart = from;
    clipUrl = URL.createObjectURL(blob);
    video.src = clipUrl;
    video.hidden = false;
    canvas.pause(true);
    try {
      await video.play();
    } catch (error) {
      if (mine === session) stopWith(`Cannot play: ${error.message}`);
      return;
    }
    follow(mine);
  };

  const stopWith = (text) => {
    stop();
    note.textContent = text;
  };

  /** Move the playhead with the video, frame by frame where the browser can tell. */
  const follow = (mine) => {
    const tick = () => {
      if (mine !== session) return;
      store.seek(Math.min(duration(), clipStart + video.currentTime));
      if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(tick);
    };
    if ("requestVideoFrameCallback" in video) video.requestVideoFrameCallback(tick);
    else video.addEventListener("timeupdate", tick);
  };

  video.addEventListener("ended", () => {
    store.seek(toFrame(Math.min(duration(), clipStart + video.duration), fps()));
    stop();
  });

  const toggle = () => (playing ? pauseHere() : start());
  const pauseHere = () => {
    const at = video.hidden ? store.time : clipStart + video.currentTime;
    stop();
    store.seek(toFrame(at, fps()));
  };
  const step = (seconds) => {
    if (playing) pauseHere();
    store.seek(toFrame(Math.min(duration(), Math.max(0, store.time + seconds)), fps()));
  };
  const jump = (where) => {
    if (playing) pauseHere();
    store.seek(where === "start" ? 0 : toFrame(Math.max(0, duration() - 1 / fps()), fps()));
  };

  home.addEventListener("click", () => jump("start"));
  back.addEventListener("click", () => step(-1 / fps()));
  play.addEventListener("click", toggle);
  forward.addEventListener("click", () => step(1 / fps()));
  end.addEventListener("click", () => jump("end"));
  keyframe.addEventListener("click", () => canvas.addKeyframe());
  store.subscribe(({ reason }) => {
    if (reason === "spec" && playing) pauseHere(); // the clip no longer shows the spec
    showTime();
  });
  layout.subscribe(showTime);
  setPlaying(false);
  showTime();

  return {
    toggle,
    step,
    jump,
    frame: () => 1 / fps(),
    get playing() {
      return playing;
    },
  };
}

function control(text, label, id) {
  const node = element("button", text, "tp-button");
  node.type = "button";
  node.id = id;
  node.title = label;
  node.setAttribute("aria-label", label);
  return node;
}
