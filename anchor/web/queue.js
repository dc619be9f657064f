// The Queue panel: items in play order with state, duration, expected start and preparation; held
// items with why and Approve / Reject; inline editing of waiting items (PATCH /queue/{id}).
// Rows are kept per item id and only redrawn when the item changed, so a refresh never eats a click
// nor an edit in progress.
"use strict";

import { FieldErrors } from "/web/api.js";

// A span of time to wait: "1:05", "2:03:10", or "3 d 4 h" once it is a day or more.
export function wait(seconds) {
  if (seconds < 86400) return clock(seconds);
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
  return `${d} d ${h} h`;
}

export function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? `${h}:${String(m).padStart(2, "0")}` : `${m}`) + `:${String(sec).padStart(2, "0")}`;
}

const localTime = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const localDateTime = (iso) => new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "short" });

// An ISO instant as the value of an <input type="datetime-local"> (local time), and back.
export function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export const fromLocalInput = (value) => (value ? new Date(value).toISOString() : null);

export function itemName(item) {
  if (item.title) return item.title;
  if (item.text) return item.text.length > 80 ? `${item.text.slice(0, 80)}…` : item.text;
  return `audio ${String(item.audio_path || "").split("/").pop()}`;
}

function recurrenceText(r) {
  if (!r) return "";
  if (r.every_minutes) return `every ${r.every_minutes} min`;
  if (r.hourly_at_minute !== null && r.hourly_at_minute !== undefined)
    return `hourly at :${String(r.hourly_at_minute).padStart(2, "0")} ${r.timezone}`;
  return `daily at ${r.daily_at} ${r.timezone}`;
}

function preparationText(item) {
  const p = item.preparation;
  if (item.state === "held") return "";
  if (!p) return item.state === "queued" ? "waiting to be prepared" : "";
  if (p.complete) return `prepared: ${p.sentences_ready} sentence${p.sentences_ready === 1 ? "" : "s"}`;
  return `${p.sentences_ready} of ${p.sentences} sentence${p.sentences === 1 ? "" : "s"} ready`;
}

function whenText(item, paused) {
  if (item.state === "playing") return "on air";
  if (item.state === "held") return "waits for approval";
  if (item.starts_in_s === null || item.starts_in_s === undefined) return paused ? "queue paused" : "start not known";
  if (item.starts_in_s < 1) return "next";
  const at = item.starts_in_s < 43200 ? localTime(item.expected_start_at) : localDateTime(item.expected_start_at);
  return `in ${wait(item.starts_in_s)} · ${at}`;
}

function durationText(item) {
  if (item.duration_s === null || item.duration_s === undefined) return item.state === "held" ? "" : "length not known";
  return `${item.duration_estimated ? "≈" : ""}${clock(item.duration_s)}`;
}

// The part of an item that changes what its row shows (its timing is updated separately).
const signature = (item) => JSON.stringify([item.state, item.title, item.text, item.audio_path, item.priority,
  item.voice, item.avatar, item.language, item.schedule_at, item.reason, item.revision, item.interrupt_policy,
  item.mode, item.next_fire_at, item.recurrence, item.playlist]);

function button(text, title, cls, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.title = title;
  b.className = cls;
  b.onclick = onClick;
  return b;
}

function control(tag, name, value, attrs = {}) {
  const el = document.createElement(tag);
  el.name = name;
  Object.assign(el, attrs);
  el.value = value;
  return el;
}

// A <select> of {value, label} with an empty first choice; `current` selected.
export function picker(name, list, current, empty) {
  const select = document.createElement("select");
  select.name = name;
  select.append(new Option(empty, ""));
  for (const v of list) select.append(new Option(v.label, v.value, false, v.value === current));
  if (current && !list.some((v) => v.value === current)) select.append(new Option(current, current, false, true));
  return select;
}

function labelled(name, label, input, wide = false) {
  const holder = document.createElement("label");
  holder.className = `field${wide ? " wide" : ""}`;
  holder.dataset.field = name;
  const span = document.createElement("span");
  span.textContent = label;
  holder.append(span, input, Object.assign(document.createElement("small"), { className: "field-error" }));
  return holder;
}

export class QueueView {
  // `api`: the Api; `act(label, promise)`: runs an action, reporting its failure; `options()`: the
  // pickers' {languages, voices, avatars}; `refresh()`: reload everything.
  constructor({ list, templates, templatesTitle, history, historyTitle, note, api, act, options, refresh }) {
    Object.assign(this, { list, templates, templatesTitle, history, historyTitle, note, api, act, options, refresh });
    this.rows = new Map();
    this.paused = false;
  }

