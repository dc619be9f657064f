// The control room: the same control API everyone uses, with the same control key.
//
// What the page states is what it knows: "control API unreachable" when requests fail, "channel
// stopped" / "channel failed" when the API says so (or the event stream ends with channel.stopped),
// "air stalled" when no frame left for a while, and each output's own state. Conditions show while
// they hold; errors from the operator's own actions stay until dismissed or until the same action
// succeeds; form errors stay beside their field until it is edited.
import { Api, FieldErrors } from "/web/api.js";
import { EventLog } from "/web/eventlog.js";
import { QueueView, clock, fromLocalInput, itemName } from "/web/queue.js";
import { WhepPlayer } from "/web/whep.js";

const $ = (id) => document.getElementById(id);
const keyInput = $("key");
const fromUrl = new URLSearchParams(location.search).get("key");
keyInput.value = fromUrl ?? localStorage.getItem("anchor-key") ?? "";
const api = new Api(keyInput.value);
const events = new EventLog($("log"));

// -- alerts: conditions (shown while true) and action errors (stay until dismissed or fixed) --------

const alerts = new Map();  // key -> {text, level, dismissable, el}

function showAlert(key, text, { level = "error", dismissable = false } = {}) {
  let a = alerts.get(key);
  if (!a) {
    const el = document.createElement("div");
    el.dataset.key = key;
    el.innerHTML = '<span class="text"></span>';
    a = { el };
    alerts.set(key, a);
    $("alerts").append(el);
  }
  a.el.className = `alert ${level}`;
  a.el.querySelector(".text").textContent = text;
  if (dismissable && !a.el.querySelector("button")) {
    const b = Object.assign(document.createElement("button"), { className: "icon dismiss", textContent: "✕", title: "Dismiss" });
    b.onclick = () => clearAlert(key);
    a.el.append(b);
  }
}

function clearAlert(key) {
  const a = alerts.get(key);
  if (a) { a.el.remove(); alerts.delete(key); }
}

const condition = (key, text, level = "error") => (text ? showAlert(key, text, { level }) : clearAlert(key));

// Run an operator's action: its failure stays on screen (under its label) until dismissed or until it works.
async function act(label, promise) {
  const key = `action:${label.split(" ")[0]}`;
  try {
    const out = await promise;
    clearAlert(key);
    refresh();
    return out;
  } catch (e) {
    if (!noteConnection(e)) showAlert(key, `${label}: ${e.message}`, { dismissable: true });
    return undefined;
  }
}

// -- connection and channel state ---------------------------------------------------------------------

const state = { reachable: null, authorised: true, channel: "running", error: null, since: null, paused: false,
  item: null, frames: null, framesAt: 0, stalled: false };

// A failure that is about the connection or the key (not the action): reported as a condition. True if so.
function noteConnection(e) {
  if (e.unreachable) {
    if (state.reachable !== false) { state.since = new Date(); events.add("control API unreachable", { level: "error" }); }
    state.reachable = false;
    renderState();
    return true;
  }
  if (e.status === 401) {
    state.authorised = false;
    condition("auth", `The control key was refused (${e.message}). Enter the channel's control key at the top.`);
    renderState();
    return true;
  }
  return false;
}

