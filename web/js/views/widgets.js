// Form widgets: reminder offset chips (0/15/30 one tap away, plus custom minutes).

import { limits } from "../data.js";
import { fmtDuration } from "../time.js";
import { h } from "../ui.js";

export const CLASSIC_OFFSETS = [0, 15, 30];

export function offsetLabel(min) {
  return min === 0 ? "At start" : `${fmtDuration(min)} before`;
}

/**
 * Chips for reminder offsets (minutes before the start). Returns
 * {el, get(), set(list)}; `onchange(list)` fires after every change.
 */
export function offsetPicker({ id, initial, onchange = () => {}, legend = "Remind me" }) {
  const selected = new Set(initial || []);
  const chips = h("div", { class: "chips", id: `${id}-chips` });
  const max = limits().offset_minutes_max; // the server's; unknown offline on a first start
  const input = h("input", { type: "number", id: `${id}-custom`, min: "1", max, inputmode: "numeric", placeholder: "min" });
  const error = h("p", { class: "error", id: `${id}-error`, hidden: true });

  function draw() {
    chips.replaceChildren();
    const values = [...new Set([...CLASSIC_OFFSETS, ...selected])].sort((a, b) => a - b);
    for (const v of values) {
      const classic = CLASSIC_OFFSETS.includes(v);
      const on = selected.has(v);
      const chip = h("button", { type: "button", class: "chip", "aria-pressed": String(on), dataset: { offset: String(v) } },
        offsetLabel(v), !classic ? h("span", { class: "x", "aria-hidden": "true" }, "×") : null);
      if (!classic) chip.setAttribute("aria-label", `${offsetLabel(v)} (tap to remove)`);
      chip.addEventListener("click", () => {
        if (selected.has(v)) selected.delete(v);
        else selected.add(v);
        draw();
        onchange(get());
      });
      chips.append(chip);
    }
  }

  function addCustom() {
    const n = Number(input.value);
    if (!Number.isInteger(n) || n < 1 || (max && n > max)) {
      error.textContent = max ? `Enter whole minutes from 1 to ${max}.` : "Enter whole minutes.";
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      return;
    }
    error.hidden = true;
    input.removeAttribute("aria-invalid");
    selected.add(n);
    input.value = "";
    draw();
    onchange(get());
  }

  const add = h("button", { type: "button", class: "btn btn-small" }, "Add");
  add.addEventListener("click", addCustom);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      addCustom();
    }
  });

  const get = () => [...selected].sort((a, b) => a - b);
  const set = (list) => {
    selected.clear();
    for (const v of list || []) selected.add(v);
    draw();
  };
  draw();

  const el = h("fieldset", { class: "field", id },
    h("legend", {}, legend),
    chips,
    h("div", { class: "chip-input" },
      h("label", { for: `${id}-custom`, class: "hint" }, "Other:"), input,
      h("span", { class: "hint" }, "min before"), add),
    error);
  return { el, get, set };
}

export const sameList = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
