// The media shelf: the tenant's uploads and the samples (GET /api/v1/media) with thumbnails;
// uploads by button or by dropping files on the shelf or the canvas (a presigned S3 POST, with its
// progress); an item is added as a new element, used as the selected element's source, or, for a
// font, as the selected text's font_family.
"use strict";

import { $, api, element, errorMessage, fieldErrors } from "./api.js";
import { addElement } from "./placing.js";
import { loadSchema } from "./schema.js";
import { setPath } from "./store.js";

let store = null;
let media = { uploads: [], samples: [] };
let chosen = null; // source_url of the item picked on the shelf
let choosing = null; // {path} while a panel field waits for a choice
let book = null;
let loaded = null; // the first listing, which sampleFor answers from

const ADDABLE = new Set(["image", "video", "audio", "subtitles"]);

/** What an item is, from its type or its name: image, video, audio, font, subtitles or file. */
export function kindOf(item) {
  const type = String(item.content_type || "").toLowerCase();
  const name = String(item.name || item.source_url || "").toLowerCase();
  if (/\.(srt|vtt)$/.test(name) || type.includes("subrip") || type === "text/vtt") return "subtitles";
  if (type.startsWith("font/") || /\.(ttf|otf|woff2?)$/.test(name) || type.includes("font")) return "font";
  for (const kind of ["image", "video", "audio"]) if (type.startsWith(`${kind}/`)) return kind;
  return "file";
}

/** A source for a new element of `type` (video, image, audio): the first sample of its kind, once
 * the shelf's first listing is in. */
export async function sampleFor(type) {
  await loaded;
  const item = [...media.samples, ...media.uploads].find((candidate) => kindOf(candidate) === type);
  return item ? item.source_url : null;
}

/** A panel field (a `source`) waits for a choice on the shelf. */
export function chooseMedia(editorStore, path) {
  store = editorStore;
  choosing = { path };
  render();
  const first = $("shelf-items").querySelector("button.shelf-use");
  $("shelf").scrollIntoView({ block: "nearest" });
  if (first) first.focus();
}

export function mount(editorStore) {
  store = editorStore;
  const root = $("shelf");
  const bar = element("div", null, "shelf-bar");
  const upload = element("button", "Upload…");
  upload.type = "button";
  upload.id = "shelf-upload";
  const input = element("input");
  input.type = "file";
  input.id = "shelf-file";
  input.multiple = true;
  input.hidden = true;
  input.setAttribute("aria-label", "Files to upload");
  upload.addEventListener("click", () => input.click());
  input.addEventListener("change", async () => {
    for (const file of [...input.files]) await uploadFile(file, false);
    input.value = "";
  });
  const refreshButton = element("button", "Refresh", "pf-small");
  refreshButton.type = "button";
  refreshButton.addEventListener("click", refresh);
  bar.append(upload, input, refreshButton);
  const banner = element("p", null, "shelf-banner");
  banner.id = "shelf-choosing";
  banner.hidden = true;
  const progress = element("progress");
  progress.id = "shelf-progress";
  progress.max = 100;
  progress.hidden = true;
  const note = element("p", null, "shelf-note");
  note.id = "shelf-note";
  note.setAttribute("aria-live", "polite");
  const items = element("ul", null, "shelf-items");
  items.id = "shelf-items";
  root.append(bar, banner, progress, note, items);
  dropTarget(root, false);
  dropTarget($("stage"), true);
  $("api-key").addEventListener("change", refresh);
  store.subscribe(({ reason }) => {
    if (reason === "selection") render();
  });
  loadSchema().then((loaded) => {
    book = loaded;
    render();
  });
  loaded = refresh();
}

function dropTarget(node, place) {
  if (!node) return;
  node.addEventListener("dragover", (event) => {
    if (!event.dataTransfer || ![...event.dataTransfer.types].includes("Files")) return;
    event.preventDefault();
    node.classList.add("shelf-drop");
  });
  node.addEventListener("dragleave", () => node.classList.remove("shelf-drop"));
  node.addEventListener("drop", async (event) => {
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    node.classList.remove("shelf-drop");
    for (const file of [...event.dataTransfer.files]) await uploadFile(file, place);
  });
}