function renderState() {
  const badge = $("onair");
  let text, cls;
  if (state.reachable === false) {
    text = "API UNREACHABLE"; cls = "down";
    condition("conn", `The control API does not answer (since ${state.since.toLocaleTimeString()}): the channel process may have stopped. Retrying every second; what you see below is the last known state.`);
  } else {
    condition("conn", null);
  }
  if (state.reachable !== false) {
    if (state.channel === "failed") { text = "CHANNEL FAILED"; cls = "down"; }
    else if (state.channel === "stopped") { text = "CHANNEL STOPPED"; cls = "down"; }
    else if (state.stalled) { text = "AIR STALLED"; cls = "down"; }
    else if (state.paused) { text = "PAUSED"; cls = "warn"; }
    else if (state.item) { text = "ON AIR"; cls = "live"; }
    else { text = state.reachable ? "IDLE" : "…"; cls = ""; }
  }
  badge.textContent = text;
  badge.className = `badge ${cls}`;
  const down = cls === "down";
  document.body.classList.toggle("down", down);
  if (down) { $("health").textContent = "real time: –"; $("health").className = "badge"; }
  $("skip").disabled = down || !state.item;
  $("skip-now").disabled = down;
  $("pause").disabled = down;
  condition("channel", state.reachable === false ? null
    : state.channel === "failed" ? `The channel stopped with an error: ${state.error}. Nothing is on air; restart it (anchor live).`
      : state.channel === "stopped" ? "The channel has stopped: nothing is on air. The control API still answers while it shuts down."
        : state.stalled ? "No frame has left the channel for several seconds: the air loop is stalled." : null);
  if (state.authorised) condition("auth", null);
}

function setChannelState(s) {
  if (s.state !== state.channel) {
    if (s.state !== "running") events.add(`channel ${s.state}${s.error ? `: ${s.error}` : ""}`, { level: "error" });
    else if (state.reachable) events.add("channel running");
  }
  state.channel = s.state;
  state.error = s.error;
}

// -- preview ------------------------------------------------------------------------------------------

const preview = $("preview");
const player = new WhepPlayer(preview, {
  token: keyInput.value,  // the control key also admits a viewer when viewing needs a token
  onState: (s, detail) => {
    $("preview-state").textContent = detail && s !== "live" ? `${s}: ${detail}` : s;
    $("preview-state").className = "badge" + (s === "live" ? " live" : s === "reconnecting" || s === "error" ? " warn" : "");
  },
});
player.start();
$("player-link").onclick = async () => {
  const t = await act("player link", api.call("POST", "/viewer-tokens", {}));
  if (!t) return;
  const link = new URL(t.player_url, location.href).href;
  $("player-link-box").hidden = false;
  $("player-url").value = link;
  $("player-expiry").textContent = `valid until ${new Date(t.expires_at * 1000).toLocaleString()}`;
  $("player-url").select();
  await navigator.clipboard?.writeText(link).catch(() => {});
};
$("sound").onclick = () => { preview.muted = !preview.muted; $("sound").textContent = preview.muted ? "Sound on" : "Mute"; };

keyInput.onchange = () => {
  localStorage.setItem("anchor-key", keyInput.value);
  api.key = keyInput.value;
  player.token = keyInput.value;
  state.authorised = true;
  clearAlert("auth");
  connectEvents();
  refresh();
  loadOptions();
};

// -- operator actions ---------------------------------------------------------------------------------

$("pause").onclick = () => act(state.paused ? "resume" : "pause", api.call("POST", state.paused ? "/resume" : "/pause"));
const skip = () => act("skip", api.call("POST", "/skip"));
$("skip").onclick = skip;
$("skip-now").onclick = skip;

// -- pickers filled from the server ---------------------------------------------------------------------

const options = { languages: [], voices: [], avatars: [] };
const LANGUAGE_NAMES = { en: "English", zh: "中文 (Mandarin)", ja: "日本語", de: "Deutsch", fr: "Français", es: "Español" };

async function loadOptions() {
  try {
    const [voices, avatars] = await Promise.all([api.call("GET", "/voices"), api.call("GET", "/avatars")]);
    options.languages = voices.languages.map((l) => ({ value: l, label: LANGUAGE_NAMES[l] ? `${LANGUAGE_NAMES[l]} (${l})` : l }));
    options.voices = voices.voices.map((v) => ({ value: v.id, label: `${v.name} · ${v.language}`, language: v.language }));
    options.avatars = avatars.avatars.map((a) => ({ value: a.name, label: `${a.name} (${a.kind})` }));
    const form = $("add");
    fillSelect(form.elements.language, options.languages, "detect");
    fillSelect(form.elements.avatar, options.avatars.filter((a) => a.value !== avatars.default), `channel presenter (${avatars.default})`);
    fillVoices();
  } catch (e) {
    noteConnection(e);
  }
}

