// DOM helpers: build elements without innerHTML (so no markup injection and no
// inline handlers: CSP is `script-src 'self'`), toasts, small widgets.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h("button", {class: "btn", onclick: fn}, "Save") → <button>.
 * Attributes starting with "on" become listeners; `false`/`null` attributes are skipped;
 * children may be strings, nodes, arrays, or null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

function applyAttrs(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value" && "value" in el && !(el instanceof SVGElement)) {
      el.value = value;
    } else if (key === "checked" || key === "selected") {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's children (null/false children are skipped, unlike replaceChildren). */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** A short message at the bottom of the screen. */
export function toast(message, { error = false, ms = 3600 } = {}) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const el = h("div", { class: `toast${error ? " error" : ""}` }, message);
  box.append(el);
  setTimeout(() => el.remove(), ms);
}

/** The page heading, focusable so route changes can move focus to it. */
export function pageHead(title, kicker) {
  return h("div", { class: "page-head" }, kicker ? h("p", { class: "kicker" }, kicker) : null, h("h1", { tabindex: "-1" }, title));
}

/** A labelled switch (a checkbox with role=switch). */
export function switchRow({ id, label, hint, checked, onchange }) {
  return h(
    "div",
    { class: "switch-row" },
    h("span", { class: "text" }, h("label", { for: id }, h("b", {}, label)), hint ? h("span", { class: "hint" }, hint) : null),
    h("input", { type: "checkbox", role: "switch", class: "switch", id, checked, onchange }),
  );
}

/**
 * A button that asks for a second tap before doing something destructive.
 * Avoids window.confirm(), which standalone iOS apps render poorly.
 */
export function confirmButton(label, confirmLabel, action, cls = "btn btn-danger") {
  let timer = null;
  const btn = h("button", { type: "button", class: cls }, label);
  btn.addEventListener("click", async () => {
    if (!btn.classList.contains("is-armed")) {
      btn.classList.add("is-armed");
      btn.textContent = confirmLabel;
      timer = setTimeout(() => {
        btn.classList.remove("is-armed");
        btn.textContent = label;
      }, 4000);
      return;
    }
    clearTimeout(timer);
    btn.disabled = true;
    try {
      await action();
    } finally {
      btn.disabled = false;
      btn.classList.remove("is-armed");
      btn.textContent = label;
    }
  });
  return btn;
}

/** Run an async click handler with the button disabled meanwhile. */
export function busy(btn, fn) {
  return async (event) => {
    if (btn.disabled) return;
    btn.disabled = true;
    btn.setAttribute("aria-busy", "true");
    try {
      await fn(event);
    } finally {
      btn.disabled = false;
      btn.removeAttribute("aria-busy");
    }
  };
}

/** The iOS "Share" glyph, for the Add to Home Screen instructions. */
export function shareIcon() {
  return s(
    "svg",
    { class: "share-icon", viewBox: "0 0 24 24", "aria-hidden": "true" },
    s("path", { d: "M12 3v12M8 7l4-4 4 4" }),
    s("path", { d: "M6 11H5v10h14V11h-1" }),
  );
}

/** Say what went wrong in words a person can act on. */
export function errorText(err) {
  if (!err) return "Something went wrong.";
  if (err.name === "OfflineError") return err.message;
  if (err.detail) return err.detail;
  return err.message || String(err);
}
