// The Events panel: one event per line, newest first; a repeat of a recent line (an output retrying,
// the event stream reconnecting) bumps that line's count and moves it to the top instead of adding one.
"use strict";

const COLLAPSE_WITHIN = 20;  // lines looked at for a repeat
const MAX_LINES = 200;

export class EventLog {
  constructor(list) {
    this.list = list;
  }

  // `key` identifies what repeats (default: the text); `level` is "", "warn" or "error".
  add(text, { key = text, level = "" } = {}) {
    const time = new Date().toLocaleTimeString();
    const lines = [...this.list.children].slice(0, COLLAPSE_WITHIN);
    const same = lines.find((li) => li.dataset.key === key);
    if (same) {
      const n = Number(same.dataset.count) + 1;
      same.dataset.count = String(n);
      same.querySelector(".when").textContent = time;
      same.querySelector(".what").textContent = text;
      same.querySelector(".count").textContent = `×${n}`;
      this.list.prepend(same);
      return same;
    }
    const li = document.createElement("li");
    li.dataset.key = key;
    li.dataset.count = "1";
    if (level) li.className = level;
    li.innerHTML = '<span class="when"></span><span class="what"></span><span class="count"></span>';
    li.querySelector(".when").textContent = time;
    li.querySelector(".what").textContent = text;
    this.list.prepend(li);
    while (this.list.children.length > MAX_LINES) this.list.lastElementChild.remove();
    return li;
  }
}