function fillSelect(select, list, empty) {
  const current = select.value;
  select.replaceChildren(new Option(empty, ""), ...list.map((o) => new Option(o.label, o.value)));
  select.value = list.some((o) => o.value === current) ? current : "";
}

// Voices grouped by language, only the chosen language's when one is chosen.
function fillVoices() {
  const form = $("add");
  const select = form.elements.voice;
  const current = select.value;
  const lang = form.elements.language.value;
  const groups = new Map();
  for (const v of options.voices) {
    if (lang && v.language !== lang) continue;
    if (!groups.has(v.language)) groups.set(v.language, []);
    groups.get(v.language).push(v);
  }
  const children = [new Option("default voice", "")];
  for (const [language, list] of groups) {
    const group = document.createElement("optgroup");
    group.label = LANGUAGE_NAMES[language] || language;
    group.append(...list.map((v) => new Option(v.label, v.value)));
    children.push(group);
  }
  select.replaceChildren(...children);
  select.value = [...select.options].some((o) => o.value === current) ? current : "";
}

// -- the add form ----------------------------------------------------------------------------------------

const addForm = $("add");
const addErrors = new FieldErrors(addForm, $("form-error"));
addForm.elements.language.onchange = fillVoices;
const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
addForm.elements.timezone.value = timezone;
$("timezones").append(...(Intl.supportedValuesOf?.("timeZone") || []).map((z) => new Option(z)));

function showSource() {
  const audio = addForm.elements.source.value === "audio";
  addForm.querySelector('[data-field="text"]').hidden = audio;
  addForm.querySelector('[data-field="audio"]').hidden = !audio;
}
for (const radio of addForm.elements.source) radio.onchange = showSource;

function showRepeat() {
  const repeat = addForm.elements.repeat.value;
  for (const el of addForm.querySelectorAll("[data-repeat]")) el.hidden = !repeat || !el.dataset.repeat.split(" ").includes(repeat);
}
addForm.elements.repeat.onchange = showRepeat;

// The form as an item: a JSON body, or multipart with the audio file.
function formItem(sayNow) {
  const f = addForm.elements;
  const item = {};
  for (const name of ["title", "language", "voice", "avatar", "mode", "interrupt_policy", "interrupt_at", "playlist"]) {
    if (f[name].value !== "") item[name] = f[name].value;
  }
  if (f.interrupt_at.value === "now") delete item.interrupt_at;
  if (f.priority.value !== "") item.priority = Number(f.priority.value);
  if (f.schedule_at.value) item.schedule_at = fromLocalInput(f.schedule_at.value);
  const repeat = f.repeat.value;
  if (repeat === "every") item.recurrence = { every_minutes: Number(f.every_minutes.value) };
  if (repeat === "hourly") item.recurrence = { hourly_at_minute: Number(f.hourly_at_minute.value), timezone: f.timezone.value || "UTC" };
  if (repeat === "daily") item.recurrence = { daily_at: f.daily_at.value, timezone: f.timezone.value || "UTC" };
  if (sayNow) { item.mode = "interrupt"; delete item.schedule_at; delete item.recurrence; delete item.playlist; }
  if (f.source.value === "audio") {
    const file = f.audio.files[0];
    if (!file) throw Object.assign(new Error("choose an audio file to play"), { field: "audio" });
    const body = new FormData();
    for (const [k, v] of Object.entries(item)) body.append(k, typeof v === "object" ? JSON.stringify(v) : String(v));
    body.append("audio", file);
    return { path: "/queue", body };
  }
  if (!f.text.value.trim()) throw Object.assign(new Error("write what the anchor says"), { field: "text" });
  item.text = f.text.value;
  if (sayNow) {  // POST /say-now takes only these
    const keep = ["text", "language", "voice", "title", "interrupt_at"];
    return { path: "/say-now", body: Object.fromEntries(Object.entries(item).filter(([k]) => keep.includes(k))) };
  }
  return { path: "/queue", body: item };
}

