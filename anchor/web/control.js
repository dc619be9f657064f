// The control room: the same control API everyone uses, with the same API key.
import { WhepPlayer } from "/web/whep.js";

const $ = (id) => document.getElementById(id);
const keyInput = $("key");
keyInput.value = localStorage.getItem("anchor-key") || new URLSearchParams(location.search).get("key") || "";
keyInput.onchange = () => { localStorage.setItem("anchor-key", keyInput.value); player.token = keyInput.value; connectEvents(); refresh(); };

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (keyInput.value) headers.Authorization = `Bearer ${keyInput.value}`;
  const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error?.message || data.detail || `HTTP ${res.status}`);
  return data;
}

const log = (line) => {
  const el = $("log");
  el.textContent = `${new Date().toLocaleTimeString()}  ${line}\n` + el.textContent.slice(0, 4000);
};

// Preview over WebRTC (muted until asked).
const preview = $("preview");
const player = new WhepPlayer(preview, {
  token: keyInput.value,  // the control key also admits a viewer when viewing needs a token
  onState: (s) => { $("preview-state").textContent = s; $("preview-state").className = "badge" + (s === "live" ? " live" : ""); },
});
player.start();
$("player-link").onclick = async () => {
  // Viewing may need a token: mint one (valid for the channel's default lifetime) and show the link.
  try {
    const t = await api("POST", "/viewer-tokens", {});
    const link = new URL(t.player_url, location.href).href;
    log(`player link (valid until ${new Date(t.expires_at * 1000).toLocaleString()}): ${link}`);
    await navigator.clipboard?.writeText(link).catch(() => {});
  } catch (e) { log(`player link: ${e.message}`); }
};
$("sound").onclick = () => { preview.muted = !preview.muted; $("sound").textContent = preview.muted ? "Sound on" : "Mute"; };

let paused = false;
$("pause").onclick = async () => {
  try { await api("POST", paused ? "/resume" : "/pause"); refresh(); } catch (e) { log(`pause: ${e.message}`); }
};

function fmtTime(s) {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
  return (h ? `${h}:` : "") + `${String(m).padStart(h ? 2 : 1, "0")}:${String(sec).padStart(2, "0")}`;
}

function renderQueue(items) {
  const ul = $("queue");
  ul.innerHTML = "";
  if (!items.length) { ul.innerHTML = '<li class="muted">queue empty — the host idles</li>'; return; }
  items.forEach((item, i) => {
    const li = document.createElement("li");
    li.dataset.id = item.id;
    li.innerHTML = `<span class="s"></span><span class="t"></span>`;
    li.querySelector(".s").textContent = item.state;
    li.querySelector(".t").textContent = `#${item.id} ${item.title || item.text || item.audio_path}`;
    if (item.state !== "playing") {
      const up = Object.assign(document.createElement("button"), { className: "icon", textContent: "↑", title: "move up" });
      up.onclick = () => i > 0 && api("PATCH", `/queue/${item.id}`, { before_id: items[i - 1].id }).then(refresh, (e) => log(e.message));
      const rm = Object.assign(document.createElement("button"), { className: "icon", textContent: "✕", title: "remove" });
      rm.onclick = () => api("DELETE", `/queue/${item.id}`).then(refresh, (e) => log(e.message));
      li.append(up, rm);
    }
    ul.append(li);
  });
}

function renderOutputs(outputs) {
  const tb = $("outputs");
  tb.innerHTML = "";
  if (!outputs.length) tb.innerHTML = '<tr><td class="muted">no RTMP outputs configured</td></tr>';
  for (const o of outputs) {
    const tr = document.createElement("tr");
    const cls = o.state === "up" ? "ok" : "warn";
    tr.innerHTML = `<td></td><td><span class="badge ${cls}"></span></td><td class="muted"></td>`;
    tr.children[0].textContent = o.name;
    tr.children[1].firstChild.textContent = o.state === "up" ? "connected" : o.state;
    tr.children[2].textContent = `${o.reconnects} reconnects`;
    tb.append(tr);
  }
}

async function refresh() {
  try {
    const [now, queue, stats] = await Promise.all([api("GET", "/now-playing"), api("GET", "/queue"), api("GET", "/stats")]);
    paused = now.paused;
    $("pause").textContent = paused ? "Resume" : "Pause";
    $("onair").textContent = paused ? "PAUSED" : now.item ? "ON AIR" : "IDLE";
    $("onair").className = "badge" + (paused ? " warn" : now.item ? " live" : "");
    $("now-title").textContent = now.item ? (now.item.title || `item #${now.item.id}`) : "idle anchor";
    $("now-text").textContent = now.item ? now.item.text || "" : "";
    $("now-pos").textContent = `${now.position_s.toFixed(1)} s`;
    $("now-dur").textContent = now.item ? `${now.duration_s.toFixed(1)} s` : "";
    $("now-bar").style.width = now.item && now.duration_s ? `${Math.min(100, (100 * now.position_s) / now.duration_s)}%` : "0";
    renderQueue(queue.items);
    renderOutputs(stats.outputs);
    renderStats(stats);
    $("form-error").textContent = "";
  } catch (e) {
    $("form-error").textContent = e.message;
  }
}

let lastFrames = null;
function renderStats(s) {
  const t = performance.now();
  if (lastFrames) $("st-fps").textContent = ((s.frames_sent - lastFrames.n) / ((t - lastFrames.t) / 1000)).toFixed(1);
  lastFrames = { n: s.frames_sent, t };
  $("st-late").textContent = s.late_frames;
  $("st-dropped").textContent = s.dropped_frames;
  $("st-av").textContent = `${(s.av_max_diff_s * 1000).toFixed(1)} ms`;
  $("st-viewers").textContent = s.viewers;
  $("st-uptime").textContent = fmtTime(s.uptime_s);
  $("st-depth").textContent = s.queue_depth;
}

let source = null;
function connectEvents() {
  if (source) source.close();
  const q = keyInput.value ? `?key=${encodeURIComponent(keyInput.value)}` : "";
  source = new EventSource(`/events${q}`);
  for (const kind of ["item.started", "item.finished", "item.interrupted", "item.failed", "output.up", "output.down", "channel.paused", "channel.resumed"]) {
    source.addEventListener(kind, (ev) => {
      const d = JSON.parse(ev.data);
      log(`${kind} ${d.item_id !== undefined ? "#" + d.item_id : d.output || ""} ${d.reason || ""}`);
      refresh();
    });
  }
  source.onerror = () => log("event stream interrupted; retrying");
}

async function submit(sayNow) {
  const f = new FormData($("add"));
  const body = Object.fromEntries([...f.entries()].filter(([, v]) => v !== ""));
  try {
    if (sayNow) {
      delete body.mode;
      await api("POST", "/say-now", body);
    } else {
      await api("POST", "/queue", body);
    }
    $("add").reset();
    refresh();
  } catch (e) {
    $("form-error").textContent = e.message;
  }
}
$("add").onsubmit = (ev) => { ev.preventDefault(); submit(false); };
$("say-now").onclick = () => submit(true);

connectEvents();
refresh();
setInterval(refresh, 1000);
