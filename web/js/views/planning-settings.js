// Settings → planning: quiet hours (start, end, hold or drop, optional nights) and
// "How did it go?" at a block's end. A settings section ({el, values}): the screen's
// Save sends what changed.

import { DAY_CODES, addDays, fmtDay, fmtWeekdayShort } from "../time.js";
import { h, switchRow } from "../ui.js";

const dayName = (code) => fmtDay(addDays("2024-01-01", DAY_CODES.indexOf(code)), { weekday: "long" }); // a Monday

/** The section; `current` is the settings as GET /api/settings returned them. */
export function planningSection(current) {
  const q = current.quiet_hours || null;
  const start = h("input", { type: "time", id: "q-start", value: q ? q.start : "23:00" });
  const end = h("input", { type: "time", id: "q-end", value: q ? q.end : "07:00" });
  const mode = (value, label) => h("label", {},
    h("input", { type: "radio", name: "q-mode", id: `q-mode-${value}`, value, checked: (q ? q.mode : "hold") === value }),
    h("span", {}, label));
  const modes = h("div", { class: "seg", role: "radiogroup", "aria-label": "Reminders in quiet hours" },
    mode("hold", "Hold until after"), mode("drop", "Don't send"));

  // no day pressed = every night; pressing days limits it to those nights
  const days = new Set(q && q.days ? q.days : []);
  const dayPicker = h("div", { class: "days", role: "group", "aria-label": "Nights it applies to", id: "q-days" },
    DAY_CODES.map((code) => {
      const chip = h("button", { type: "button", class: "chip", "aria-label": dayName(code), dataset: { day: code } },
        fmtWeekdayShort(addDays("2024-01-01", DAY_CODES.indexOf(code))).slice(0, 2));
      chip.addEventListener("click", () => {
        if (days.has(code)) days.delete(code);
        else days.add(code);
        draw();
      });
      return chip;
    }));
  const daysHint = h("p", { class: "hint" });
  const fields = h("div", { class: "stack" },
    h("div", { class: "two" },
      h("div", { class: "field" }, h("label", { for: "q-start" }, "From"), start),
      h("div", { class: "field" }, h("label", { for: "q-end" }, "Until"), end)),
    h("div", { class: "field" }, h("span", { class: "label" }, "A reminder that falls inside"), modes),
    h("div", { class: "field" }, h("span", { class: "label" }, "Nights"), dayPicker, daysHint));
  const quietRow = switchRow({ id: "q-on", label: "Quiet hours", hint: "Keep the phone silent at night; the daily summary never lands inside",
    checked: Boolean(q), onchange: () => draw() });
  const quietOn = () => quietRow.querySelector("#q-on");
  const checkRow = switchRow({ id: "s-check", label: "How did it go?", hint: "At the end of each block: Done / Not done / more time, in one tap",
    checked: Boolean(current.end_of_block_check) });
  const draw = () => {
    for (const chip of dayPicker.children) chip.setAttribute("aria-pressed", String(days.has(chip.dataset.day)));
    daysHint.textContent = days.size
      ? "Only the nights pressed, by the day quiet hours start."
      : "Every night. Press days to limit it to those nights.";
    fields.hidden = !quietOn().checked;
  };
  draw();

  const values = () => ({
    quiet_hours: quietOn().checked
      ? { start: start.value, end: end.value, mode: fields.querySelector("input[name=q-mode]:checked").value,
        ...(days.size ? { days: DAY_CODES.filter((d) => days.has(d)) } : {}) }
      : null,
    end_of_block_check: checkRow.querySelector("#s-check").checked,
  });
  // reachable as #/settings/quiet, like settings.js's own sections
  const el = [h("h2", { class: "section-title", id: "settings-quiet" }, "Quiet hours & check-ins"),
    h("section", { class: "card stack", id: "planning-settings", "aria-labelledby": "settings-quiet" }, quietRow, fields, checkRow)];
  return { el, values };
}