async function submit(sayNow) {
  addErrors.clearAll();
  $("form-ok").textContent = "";
  let request;
  try {
    request = formItem(sayNow);
  } catch (e) {
    addErrors.show(e);
    return;
  }
  const buttons = [$("add-button"), $("say-now")];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const item = await api.call("POST", request.path, request.body);
    const keepOptions = { source: addForm.elements.source.value };
    addForm.elements.text.value = "";
    addForm.elements.title.value = "";
    addForm.elements.audio.value = "";
    addForm.elements.source.value = keepOptions.source;
    $("form-ok").textContent = item.state === "held"
      ? `#${item.id} is held for review: ${item.policy?.reason || "approve it in the queue"}`
      : `#${item.id} ${sayNow ? "goes on air now" : "added"}`;
    refresh();
  } catch (e) {
    if (!noteConnection(e)) addErrors.show(e);
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}
addForm.onsubmit = (ev) => { ev.preventDefault(); submit(false); };
$("say-now").onclick = () => submit(true);

// -- outputs ------------------------------------------------------------------------------------------------

const OUTPUT_STATES = { up: ["connected", "ok"], connecting: ["connecting", "warn"], reconnecting: ["reconnecting", "down"], closed: ["closed", "down"] };

function renderOutputs(outputs) {
  const tb = $("outputs");
  tb.replaceChildren();
  if (!outputs.length) {
    tb.innerHTML = '<tr><td class="muted">no RTMP outputs: add one below</td></tr>';
  }
  const down = [];
  for (const o of outputs) {
    const tr = document.createElement("tr");
    tr.dataset.id = o.id;
    tr.innerHTML = '<td class="name"><span class="url"></span><span class="muted small info"></span></td><td><span class="badge"></span></td><td class="actions"></td>';
    tr.querySelector(".url").textContent = o.name;
    const [label, cls] = !o.enabled ? ["stopped", ""] : OUTPUT_STATES[o.status?.state] || [o.status?.state || "?", "warn"];
    const badge = tr.querySelector(".badge");
    badge.textContent = label;
    badge.className = `badge ${cls}`;
    if (o.status) {
      const bits = [`${o.status.reconnects} reconnects`, `${o.status.frames_dropped} dropped`];
      if (o.status.last_error && o.status.state !== "up") bits.push(o.status.last_error);
      tr.querySelector(".info").textContent = bits.join(" · ");
      if (o.enabled && o.status.state !== "up" && o.status.state !== "connecting") down.push(`${o.name} is ${label}${o.status.last_error ? ` (${o.status.last_error})` : ""}`);
    }
    const cell = tr.querySelector(".actions");
    const toggle = Object.assign(document.createElement("button"), { type: "button", className: "icon", textContent: o.enabled ? "Stop" : "Start" });
    toggle.onclick = () => act(`output ${o.enabled ? "stop" : "start"}`, api.call("POST", `/outputs/${o.id}/${o.enabled ? "stop" : "start"}`));
    const rm = Object.assign(document.createElement("button"), { type: "button", className: "icon", textContent: "✕", title: "Remove" });
    rm.onclick = () => act("output remove", api.call("DELETE", `/outputs/${o.id}`));
    cell.append(toggle, rm);
    tb.append(tr);
  }
  condition("outputs", down.length ? `Output down: ${down.join("; ")}` : null, "warn");
}

const outputForm = $("add-output");
const outputErrors = new FieldErrors(outputForm, null);
outputForm.onsubmit = async (ev) => {
  ev.preventDefault();
  outputErrors.clearAll();
  try {
    await api.call("POST", "/outputs", { url: outputForm.elements.url.value.trim() });
    outputForm.reset();
    refresh();
  } catch (e) {
    if (!noteConnection(e)) outputErrors.show({ message: e.message, field: "url" });
  }
};

