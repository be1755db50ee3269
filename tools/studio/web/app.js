// Bit-Llama Studio page: plain JavaScript, no libraries. It talks to the studio's JSON API (docs/studio.md),
// polls /api/status for the lab, sleep and training state, and streams chat replies (server-sent events read
// from a POST response with fetch).
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  status: null,        // last /api/status
  active: 0,           // active character id
  chats: {},           // character id -> [{role, text}]
  streaming: false,
  trainPoints: [],     // every loss point of the current training job
  trainKey: "",        // identifies the job the points belong to
  memoryDay: "",
  statusSeq: 0,        // number of the newest /api/status request started
  shownSeq: 0,         // number of the status shown (older answers arriving late are dropped)
  activeSeq: 0,        // statusSeq when the active character was chosen
  historyAsked: new Set(),  // characters whose conversation was asked of the server
};

// Fetches /api/status and shows it, unless a newer answer has been shown already.
async function fetchStatus() {
  const seq = ++state.statusSeq;
  const s = await api("GET", "/api/status");
  if (seq < state.shownSeq) return;
  state.shownSeq = seq;
  state.status = s;
  renderStatus();
}

function setActive(id) {
  state.active = id;
  state.activeSeq = state.statusSeq;
}

// ---- errors and requests ------------------------------------------------------------------------------------
function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
}
$("error-close").onclick = () => { $("error").hidden = true; };

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(path, opts);
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const msg = data && data.error ? data.error.message : `HTTP ${res.status}`;
    throw new Error(msg);
  }
  return data;
}

// Runs an action; a failure is shown in the error banner. Returns the result or undefined.
async function act(fn) {
  try {
    const r = await fn();
    return r;
  } catch (e) {
    showError(e.message);
    return undefined;
  }
}

// ---- tabs ---------------------------------------------------------------------------------------------------
function showTab(name) {
  for (const b of document.querySelectorAll(".tab")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".panel")) s.hidden = s.id !== "tab-" + name;
  if (name === "lab" || name === "sleep") refreshMemories();
  if (name === "train") drawChart();
  history.replaceState(null, "", "#" + name);
}
for (const b of document.querySelectorAll(".tab")) b.onclick = () => showTab(b.dataset.tab);

// ---- status polling -----------------------------------------------------------------------------------------
function activeCharacter() {
  const s = state.status;
  if (!s) return null;
  return s.lab.characters.find((c) => c.id === state.active) || null;
}