  render(data) {
    this.paused = data.paused;
    const items = data.items;
    const waiting = items.filter((i) => ["queued", "preparing", "ready"].includes(i.state));
    this.note.textContent = data.paused ? "paused: nothing new starts" : `${waiting.length} waiting`;
    this.sync(this.list, items, (item) => this.fillItem(item, waiting), "queue empty — the host idles");
    this.templatesTitle.hidden = !data.templates.length;
    this.sync(this.templates, data.templates, (item) => this.fillTemplate(item), null);
    const done = data.history || [];
    this.historyTitle.hidden = !done.length;
    this.history.replaceChildren(...done.map((item) => {
      const li = document.createElement("li");
      li.className = `item state-${item.state}`;
      li.innerHTML = '<div class="line"><span class="s badge"></span><span class="t"></span></div><div class="why small"></div>';
      li.querySelector(".s").textContent = item.state;
      li.querySelector(".t").textContent = `#${item.id} ${itemName(item)}`;
      li.querySelector(".why").textContent = item.reason || "";
      return li;
    }));
  }

  // Keep one <li> per item id in `ul`, in order; `fill(item)` returns a fresh row body or null to keep it.
  sync(ul, items, fill, emptyText) {
    const seen = new Set();
    const wanted = [];
    for (const item of items) {
      seen.add(item.id);
      let li = this.rows.get(item.id);
      if (!li) {
        li = document.createElement("li");
        li.dataset.id = item.id;
        this.rows.set(item.id, li);
      }
      li.item = item;
      if (li.dataset.editing !== "1") {
        const sig = signature(item);
        if (li.dataset.sig !== sig) {
          li.dataset.sig = sig;
          li.replaceChildren(...fill(item));
          li.className = `item state-${item.state}`;
        }
        this.updateTiming(li, item);
      }
      wanted.push(li);
    }
    for (const li of [...ul.children]) {
      if (li.dataset.id && !seen.has(Number(li.dataset.id))) { this.rows.delete(Number(li.dataset.id)); li.remove(); }
      if (!li.dataset.id) li.remove();
    }
    if (wanted.some((li, k) => ul.children[k] !== li)) ul.append(...wanted);  // reorder only when needed
    if (!items.length && emptyText) {
      const li = document.createElement("li");
      li.className = "muted empty";
      li.textContent = emptyText;
      ul.append(li);
    }
  }

  updateTiming(li, item) {
    const when = li.querySelector(".when");
    if (when) when.textContent = whenText(item, this.paused);
    const dur = li.querySelector(".dur");
    if (dur) dur.textContent = durationText(item);
    const prep = li.querySelector(".prep");
    if (prep) {
      prep.querySelector("span").textContent = preparationText(item);
      const p = item.preparation;
      const bar = prep.querySelector(".mini > div");
      bar.style.width = p ? `${p.complete ? 100 : Math.round((100 * p.sentences_ready) / Math.max(1, p.sentences))}%` : "0";
      prep.querySelector(".mini").hidden = !p || p.complete;
    }
  }

  fillItem(item, waiting) {
    const line = document.createElement("div");
    line.className = "line";
    line.innerHTML = '<span class="s badge"></span><span class="t"></span><span class="when small"></span>';
    line.querySelector(".s").textContent = item.state;
    line.querySelector(".t").textContent = `#${item.id} ${itemName(item)}`;
    const detail = document.createElement("div");
    detail.className = "detail small muted";
    detail.innerHTML = '<span class="dur"></span><span class="prep"><span></span><span class="mini"><div></div></span></span><span class="tags"></span>';
    const tags = [];
    if (item.priority) tags.push(`priority ${item.priority}`);
    if (item.mode !== "append") tags.push(item.mode);
    if (item.schedule_at) tags.push(`not before ${localDateTime(item.schedule_at)}`);
    if (item.avatar) tags.push(`avatar ${item.avatar}`);
    if (item.voice) tags.push(`voice ${item.voice}`);
    if (item.language) tags.push(item.language);
    if (item.interrupt_policy) tags.push(`if cut: ${item.interrupt_policy}`);
    detail.querySelector(".tags").textContent = tags.join(" · ");
    detail.append(this.actions(item, waiting));
    const parts = [line, detail];
    if (item.state === "held") parts.push(this.heldBox(item));
    return parts;
  }

  fillTemplate(item) {
    const line = document.createElement("div");
    line.className = "line";
    line.innerHTML = '<span class="s badge"></span><span class="t"></span>';
    line.querySelector(".s").textContent = item.state === "held" ? "held" : item.recurrence ? "repeats" : "playlist";
    line.querySelector(".t").textContent = `#${item.id} ${itemName(item)}`;
    const detail = document.createElement("div");
    detail.className = "detail small muted";
    detail.append(Object.assign(document.createElement("span"), {
      textContent: item.recurrence
        ? `${recurrenceText(item.recurrence)}${item.next_fire_at ? ` · next ${localDateTime(item.next_fire_at)}` : ""}`
        : `playlist ${item.playlist}`,
    }), this.actions(item, []));
    const parts = [line, detail];
    if (item.state === "held") parts.push(this.heldBox(item));
    return parts;
  }