// -- stats and the audio meter ---------------------------------------------------------------------------------

const LEVEL_CLASS = ["ok", "warn", "down", "down"];

function renderHealth(level, name) {
  if (document.body.classList.contains("down")) return;
  const h = $("health");
  h.textContent = level === 0 ? "real time: full" : `real time: ${name}`;
  h.className = `badge ${LEVEL_CLASS[level] ?? ""}`;
  $("st-level").textContent = name;
}

const frameSamples = [];  // [time ms, frames sent]: the rate is taken over the last few seconds

function renderStats(s) {
  const t = performance.now();
  frameSamples.push([t, s.frames_sent]);
  while (frameSamples.length > 2 && t - frameSamples[1][0] >= 3000) frameSamples.shift();
  const [t0, n0] = frameSamples[0];
  if (t - t0 >= 900) $("st-fps").textContent = ((s.frames_sent - n0) / ((t - t0) / 1000)).toFixed(1);
  if (state.frames === null || s.frames_sent !== state.frames) state.framesAt = t;
  state.stalled = state.channel === "running" && t - state.framesAt > 4000;
  state.frames = s.frames_sent;
  const g = s.governor;
  renderHealth(g.level, g.level_name);
  $("st-behind").textContent = `${g.behind_seconds.toFixed(2)} s`;
  $("st-repeated").textContent = g.repeated_frames;
  $("st-late").textContent = s.late_frames;
  $("st-dropped").textContent = s.dropped_frames;
  $("st-av").textContent = `${(s.av_max_diff_s * 1000).toFixed(1)} ms`;
  $("st-viewers").textContent = s.viewers;
  $("st-uptime").textContent = clock(s.uptime_s);
  $("st-depth").textContent = s.queue_depth;
  renderMeter(s.audio_level);
}

let peak = { db: -60, at: 0 };
function renderMeter(level) {
  const db = level > 0 ? Math.max(-60, 20 * Math.log10(level)) : -60;
  const pct = ((db + 60) / 60) * 100;
  $("meter-cover").style.width = `${100 - pct}%`;
  $("meter-cover").dataset.level = pct.toFixed(0);
  const now = performance.now();
  if (db >= peak.db || now - peak.at > 1500) peak = { db, at: now };
  $("meter-peak").style.left = `${((peak.db + 60) / 60) * 100}%`;
  $("meter-db").textContent = db <= -60 ? "silence" : `${db.toFixed(0)} dB`;
}

// -- the refresh loop ------------------------------------------------------------------------------------------

const queueView = new QueueView({
  list: $("queue"), templates: $("templates"), templatesTitle: $("templates-title"),
  history: $("history"), historyTitle: $("history-title"), note: $("queue-note"),
  api, act, options: () => options, refresh: () => refresh(),
});

const titles = new Map();  // item id -> name, for the events panel
window.anchorControl = { refreshes: 0, events };  // for tests and the curious: completed refreshes
let refreshing = null;

function refresh() {
  refreshing ??= doRefresh().finally(() => { refreshing = null; });
  return refreshing;
}