function renderStatus() {
  const s = state.status;
  const lab = s.lab;
  const chars = lab.characters;
  // A character that is gone (deleted, model changed) gives way to the first one; but a status requested before
  // the active character was chosen may not know it yet.
  if (!chars.some((c) => c.id === state.active) && state.shownSeq > state.activeSeq) state.active = chars.length ? chars[0].id : 0;
  const c = activeCharacter();
  if (c && !state.historyAsked.has(c.id)) renderMessages();  // first sight of this character: its conversation
  const asleep = lab.sleep.running;
  document.body.classList.toggle("asleep", asleep);
  $("asleep-badge").hidden = !asleep;
  for (const el of document.querySelectorAll(".locks")) el.disabled = asleep || (state.streaming && el.id !== "chat-stop");
  $("status-line").textContent = lab.model.loaded
    ? `${lab.model.path.split("/").pop()} · ${chars.length} character(s) · folders: ${s.roots.join(", ")}`
    : `no model loaded · folders: ${s.roots.join(", ")}`;

  // Model info.
  const m = lab.model;
  const rows = m.loaded
    ? [["path", m.path], ["parameters", m.n_params.toLocaleString()], ["vocab", m.vocab_size], ["hidden", m.hidden_dim],
       ["layers", m.num_layers], ["MLP", m.intermediate_dim], ["TTT dim (soul d×d)", m.ttt_dim], ["TTT chunk", m.ttt_chunk],
       ["inner lr", Number(m.inner_lr.toPrecision(6))], ["EOS id", m.eos_id],
       ["chat format", m.chat_template ? "the model's chat template" : "plain (User: … Assistant:)"], ["fingerprint", m.fingerprint]]
    : [["model", "none loaded"]];
  const html = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`).join("");
  if ($("model-info").innerHTML !== html) $("model-info").innerHTML = html;

  // Soul and active character.
  for (const el of document.querySelectorAll(".active-name")) el.textContent = c ? c.name : "—";
  $("soul-level").textContent = c ? c.soul_level : "—";
  $("soul-position").textContent = c ? c.position : "—";
  $("soul-path").textContent = c ? (c.soul_path || "(not saved yet)") : "—";
  $("chat-level").textContent = c ? `soul level ${c.soul_level}` : "";

  // Characters.
  const list = chars.map((ch) => `<li data-id="${ch.id}" class="${ch.id === state.active ? "active" : ""}">${esc(ch.name)}${ch.busy ? " · " + esc(ch.busy_with) : ""}</li>`).join("");
  if ($("char-list").innerHTML !== list) $("char-list").innerHTML = list;

  // Sleep.
  const sl = lab.sleep;
  $("sleep-progress").value = sl.progress;
  $("sleep-state").textContent = sl.state === "idle" ? "idle" : `${sl.state}${sl.running ? ` · ${(sl.progress * 100).toFixed(0)}%` : ""}${sl.message ? " · " + sl.message : ""}`;
  $("sleep-wake").disabled = !asleep;

  renderTraining(s.training);
}

async function poll() {
  try {
    await fetchStatus();
    if (state.status.training.running || state.status.training.points_total !== state.trainPoints.length) await pollTraining();
  } catch (e) {
    $("status-line").textContent = "studio not reachable: " + e.message;
  }
  setTimeout(poll, 500);
}

function esc(s) {
  return s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch]));
}

$("char-list").onclick = (e) => {
  const li = e.target.closest("li");
  if (!li) return;
  setActive(Number(li.dataset.id));
  renderStatus();
  renderMessages();
  refreshMemories();
};

// ---- model lab ----------------------------------------------------------------------------------------------
$("model-load").onclick = () => act(async () => {
  const r = await api("POST", "/api/model/load", { path: $("model-path").value.trim() });
  setActive(r.character.id);
  state.chats = {};
  renderMessages();
  await refreshNow();
});
$("model-unload").onclick = () => act(async () => { await api("POST", "/api/model/unload", {}); await refreshNow(); });
$("convert-go").onclick = () => act(async () => {
  const r = await api("POST", "/api/model/convert", { input: $("convert-in").value.trim(), output: $("convert-out").value.trim() });
  showNote(`wrote ${r.output}`);
});

function needCharacter() {
  if (!state.active) throw new Error("load a model first (Model Lab)");
  return state.active;
}
$("soul-new").onclick = () => act(async () => { await api("POST", "/api/soul/reset", { character: needCharacter(), new: true }); await refreshNow(); });
$("soul-reset").onclick = () => act(async () => { await api("POST", "/api/soul/reset", { character: needCharacter() }); await refreshNow(); });
$("soul-save").onclick = () => act(async () => { await api("POST", "/api/soul/save", { character: needCharacter() }); await refreshNow(); });
$("soul-saveas").onclick = () => act(async () => {
  await api("POST", "/api/soul/save", { character: needCharacter(), path: $("soul-file").value.trim() });
  await refreshNow();
});
$("soul-load").onclick = () => act(async () => {
  await api("POST", "/api/soul/load", { character: needCharacter(), path: $("soul-file").value.trim(), force: $("soul-force").checked });
  await refreshNow();
});

async function refreshMemories() {
  if (!state.active) { $("memories-days").innerHTML = ""; $("memories-entries").innerHTML = ""; return; }
  const r = await act(() => api("GET", `/api/memories?character=${state.active}`));
  if (!r) return;
  $("memories-folder").textContent = "folder: " + r.folder;
  const entries = r.days.reduce((n, d) => n + d.entries, 0);
  $("sleep-memories").textContent = `memories: ${r.days.length} day(s), ${entries} turn(s) in ${r.folder}`;
  $("memories-days").innerHTML = r.days.map((d) => `<li data-day="${d.day}" class="${d.day === state.memoryDay ? "active" : ""}">${d.day} (${d.entries})</li>`).join("");
  if (state.memoryDay) showDay(state.memoryDay);
}
$("memories-refresh").onclick = refreshMemories;
$("memories-days").onclick = (e) => {
  const li = e.target.closest("li");
  if (!li) return;
  state.memoryDay = li.dataset.day;
  refreshMemories();
};
async function showDay(day) {
  const r = await act(() => api("GET", `/api/memories?character=${state.active}&day=${day}`));
  if (!r) return;
  $("memories-entries").innerHTML = r.entries.map((e) => `<p><b>${esc(e.role)}:</b> ${esc(e.text)}</p>`).join("") +
    (r.skipped_lines ? `<p class="muted">${r.skipped_lines} malformed line(s) skipped (sleep skips them too)</p>` : "");
}

function showNote(text) { $("status-line").textContent = text; }

async function refreshNow() {
  await fetchStatus();
}

// ---- chat ---------------------------------------------------------------------------------------------------
function messages() { return (state.chats[state.active] = state.chats[state.active] || []); }

// A character whose conversation this page has not seen (a reload, another tab) gets it from the server.
async function loadHistory(id) {
  if (!id || state.historyAsked.has(id)) return;
  state.historyAsked.add(id);
  const r = await act(() => api("GET", `/api/chat/history?character=${id}`));
  if (!r || (state.chats[id] && state.chats[id].length)) return;  // turns made here meanwhile are newer
  state.chats[id] = r.turns;
  if (state.active === id) renderMessages();
}

function renderMessages() {
  const c = activeCharacter();
  if (c) loadHistory(c.id);
  const box = $("messages");
  box.innerHTML = "";
  for (const m of messages()) {
    const p = document.createElement("div");
    p.className = "msg " + m.role;
    p.dataset.name = c ? c.name : "";
    p.textContent = m.text;
    box.appendChild(p);
  }
  box.scrollTop = box.scrollHeight;
}

function settings() {
  const s = {};
  for (const k of ["temperature", "top_k", "top_p", "min_p", "repetition_penalty", "max_tokens", "seed"]) {
    const v = $("set-" + k).value;
    if (v !== "") s[k] = Number(v);
  }
  return s;
}

// Parses server-sent events out of a stream of text chunks; calls onEvent(name, data) per complete event.
function sseParser(onEvent) {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      onEvent(name, JSON.parse(data));
    }
  };
}

async function send() {
  const text = $("chat-input").value;
  if (!text.trim() || state.streaming) return;
  const id = state.active;
  if (!id) return showError("load a model first (Model Lab)");
  const msgs = messages();
  let res;
  try {
    res = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ character: id, message: text, settings: settings(), remember: $("chat-remember").checked }),
    });
  } catch (e) {
    return showError(e.message);
  }
  if (!res.ok) {
    let msg = `HTTP ${res.status}`;
    try { msg = (await res.json()).error.message; } catch (e) { /* keep the status */ }
    return showError(msg);
  }
  $("chat-input").value = "";
  msgs.push({ role: "user", text });
  const reply = { role: "assistant", text: "" };
  msgs.push(reply);
  renderMessages();
  state.streaming = true;
  $("chat-stop").disabled = false;
  $("chat-send").disabled = true;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const feed = sseParser((name, data) => {
    if (name === "message") {
      reply.text += data.text;
    } else if (name === "done") {
      $("chat-speed").textContent = `${data.tokens} tokens, ${data.tokens_per_s.toFixed(1)} tokens/s (${data.stop_reason})`;
      $("messages").dataset.lastReply = data.text;
      $("messages").dataset.turns = String(Number($("messages").dataset.turns || 0) + 1);
    } else if (name === "error") {
      msgs.push({ role: "error", text: data.error.message });
      showError(data.error.message);
    }
    if (state.active === id) renderMessages();
  });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      feed(decoder.decode(value, { stream: true }));
    }
  } catch (e) {
    showError("the reply stream broke: " + e.message);
  } finally {
    state.streaming = false;
    $("chat-stop").disabled = true;
    $("chat-send").disabled = false;
    refreshNow().catch(() => {});
  }
}
$("chat-send").onclick = send;
$("chat-input").onkeydown = (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
};
$("chat-stop").onclick = () => act(() => api("POST", "/api/chat/stop", { character: state.active }));
$("char-add").onclick = () => act(async () => {
  const c = await api("POST", "/api/characters", { name: $("char-name").value.trim() });
  $("char-name").value = "";
  setActive(c.id);
  await refreshNow();
  renderMessages();
});
$("char-delete").onclick = () => act(async () => {
  await api("POST", "/api/characters/delete", { character: needCharacter() });
  delete state.chats[state.active];
  setActive(0);
  await refreshNow();
  renderMessages();
});
$("persona-learn").onclick = () => act(async () => {
  const r = await api("POST", "/api/persona", { character: needCharacter(), text: $("persona").value });
  $("persona-result").textContent = `learned ${r.tokens} tokens; soul level ${r.character.soul_level}`;
  await refreshNow();
});

// ---- sleep --------------------------------------------------------------------------------------------------
$("sleep-start").onclick = () => act(async () => {
  await api("POST", "/api/sleep", { character: needCharacter(), max_days: Number($("sleep-days").value || 0), autosave: $("sleep-autosave").checked });
  await refreshNow();
});
$("sleep-wake").onclick = () => act(async () => { await api("POST", "/api/wake", {}); await refreshNow(); });

// ---- training -----------------------------------------------------------------------------------------------
const PRESETS = {
  tiny: { dim: 64, layers: 2, context_len: 64, batch_size: 8, steps: 150, lr: 0.003, eval_interval: 25, save_interval: 50 },
  small: { dim: 128, layers: 4, context_len: 128, batch_size: 16, steps: 1000, lr: 0.002, eval_interval: 100, save_interval: 200 },
  demo: { dim: 256, layers: 4, context_len: 128, batch_size: 16, steps: 1600, lr: 0.002, eval_interval: 100, save_interval: 200 },
};
function applyPreset() {
  const p = PRESETS[$("preset").value];
  for (const el of document.querySelectorAll("#run-options input")) el.value = p[el.dataset.opt];
  estimate();
}
$("preset").onchange = applyPreset;
function runOptions() {
  const o = {};
  for (const el of document.querySelectorAll("#run-options input")) if (el.value !== "") o[el.dataset.opt] = Number(el.value);
  if ($("preset").value === "demo") { o.intermediate_dim = 1024; o.warmup_steps = 100; }
  return o;
}
let estimateTimer = 0;
function estimate() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(async () => {
    const body = { options: runOptions() };
    if ($("run-data").value.trim()) body.data = $("run-data").value.trim();
    try {
      const r = await api("POST", "/api/train/estimate", body);
      $("estimate").textContent = `${Math.round(r.params).toLocaleString()} parameters · about ${(r.total_bytes / 2 ** 20).toFixed(0)} MiB to train (${r.note})`;
    } catch (e) {
      $("estimate").textContent = "estimate: " + e.message;
    }
  }, 200);
}
document.querySelector("#run-options").oninput = estimate;
$("run-data").onchange = estimate;

function files() { return $("train-files").value.split("\n").map((s) => s.trim()).filter(Boolean); }
$("vocab-go").onclick = () => act(async () => {
  await api("POST", "/api/train/vocab", { inputs: files(), vocab_size: Number($("vocab-size").value), out: $("vocab-out").value.trim() });
  if (!$("data-tokenizer").value) $("data-tokenizer").value = $("vocab-out").value.trim();
  await refreshNow();
});
$("data-go").onclick = () => act(async () => {
  await api("POST", "/api/train/data", { tokenizer: $("data-tokenizer").value.trim(), inputs: files(), out: $("data-out").value.trim(), val_fraction: Number($("data-val").value) });
  if (!$("run-data").value) $("run-data").value = $("data-out").value.trim();
  await refreshNow();
});
async function startTraining(resume) {
  await api("POST", "/api/train/start", { data: $("run-data").value.trim(), out: $("run-out").value.trim(), resume, options: runOptions() });
  state.trainPoints = [];
  await refreshNow();
}
$("train-go").onclick = () => act(() => startTraining(false));
$("train-resume").onclick = () => act(() => startTraining(true));
$("train-stop").onclick = () => act(async () => { await api("POST", "/api/train/stop", {}); await refreshNow(); });
$("train-export").onclick = () => act(async () => {
  const r = await api("POST", "/api/train/export", { out: $("run-out").value.trim(), data: $("run-data").value.trim() });
  $("train-message").textContent = "exported " + r.model;
  $("model-path").value = r.model;
});
$("train-open").onclick = () => { $("model-path").value = $("train-open").dataset.path; showTab("lab"); };

async function pollTraining() {
  const r = await api("GET", `/api/train?since=${state.trainPoints.length}`);
  const key = r.kind + "|" + r.description;
  if (key !== state.trainKey || r.since !== state.trainPoints.length) {  // another job: start over
    state.trainKey = key;
    state.trainPoints = r.since === 0 ? r.points : [];
    if (r.since !== 0) return;
  } else {
    state.trainPoints.push(...r.points);
  }
  drawChart();
}

function fmtTime(s) {
  if (!isFinite(s) || s < 0) return "?";
  s = Math.round(s);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

function renderTraining(t) {
  for (const b of document.querySelectorAll(".job")) b.disabled = t.running;
  $("train-stop").disabled = !(t.running && t.kind === "train");
  $("train-progress").value = t.progress;
  let line = t.state === "idle" ? "idle" : `${t.kind}: ${t.state}`;
  if (t.kind === "train" && t.total_steps) {
    const last = state.trainPoints[state.trainPoints.length - 1];
    const lastVal = [...state.trainPoints].reverse().find((p) => p.val !== undefined);
    line += ` · step ${t.step}/${t.total_steps}`;
    if (last) line += ` · loss ${last.loss.toFixed(3)}`;
    if (lastVal) line += ` · val ${lastVal.val.toFixed(3)}`;
    if (t.running) line += ` · ${Math.round(t.tokens_per_s)} tok/s · ETA ${fmtTime(t.eta_s)}`;
  } else if (t.running) {
    line += ` · ${(t.progress * 100).toFixed(0)}%`;
  }
  $("train-status").textContent = line;
  $("train-message").textContent = t.message;
  const open = $("train-open");
  open.disabled = !(t.kind === "train" && t.state === "done" && t.result);
  open.dataset.path = t.result || "";
}

function drawChart() {
  const cv = $("train-chart");
  const g = cv.getContext("2d");
  const W = cv.width, H = cv.height, L = 48, B = 24, R = 10, T = 10;
  g.clearRect(0, 0, W, H);
  g.fillStyle = "#fff";
  g.fillRect(0, 0, W, H);
  const pts = state.trainPoints;
  cv.dataset.points = String(pts.length);
  if (!pts.length) {
    g.fillStyle = "#888";
    g.fillText("the loss curve appears here while a run trains", L, H / 2);
    return;
  }
  const vals = pts.flatMap((p) => (p.val !== undefined ? [p.loss, p.val] : [p.loss])).filter(isFinite);
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const x0 = pts[0].step, x1 = Math.max(pts[pts.length - 1].step, x0 + 1);
  const X = (s) => L + (W - L - R) * (s - x0) / (x1 - x0);
  const Y = (v) => T + (H - T - B) * (1 - (v - lo) / Math.max(hi - lo, 1e-9));
  g.strokeStyle = "#ccc";
  g.strokeRect(L, T, W - L - R, H - T - B);
  g.fillStyle = "#555";
  g.font = "11px sans-serif";
  g.fillText(hi.toFixed(2), 4, T + 8);
  g.fillText(lo.toFixed(2), 4, H - B);
  g.fillText(`step ${x0}`, L, H - 6);
  g.fillText(`step ${x1}`, W - R - 60, H - 6);
  const line = (key, color) => {
    g.strokeStyle = color;
    g.beginPath();
    let first = true;
    for (const p of pts) {
      if (p[key] === undefined || !isFinite(p[key])) continue;
      if (first) g.moveTo(X(p.step), Y(p[key])); else g.lineTo(X(p.step), Y(p[key]));
      first = false;
    }
    g.stroke();
  };
  line("loss", "#3b5bdb");
  line("val", "#e8590c");
  g.fillStyle = "#3b5bdb"; g.fillText("training loss", W - 190, T + 14);
  g.fillStyle = "#e8590c"; g.fillText("validation loss", W - 100, T + 14);
}

// ---- file picker (folders inside the studio's roots) --------------------------------------------------------
const picker = { target: null, mode: "file", path: ".", chosen: new Set() };
for (const b of document.querySelectorAll(".pick")) {
  b.onclick = () => {
    picker.target = $(b.dataset.target);
    picker.mode = b.dataset.mode;
    picker.chosen = new Set(picker.mode === "files" ? files() : []);
    openFolder(".");
    $("picker").showModal();
  };
}
async function openFolder(path) {
  const r = await act(() => api("GET", "/api/files?path=" + encodeURIComponent(path)));
  if (!r) return;
  picker.path = r.path;
  picker.parent = r.parent;
  $("picker-path").textContent = r.absolute;
  $("picker-up").disabled = r.parent === null;
  $("picker-list").innerHTML = r.entries.map((e) => `<li data-path="${esc(e.path)}" data-dir="${e.is_dir}" class="${picker.chosen.has(e.path) ? "active" : ""}">${e.is_dir ? "📁 " : ""}${esc(e.name)}</li>`).join("");
}
$("picker-list").onclick = (e) => {
  const li = e.target.closest("li");
  if (!li) return;
  if (li.dataset.dir === "true" && picker.mode !== "any") return openFolder(li.dataset.path);
  if (picker.mode === "files") {
    if (picker.chosen.has(li.dataset.path)) picker.chosen.delete(li.dataset.path); else picker.chosen.add(li.dataset.path);
    li.classList.toggle("active");
    return;
  }
  picker.target.value = li.dataset.path;
  picker.target.dispatchEvent(new Event("change"));
  $("picker").close();
};
$("picker-list").ondblclick = (e) => {
  const li = e.target.closest("li");
  if (li && li.dataset.dir === "true") openFolder(li.dataset.path);
};
$("picker-up").onclick = () => { if (picker.parent !== null) openFolder(picker.parent); };
$("picker-here").onclick = () => { picker.target.value = picker.path; $("picker").close(); };
$("picker-done").onclick = () => {
  if (picker.mode === "files") picker.target.value = [...picker.chosen].join("\n");
  $("picker").close();
};
$("picker-cancel").onclick = () => $("picker").close();

// ---- start --------------------------------------------------------------------------------------------------
applyPreset();
showTab((location.hash || "#lab").slice(1) in { lab: 1, chat: 1, sleep: 1, train: 1 } ? location.hash.slice(1) || "lab" : "lab");
poll();