  heldBox(item) {
    const box = document.createElement("div");
    box.className = "held-why";
    const why = item.reason || item.policy?.reason || "held for review";
    box.innerHTML = '<span class="why"></span>';
    box.querySelector(".why").textContent = `Held by the content policy: ${why}`;
    box.append(
      button("Approve", "Release it into the queue", "ok approve", () =>
        this.act(`approve #${item.id}`, this.api.call("POST", `/queue/${item.id}/approve`))),
      button("Reject", "Refuse it: it never plays", "danger reject", () =>
        this.act(`reject #${item.id}`, this.api.call("POST", `/queue/${item.id}/reject`, { reason: "rejected by operator" }))),
    );
    return box;
  }

  actions(item, waiting) {
    const bar = document.createElement("div");
    bar.className = "actions";
    if (item.state === "playing") {
      bar.append(button("Skip", "Stop it now; the queue goes on", "danger skip", () =>
        this.act("skip", this.api.call("POST", "/skip"))));
      return bar;
    }
    const k = waiting.findIndex((w) => w.id === item.id);
    if (k > 0) {
      bar.append(button("↑", "Move up", "icon up", () =>
        this.act(`move #${item.id}`, this.api.call("PATCH", `/queue/${item.id}`, { before_id: waiting[k - 1].id }))));
    }
    bar.append(
      button("Edit", "Edit this item", "icon edit", () => this.edit(item)),
      button("✕", "Remove", "icon remove", () => this.act(`remove #${item.id}`, this.api.call("DELETE", `/queue/${item.id}`))),
    );
    return bar;
  }

  // Inline editor: only the changed fields are sent; errors show beside their field and stay.
  edit(item) {
    const li = this.rows.get(item.id);
    li.dataset.editing = "1";
    const { languages, voices, avatars } = this.options();
    const form = document.createElement("form");
    form.className = "add edit";
    form.noValidate = true;
    const policies = [{ value: "skip", label: "skip the rest" }, { value: "resume", label: "resume at the cut sentence" }];
    if (item.text !== null) form.append(labelled("text", "text", control("textarea", "text", item.text), true));
    form.append(
      labelled("title", "headline", control("input", "title", item.title || "")),
      labelled("priority", "priority", control("input", "priority", String(item.priority), { type: "number", min: -1000, max: 1000, step: 1 })),
      labelled("language", "language", picker("language", languages, item.language, "detect")),
      labelled("voice", "voice", picker("voice", voices, item.voice, "default voice")),
      labelled("avatar", "avatar", picker("avatar", avatars, item.avatar, "channel presenter")),
    );
    if (!item.recurrence && !item.playlist) {
      form.append(labelled("schedule_at", "not before", control("input", "schedule_at", toLocalInput(item.schedule_at), { type: "datetime-local" })));
    }
    form.append(labelled("interrupt_policy", "if cut by an interrupt", picker("interrupt_policy", policies, item.interrupt_policy, "channel default")));
    const buttons = document.createElement("div");
    buttons.className = "row wide";
    const save = Object.assign(document.createElement("button"), { type: "submit", className: "primary", textContent: "Save" });
    const cancel = Object.assign(document.createElement("button"), { type: "button", className: "cancel", textContent: "Cancel" });
    buttons.append(save, cancel);
    const general = Object.assign(document.createElement("div"), { className: "form-error wide" });
    general.setAttribute("role", "alert");
    form.append(buttons, general);
    const errors = new FieldErrors(form, general);
    const close = () => { delete li.dataset.editing; delete li.dataset.sig; this.refresh(); };
    cancel.onclick = close;
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      errors.clearAll();
      const patch = {};
      const value = (name) => form.elements[name]?.value ?? undefined;
      if (form.elements.text && value("text") !== item.text) patch.text = value("text");
      if (value("title") !== (item.title || "")) patch.title = value("title") || null;
      if (Number(value("priority")) !== item.priority) patch.priority = value("priority") === "" ? 0 : Number(value("priority"));
      for (const name of ["language", "voice", "avatar", "interrupt_policy"]) {
        if ((value(name) || null) !== (item[name] || null)) patch[name] = value(name) || null;
      }
      if (form.elements.schedule_at && value("schedule_at") !== toLocalInput(item.schedule_at)) patch.schedule_at = fromLocalInput(value("schedule_at"));
      if (!Object.keys(patch).length) return close();
      try {
        await this.api.call("PATCH", `/queue/${item.id}`, patch);
        close();
      } catch (e) {
        if (e.unreachable || e.status === 401) this.act("edit", Promise.reject(e));
        errors.show(e);
      }
    };
    li.replaceChildren(form);
    (form.elements.text || form.elements.title).focus();
  }
}
