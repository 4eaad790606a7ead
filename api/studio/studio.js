// videogen studio: write a spec, render it, follow or watch the job, find past jobs.
// Everything the API returns is inserted as text (textContent): job data is untrusted.
"use strict";

const KEY_STORAGE = "videogen.apiKey";
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const STILLS = new Set(["gif", "jpg", "png"]);
const SOUNDS = new Set(["mp3", "wav", "m4a"]);

const $ = (id) => document.getElementById(id);
let examples = [];
let socket = null; // the progress socket of the job in the tracker, if any
let trackedJob = null;

function apiKey() {
  return $("api-key").value.trim();
}

/** A fetch to the API with the key, answering the status and the parsed JSON body (or null). */
async function api(method, path, body) {
  const headers = {};
  if (apiKey()) headers["X-API-Key"] = apiKey();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  return { status: response.status, data };
}

/** The envelope's message, or a fallback naming the HTTP status. */
function errorMessage(status, data) {
  const error = data && data.error;
  return error && error.message ? `${error.code}: ${error.message}` : `HTTP ${status}`;
}

function element(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  return node;
}

// --- Write -----------------------------------------------------------------------------------

function clearErrors() {
  $("errors").hidden = true;
  $("error-message").textContent = "";
  $("error-fields").replaceChildren();
}

/** The message and, for a validation error, each field path with its reason. */
function showErrors(message, details) {
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

function pickExample() {
  const example = examples[Number($("example").value)];
  if (example) $("spec").value = JSON.stringify(example.spec, null, 2);
  clearErrors();
}

async function loadExamples() {
  const response = await fetch("/studio/examples.json");
  examples = await response.json();
  $("example").replaceChildren(...examples.map((example, index) => {
    const option = element("option", example.name);
    option.value = String(index);
    return option;
  }));
  pickExample();
}

async function render() {
  clearErrors();
  const text = $("spec").value;
  try {
    JSON.parse(text);
  } catch (error) {
    showErrors(`The spec is not JSON: ${error.message}`, null);
    return;
  }
  $("render").disabled = true;
  $("render").textContent = "Rendering…";
  try {
    const { status, data } = await api("POST", "/api/v1/videocreate", text);
    if (status === 200) {
      stopTracking();
      $("track").hidden = true;
      showResult(data, "quick");
    } else if (status === 202) {
      track(data.job_id, data.estimated_seconds);
    } else {
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

function start() {
  $("api-key").value = localStorage.getItem(KEY_STORAGE) || "";
  $("api-key").addEventListener("input", () => localStorage.setItem(KEY_STORAGE, apiKey()));
  $("api-key").addEventListener("change", refreshHistory);
  $("example").addEventListener("change", pickExample);
  $("render").addEventListener("click", render);
  $("spec").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) render();
  });
  $("cancel").addEventListener("click", cancel);
  $("history-status").addEventListener("change", refreshHistory);
  $("history-refresh").addEventListener("click", refreshHistory);
  loadExamples();
  refreshHistory();
}

document.addEventListener("DOMContentLoaded", start);
