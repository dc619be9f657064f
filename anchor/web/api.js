// The control API client of the control room, and field errors shown beside the fields at fault.
"use strict";

// A refused or failed request: `status` 0 means the API could not be reached at all.
export class ApiFailure extends Error {
  constructor(message, { status = 0, field = null } = {}) {
    super(message);
    this.status = status;
    this.field = field;
  }
  get unreachable() { return this.status === 0; }
}

export class Api {
  constructor(key = "") { this.key = key; }

  // JSON in, JSON out; `body` may be FormData (multipart, e.g. an audio upload).
  async call(method, path, body) {
    const headers = {};
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    let res;
    try {
      res = await fetch(path, { method, headers, body: payload, cache: "no-store" });
    } catch (e) {
      throw new ApiFailure(`the control API does not answer (${e.message})`);
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = data.error || {};
      throw new ApiFailure(err.message || `the server answered HTTP ${res.status}`, { status: res.status, field: err.field || null });
    }
    return data;
  }
}

// Field errors of one form: each `.field[data-field=NAME]` holds a `small.field-error`.
// An error stays until that field is edited or the form is sent again; one with no field of its own
// goes to the form's general error box.
export class FieldErrors {
  constructor(form, generalBox) {
    this.form = form;
    this.general = generalBox;
    form.addEventListener("input", (ev) => this.clearFor(ev.target));
    form.addEventListener("change", (ev) => this.clearFor(ev.target));
  }

  holderFor(field) {
    if (!field) return null;
    const parts = String(field).split(".");
    for (let n = parts.length; n > 0; n--) {  // "recurrence.daily_at", then "recurrence"
      const el = this.form.querySelector(`.field[data-field="${CSS.escape(parts.slice(0, n).join("."))}"]`);
      if (el && !el.hidden) return el;
    }
    if (field === "audio_path") return this.holderFor("audio");
    return null;
  }

  show(err) {
    const holder = this.holderFor(err.field);
    if (holder) {
      holder.classList.add("invalid");
      holder.querySelector(".field-error").textContent = err.message;
      holder.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
    } else if (this.general) {
      this.general.textContent = err.message;
    }
  }

  clearFor(target) {
    const holder = target.closest?.(".field");
    if (holder && holder.classList.contains("invalid")) {
      holder.classList.remove("invalid");
      holder.querySelector(".field-error").textContent = "";
      holder.querySelector("[aria-invalid]")?.removeAttribute("aria-invalid");
    }
    if (this.general) this.general.textContent = "";
  }

  clearAll() {
    for (const holder of this.form.querySelectorAll(".field.invalid")) this.clearFor(holder);
    if (this.general) this.general.textContent = "";
  }
}