async function doRefresh() {
  let now, queue, stats, outputs;
  try {
    [now, queue, stats, outputs] = await Promise.all([
      api.call("GET", "/now-playing"), api.call("GET", "/queue?history=5"), api.call("GET", "/stats"), api.call("GET", "/outputs"),
    ]);
  } catch (e) {
    // While the channel is down its own condition says so; a refresh refused meanwhile adds nothing.
    if (!noteConnection(e) && state.channel === "running") showAlert("refresh", `refresh: ${e.message}`, { dismissable: true });
    return;
  }
  if (state.reachable === false) events.add("control API reachable again");
  const wasUnknown = state.reachable === null;
  state.reachable = true;
  state.authorised = true;
  if (wasUnknown) loadOptions();
  clearAlert("refresh");
  setChannelState(now.channel);
  state.paused = now.paused;
  state.item = now.item;
  renderState();
  $("pause").textContent = now.paused ? "Resume" : "Pause";
  $("skip-now").hidden = !now.item;
  $("now-title").textContent = now.item ? (now.item.title || `item #${now.item.id}`) : "idle anchor";
  $("now-text").textContent = now.item ? now.item.text || now.item.audio_path || "" : "";
  $("now-pos").textContent = `${clock(now.position_s)}`;
  // While the item on air is still being prepared its length is the queue's estimate.
  const row = now.item ? queue.items.find((i) => i.id === now.item.id) : null;
  const total = now.complete || !row?.duration_s ? now.duration_s : Math.max(now.duration_s, row.duration_s);
  $("now-dur").textContent = now.item ? `${now.complete ? "" : "≈"}${clock(total)}` : "";
  $("now-bar").style.width = now.item && total ? `${Math.min(100, (100 * now.position_s) / total)}%` : "0";
  for (const item of [...queue.items, ...queue.history]) titles.set(item.id, itemName(item));
  queueView.render(queue);
  renderOutputs(outputs.outputs);
  renderStats(stats);
  renderState();
  window.anchorControl.refreshes += 1;
}

// -- the event stream (events, meter readings, channel.stopped) --------------------------------------------------

const DESCRIBE = {
  "item.started": (d) => [`on air: #${d.item_id} ${titles.get(d.item_id) || ""}`],
  "item.finished": (d) => [`finished: #${d.item_id} ${titles.get(d.item_id) || ""}`],
  "item.interrupted": (d) => [`cut: #${d.item_id} ${titles.get(d.item_id) || ""} (${d.reason})`, "warn"],
  "item.failed": (d) => [`failed: #${d.item_id} ${titles.get(d.item_id) || ""}: ${d.reason}`, "error"],
  "output.up": (d) => [`output up: ${d.output}`],
  "output.down": (d) => [`output down: ${d.output} (${d.state})`, "warn"],
  "output.closed": (d) => [`output closed: ${d.output}`],
  "output.connecting": (d) => [`output connecting: ${d.output}`],
  "channel.paused": () => ["queue paused", "warn"],
  "channel.resumed": () => ["queue resumed"],
  "channel.degraded": (d) => [`real time: ${d.name}`, d.level ? "warn" : ""],
};

let source = null;
let streamOpen = false;
function connectEvents() {
  if (source) source.close();
  const q = new URLSearchParams({ meter: "true" });
  if (api.key) q.set("key", api.key);
  source = new EventSource(`/events?${q}`);
  source.onopen = () => { streamOpen = true; };
  for (const [kind, describe] of Object.entries(DESCRIBE)) {
    source.addEventListener(kind, (ev) => {
      const [text, level] = describe(JSON.parse(ev.data));
      // Repeats collapse by kind and subject: "output down: rtmp://… ×12".
      events.add(text.trim(), { key: kind.startsWith("output.") || kind === "channel.degraded" ? text : `${kind}:${text}`, level });
      refresh();
    });
  }
  source.addEventListener("meter", (ev) => {
    const m = JSON.parse(ev.data);
    renderMeter(m.audio_level);
    renderHealth(m.governor_level, m.governor);
    $("st-behind").textContent = `${m.behind_s.toFixed(2)} s`;
    $("st-repeated").textContent = m.repeated_frames;
  });
  source.addEventListener("channel.stopped", (ev) => {
    setChannelState(JSON.parse(ev.data));
    renderState();
    refresh();
  });
  source.onerror = () => {
    if (streamOpen && state.channel === "running") events.add("event stream interrupted; reconnecting", { level: "warn" });
    streamOpen = false;
    if (source.readyState === EventSource.CLOSED) setTimeout(connectEvents, 3000);  // refused (e.g. a wrong key)
  };
}

connectEvents();
refresh();
setInterval(refresh, 1000);
