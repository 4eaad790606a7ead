// Render the spec, follow the job over its WebSocket, watch the result, find past jobs.
"use strict";

import { $, api, apiKey, bindApiKey, element, errorMessage, fieldErrors } from "./api.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const STILLS = new Set(["gif", "jpg", "png"]);
const SOUNDS = new Set(["mp3", "wav", "m4a"]);

let socket = null; // the progress socket of the job in the tracker, if any
let trackedJob = null;
let store = null;
let json = null;

// --- Errors ----------------------------------------------------------------------------------

export function clearErrors() {
  $("errors").hidden = true;
  $("error-message").textContent = "";
  $("error-fields").replaceChildren();
}

/** The message and, for a validation error, each field path with its reason. */
export function showErrors(message, details) {
  $("error-message").textContent = message;
  const items = [];
  const fields = details && Array.isArray(details.fields) ? details.fields : null;
  if (fields) {
    for (const field of fields) {
      const item = element("li");
      item.append(element("code", field.field), document.createTextNode(` ${field.message}`));
      items.push(item);
    }
  } else if (details) {
    for (const [key, value] of Object.entries(details)) {
      const item = element("li");
      item.append(element("code", key), document.createTextNode(` ${JSON.stringify(value)}`));
      items.push(item);
    }
  }
  $("error-fields").replaceChildren(...items);
  $("errors").hidden = false;
}

// --- Render ----------------------------------------------------------------------------------

async function render() {
  if (!json.flush()) return;
  clearErrors();
  $("render").disabled = true;
  $("render").textContent = "Rendering…";
  try {
    const { status, data } = await api("POST", "/api/v1/videocreate", store.spec);
    if (status === 200) {
      stopTracking();
      $("track").hidden = true;
      store.setErrors([]);
      showResult(data, "quick");
    } else if (status === 202) {
      store.setErrors([]);
      track(data.job_id, data.estimated_seconds);
    } else {
      store.setErrors(fieldErrors(data));
      showErrors(errorMessage(status, data), data && data.error ? data.error.details : null);
    }
  } catch (error) {
    showErrors(`Request failed: ${error.message}`, null);
  } finally {
    $("render").disabled = false;
    $("render").textContent = "Render";
    refreshHistory();
  }
}

// --- Track -----------------------------------------------------------------------------------

function stopTracking() {
  if (socket) socket.close(1000);
  socket = null;
  trackedJob = null;
}

function seconds(value) {
  return typeof value === "number" ? `${Math.round(value)} s` : "–";
}

/** One state of the job (a WebSocket message's data, or a GET/DELETE answer) in the tracker. */
function showState(job) {
  $("track").hidden = false;
  $("track-job").textContent = job.job_id;
  $("track-status").textContent = job.status;
  const percent = job.status === "completed" ? 100 : job.progress_percent;
  if (typeof percent === "number") {
    $("track-progress").value = percent;
    $("track-percent").textContent = `${Math.round(percent)}%`;
  }
  $("track-step").textContent = job.current_step || job.status;
  $("track-estimate").textContent = TERMINAL.has(job.status)
    ? `took ${seconds(job.processing_time_seconds)}`
    : `estimate ${seconds(job.estimated_seconds)}, elapsed ${seconds(job.elapsed_seconds)}`;
  $("track-note").textContent = job.message && job.status !== "completed" ? `${job.error || ""} ${job.message}` : "";
  $("cancel").disabled = TERMINAL.has(job.status);
  if (job.status === "completed") showResult(job, "tracked");
  if (TERMINAL.has(job.status)) refreshHistory();
}

/** Follow a job over its WebSocket; the server closes with 1000 after the terminal state. */
function track(jobId, estimate) {
  stopTracking();
  trackedJob = jobId;
  $("watch").hidden = true;
  showState({ job_id: jobId, status: "queued", progress_percent: 0, current_step: "queued",
              estimated_seconds: estimate, elapsed_seconds: 0 });
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = apiKey() ? `?api_key=${encodeURIComponent(apiKey())}` : "";
  const ws = new WebSocket(`${scheme}//${location.host}/ws/jobs/${encodeURIComponent(jobId)}${query}`);
  socket = ws;
  ws.addEventListener("message", (event) => {
    if (ws === socket) showState(JSON.parse(event.data).data);
  });
  ws.addEventListener("close", (event) => {
    if (ws !== socket) return;
    socket = null;
    if (event.code !== 1000) $("track-note").textContent = `Progress stream closed (${event.code}) ${event.reason}`;
  });
}