function note(text) {
  $("shelf-note").textContent = text;
}

async function refresh() {
  let answer;
  try {
    answer = await api("GET", "/api/v1/media");
  } catch (error) {
    note(`Request failed: ${error.message}`);
    return;
  }
  const { status, data } = answer;
  if (status !== 200 || !data) {
    note(errorMessage(status, data) + (status === 401 ? " Enter your API key above." : ""));
    return;
  }
  media = { uploads: data.uploads || [], samples: data.samples || [] };
  render();
  const picked = $("shelf-items").querySelector(".shelf-chosen");
  if (picked) picked.scrollIntoView({ block: "nearest" });
}

// --- Upload ----------------------------------------------------------------------------------

/** Ask the API for a presigned POST, send the file to storage, then show (and maybe place) it. */
async function uploadFile(file, place) {
  note(`Uploading ${file.name}…`);
  const body = { filename: file.name, content_type: file.type || "application/octet-stream", size: file.size };
  let answer;
  try {
    answer = await api("POST", "/api/v1/uploads", body);
  } catch (error) {
    note(`Request failed: ${error.message}`);
    return;
  }
  const { status, data } = answer;
  if (status !== 201) {
    const fields = fieldErrors(data).map((f) => `${f.field}: ${f.message}`);
    note([errorMessage(status, data), ...fields].join(" — "));
    return;
  }
  const form = new FormData();
  for (const [key, value] of Object.entries(data.fields || {})) form.append(key, value);
  form.append("file", file);
  const sent = await post(data.url, form);
  if (!sent.ok) {
    note(`${file.name} was not stored: ${sent.message}`);
    return;
  }
  note(`${file.name} uploaded.`);
  chosen = data.source_url;
  await refresh();
  if (place) {
    const item = findItem(data.source_url) || { ...body, name: file.name, source_url: data.source_url };
    use(item, "add");
  }
}

/** A multipart POST to storage with the upload's progress; S3 answers errors as XML. */
function post(url, form) {
  const bar = $("shelf-progress");
  bar.value = 0;
  bar.hidden = false;
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) bar.value = (100 * event.loaded) / event.total;
    });
    request.addEventListener("load", () => {
      bar.hidden = true;
      if (request.status >= 200 && request.status < 300) {
        resolve({ ok: true });
        return;
      }
      const xml = new DOMParser().parseFromString(request.responseText || "", "application/xml");
      const code = xml.querySelector("Code");
      const message = xml.querySelector("Message");
      const said = [code && code.textContent, message && message.textContent].filter(Boolean).join(": ");
      resolve({ ok: false, message: `HTTP ${request.status}${said ? ` ${said}` : ""}` });
    });
    request.addEventListener("error", () => {
      bar.hidden = true;
      resolve({ ok: false, message: "the storage could not be reached (network or CORS)" });
    });
    request.send(form);
  });
}

// --- Items -----------------------------------------------------------------------------------

function findItem(sourceUrl) {
  return [...media.uploads, ...media.samples].find((item) => item.source_url === sourceUrl) || null;
}

function thumbnail(item) {
  const kind = kindOf(item);
  if (kind === "image" && item.url) {
    const img = element("img");
    img.src = item.url;
    img.alt = "";
    img.loading = "lazy";
    return img;
  }
  if (kind === "video" && item.url) {
    const video = element("video");
    video.preload = "metadata";
    video.muted = true;
    video.src = `${item.url}#t=0.5`;
    video.setAttribute("aria-hidden", "true");
    return video;
  }
  const icons = { audio: "♪", font: "Aa", subtitles: "CC", file: "?" };
  return element("span", icons[kind] || "?", "shelf-icon");
}

/** The selected element's schema properties (null when nothing is selected). */
function selectedFields() {
  const selected = store.selected;
  if (!selected || !book) return null;
  const schema = book.element(selected.type);
  return schema ? schema.properties || {} : null;
}