async function cancel() {
  if (!trackedJob) return;
  $("cancel").disabled = true;
  const { status, data } = await api("DELETE", `/api/v1/videoresult/${encodeURIComponent(trackedJob)}`);
  if (status === 200) {
    showState(data);
  } else {
    $("track-note").textContent = errorMessage(status, data);
    $("cancel").disabled = false;
  }
}

// --- Watch -----------------------------------------------------------------------------------

function showResult(job, path) {
  const format = job.output_format || "";
  const media = element(STILLS.has(format) ? "img" : SOUNDS.has(format) ? "audio" : "video");
  if (media instanceof HTMLMediaElement) {
    media.controls = true;
    media.preload = "metadata";
    if (media instanceof HTMLVideoElement) {
      media.playsInline = true;
      if (job.poster_url) media.poster = job.poster_url;
    }
  } else {
    media.alt = `Result of ${job.job_id}`;
  }
  media.src = job.result_url;
  $("media").replaceChildren(media);
  $("watch-job").textContent = job.job_id;
  $("watch-size").textContent = job.file_size || "–";
  $("watch-duration").textContent = job.duration || "–";
  $("watch-processing").textContent = job.processing_time || "–";
  $("download").href = job.result_url;
  $("watch").dataset.path = path;
  $("watch").hidden = false;
}

// --- Find ------------------------------------------------------------------------------------

async function refreshHistory() {
  const query = new URLSearchParams({ limit: "20" });
  if ($("history-status").value) query.set("status", $("history-status").value);
  let answer;
  try {
    answer = await api("GET", `/api/v1/videos?${query}`);
  } catch (error) {
    $("history-note").textContent = `Request failed: ${error.message}`;
    return;
  }
  const { status, data } = answer;
  if (status !== 200) {
    const hint = status === 401 ? " Enter your API key above." : "";
    $("history-note").textContent = errorMessage(status, data) + hint;
    $("history-rows").replaceChildren();
    return;
  }
  $("history-note").textContent = data.jobs.length ? (data.total === null ? `${data.jobs.length} shown, more on later pages` : `${data.jobs.length} of ${data.total}`) : "No jobs yet.";
  $("history-rows").replaceChildren(...data.jobs.map((job) => {
    const row = element("tr");
    const open = element("button", job.job_id);
    open.type = "button";
    open.addEventListener("click", () => openJob(job.job_id));
    const cell = element("td");
    cell.append(open);
    const submitted = job.submitted_at ? new Date(job.submitted_at).toLocaleString() : "–";
    row.append(element("td", submitted), cell, element("td", job.status),
               element("td", `${Math.round(job.progress_percent)}%`));
    row.dataset.jobId = job.job_id;
    return row;
  }));
}

/** A history row's job: a finished one is shown, an unfinished one followed. */
async function openJob(jobId) {
  const { status, data } = await api("GET", `/api/v1/videoresult/${encodeURIComponent(jobId)}`);
  if (status !== 200) {
    $("history-note").textContent = errorMessage(status, data);
    return;
  }
  if (TERMINAL.has(data.status)) {
    stopTracking();
    trackedJob = jobId;
    showState(data);
    if (data.status !== "completed") $("watch").hidden = true;
  } else {
    track(jobId, data.estimated_seconds);
  }
}

// --- Start -----------------------------------------------------------------------------------

/** Wire the render button (and Ctrl+Enter), the tracker and the history to `editorStore`; `jsonView`
 * is the JSON view, flushed before a render so what is typed is what renders. */
export function mount(editorStore, jsonView) {
  store = editorStore;
  json = jsonView;
  bindApiKey(refreshHistory);
  $("render").addEventListener("click", render);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      render();
    }
  });
  $("cancel").addEventListener("click", cancel);
  // A render started elsewhere on the page (a template rendered with values): shown or followed here.
  document.addEventListener("videogen:job", (event) => {
    const { status, data } = event.detail;
    if (status === 200) {
      stopTracking();
      $("track").hidden = true;
      showResult(data, "quick");
    } else if (status === 202) {
      track(data.job_id, data.estimated_seconds);
    }
    refreshHistory();
  });
  $("history-status").addEventListener("change", refreshHistory);
  $("history-refresh").addEventListener("click", refreshHistory);
  refreshHistory();
}