function use(item, how) {
  const kind = kindOf(item);
  if (how === "choose" && choosing) {
    const path = choosing.path;
    choosing = null;
    store.update(`Set ${path[path.length - 1]}`, (draft) => setPath(draft, path, item.source_url));
    store.commit();
  } else if (how === "font") {
    store.update("Set font_family", (draft) => setPath(draft, [...store.selection, "font_family"], item.source_url));
    store.commit();
  } else if (how === "source") {
    store.update("Replace source", (draft) => setPath(draft, [...store.selection, "source"], item.source_url));
    store.commit();
  } else if (how === "add" && ADDABLE.has(kind)) {
    addElement(store, { type: kind, source: item.source_url }, `Add ${item.name}`);
  }
  render();
}

function itemButton(text, title, onClick, className = "pf-small") {
  const node = element("button", text, className);
  node.type = "button";
  node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

function render() {
  const list = $("shelf-items");
  if (!list) return;
  const banner = $("shelf-choosing");
  banner.hidden = !choosing;
  if (choosing) {
    banner.replaceChildren(
      document.createTextNode(`Choose the media for ${choosing.path.join(".")} `),
      itemButton("Cancel", "Stop choosing", () => {
        choosing = null;
        render();
      }),
    );
  }
  const fields = selectedFields();
  const rows = [];
  for (const [group, items] of [["Uploads", media.uploads], ["Samples", media.samples]]) {
    if (!items.length) continue;
    rows.push(element("li", group, "shelf-group"));
    for (const item of items) rows.push(itemRow(item, fields));
  }
  if (!rows.length) rows.push(element("li", "No media yet: upload a file.", "shelf-group"));
  list.replaceChildren(...rows);
}

function itemRow(item, fields) {
  const kind = kindOf(item);
  const row = element("li", null, "shelf-item");
  row.dataset.source = item.source_url;
  row.dataset.kind = kind;
  if (item.source_url === chosen) row.classList.add("shelf-chosen");
  const pick = element("button", null, "shelf-pick");
  pick.type = "button";
  pick.title = `${item.name} (${item.content_type}, ${item.size} bytes)`;
  pick.setAttribute("aria-pressed", String(item.source_url === chosen));
  pick.append(thumbnail(item), element("span", item.name, "shelf-name"));
  pick.addEventListener("click", () => {
    chosen = item.source_url;
    render();
  });
  const actions = element("span", null, "shelf-actions");
  if (choosing) {
    actions.append(itemButton("Choose", `Use ${item.name} there`, () => use(item, "choose"), "pf-small shelf-use"));
  } else if (kind === "font") {
    const usable = fields && "font_family" in fields;
    const button = itemButton("Use font", "Set the selected text's font_family", () => use(item, "font"), "pf-small shelf-use");
    button.disabled = !usable;
    actions.append(button);
  } else {
    if (ADDABLE.has(kind)) actions.append(itemButton("Add", `Add ${item.name} at the playhead`, () => use(item, "add"), "pf-small shelf-add"));
    if (fields && "source" in fields) {
      actions.append(itemButton("Use as source", "Replace the selected element's source", () => use(item, "source"), "pf-small shelf-use"));
    }
  }
  if (item.upload_id) {
    actions.append(itemButton("✕", `Delete ${item.name} from your uploads`, () => removeUpload(item), "pf-small shelf-delete"));
  }
  row.append(pick, actions);
  return row;
}

/** DELETE /api/v1/media/{upload_id}: jobs already rendered keep their result. */
async function removeUpload(item) {
  if (!window.confirm(`Delete ${item.name}? Elements using it will fail to render.`)) return;
  const { status, data } = await api("DELETE", `/api/v1/media/${encodeURIComponent(item.upload_id)}`);
  if (status !== 204) {
    note(errorMessage(status, data));
    return;
  }
  if (chosen === item.source_url) chosen = null;
  note(`${item.name} deleted.`);
  await refresh();
}
