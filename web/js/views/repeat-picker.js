// The block form's "Repeat" section: every kind of repeat without writing a rule.
// It hands the server a `repeat` object (the server owns the mapping to RRULE and
// the rule in words); raw RRULE text stays under Advanced for the rare case.
//
// repeatSection(block, dateInput) → { el, check(bad), values() } like the other sections.

import { DAY_CODES, addDays, fmtDay, fmtWeekdayShort, weekdayIndex } from "../time.js";
import { h } from "../ui.js";

const KINDS = [
  ["none", "Does not repeat"],
  ["day", "Daily"],
  ["weekdays", "Every weekday (Mon–Fri)"],
  ["week", "Weekly"],
  ["month", "Monthly"],
  ["year", "Yearly"],
  ["custom", "Advanced: a calendar rule"],
];
const UNITS = { day: ["day", "days"], week: ["week", "weeks"], month: ["month", "months"], year: ["year", "years"] };
const WEEKDAYS = DAY_CODES.slice(0, 5);
const ORDINALS = { 1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", "-1": "last" };
const MAX_INTERVAL = 1000;
const MAX_COUNT = 10000;

const dayName = (code) => fmtDay(addDays("2024-01-01", DAY_CODES.indexOf(code)), { weekday: "long" }); // 2024-01-01: a Monday
const isDate = (v) => /^\d{4}-\d{2}-\d{2}$/.test(v || "");

/** Where in its month a date falls: its day, its weekday, which one of those, and whether it is the last. */
function placeOf(day) {
  const [y, m, d] = day.split("-").map(Number);
  const monthDays = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { day: d, weekday: DAY_CODES[weekdayIndex(day)], nth: Math.ceil(d / 7), lastWeek: d + 7 > monthDays, lastDay: d === monthDays };
}

function kindOf(block) {
  if (!block || !block.rrule) return "none";
  const r = block.repeat;
  if (!r) return "custom";
  if (r.every === "week" && r.interval === 1 && r.days.join() === WEEKDAYS.join()) return "weekdays";
  return r.every;
}

export function repeatSection(block, dateInput) {
  const r0 = (block && block.repeat) || null;
  const kind0 = kindOf(block);
  const date = () => (isDate(dateInput.value) ? dateInput.value : null);

  const kind = h("select", { id: "b-repeat", name: "repeat" },
    KINDS.map(([value, label]) => h("option", { value, selected: value === kind0 }, label)));

  // every N …
  const interval = h("input", { type: "number", id: "b-interval", min: "1", max: String(MAX_INTERVAL), inputmode: "numeric",
    value: String(r0 ? r0.interval : 1), "aria-describedby": "b-interval-unit" });
  const unit = h("span", { id: "b-interval-unit" });
  const everyRow = h("div", { class: "every" }, h("label", { for: "b-interval" }, "Every"), interval, unit);

  // weekly: exactly the days the person presses. None is pressed for them: a day chosen
  // from the date and left pressed is how "Tue and Thu" got saved with Monday (issue 14).
  const days = new Set(r0 && r0.every === "week" ? r0.days : []);
  const dayPicker = h("div", { class: "days", role: "group", "aria-label": "Days of the week" },
    DAY_CODES.map((code) => {
      const short = fmtWeekdayShort(addDays("2024-01-01", DAY_CODES.indexOf(code)));
      const chip = h("button", { type: "button", class: "chip", "aria-label": dayName(code), dataset: { day: code } }, short.slice(0, 2));
      chip.addEventListener("click", () => {
        if (days.has(code)) days.delete(code);
        else days.add(code);
        drawDays();
      });
      return chip;
    }));
  const drawDays = () => {
    for (const chip of dayPicker.children) chip.setAttribute("aria-pressed", String(days.has(chip.dataset.day)));
  };
  const weekBox = h("div", { class: "stack-sm" }, dayPicker, h("p", { class: "hint" }, "Press each day it repeats on."));

  // monthly: on the date's day, or on "the 2nd Tuesday" (or the last one), offered from the date
  const monthBox = h("div", { class: "radios", role: "radiogroup", "aria-label": "On which day of the month" });
  const ownChoice = r0 && r0.every === "month"
    ? (r0.month_day !== null ? { month_day: r0.month_day } : { nth: r0.nth, weekday: r0.weekday }) : null;
  let monthChoice = ownChoice;
  const sameChoice = (a, b) => a && b && a.month_day === b.month_day && a.nth === b.nth && a.weekday === b.weekday;
  const drawMonth = () => {
    const choices = [];
    if (date()) {
      const p = placeOf(date());
      choices.push({ month_day: p.day });
      if (p.lastDay) choices.push({ month_day: -1 });
      if (p.nth <= 4) choices.push({ nth: p.nth, weekday: p.weekday });
      if (p.lastWeek) choices.push({ nth: -1, weekday: p.weekday });
    }
    if (ownChoice && !choices.some((c) => sameChoice(c, ownChoice))) choices.unshift(ownChoice); // the block's own, kept
    if (!monthChoice || !choices.some((c) => sameChoice(c, monthChoice))) monthChoice = choices[0] || null;
    monthBox.replaceChildren(...choices.map((c, i) => {
      const label = c.month_day === -1 ? "On the last day of the month"
        : c.month_day ? `On day ${c.month_day}` : `On the ${ORDINALS[c.nth]} ${dayName(c.weekday)}`;
      const input = h("input", { type: "radio", name: "b-month", id: `b-month-${i}`, checked: sameChoice(c, monthChoice) });
      input.addEventListener("change", () => { monthChoice = c; });
      return h("label", { class: "radio", for: `b-month-${i}` }, input, h("span", {}, label));
    }));
  };

  const yearHint = h("p", { class: "hint", id: "b-year-hint" });
  const drawYear = () => { yearHint.textContent = date() ? `On ${fmtDay(date(), { day: "numeric", month: "long" })}.` : ""; };

  // ends: never, after N sessions, on a date
  const end0 = r0 && r0.count ? "count" : r0 && r0.until ? "until" : "never";
  const count = h("input", { type: "number", id: "b-count", min: "1", max: String(MAX_COUNT), inputmode: "numeric",
    value: String((r0 && r0.count) || 10), "aria-label": "Number of sessions" });
  const until = h("input", { type: "date", id: "b-until", value: (r0 && r0.until) || "", "aria-label": "Last date" });
  const endRadio = (value, ...label) => h("label", { class: "radio" },
    h("input", { type: "radio", name: "b-ends", value, checked: value === end0 }), h("span", { class: "radio-text" }, ...label));
  const endsBox = h("fieldset", { class: "ends" }, h("legend", {}, "Ends"),
    h("div", { class: "radios" },
      endRadio("never", "Never"),
      endRadio("count", "After ", count, " sessions"),
      endRadio("until", "On ", until)));
  const ends = () => endsBox.querySelector("input[name=b-ends]:checked").value;
  for (const [input, value] of [[count, "count"], [until, "until"]]) {
    input.addEventListener("focus", () => { endsBox.querySelector(`input[value=${value}]`).checked = true; });
  }

  // advanced: the rule itself
  const raw = h("input", { type: "text", id: "b-rrule", name: "rrule", autocomplete: "off", spellcheck: "false", autocapitalize: "characters",
    placeholder: "FREQ=MONTHLY;BYDAY=1SA;COUNT=6", value: kind0 === "custom" ? block.rrule : "" });
  const customBox = h("div", { class: "field" },
    h("label", { for: "b-rrule" }, "Calendar rule (iCalendar RRULE)"), raw,
    h("p", { class: "hint" }, "For repeats the choices above can't say, in the form calendar apps use."));

  const now = block && block.rrule ? h("p", { class: "hint", id: "b-repeat-now" }, `Now: ${block.repeat_text || "a custom rule"}`) : null;

  const sync = () => {
    const k = kind.value;
    const repeating = !["none", "weekdays", "custom"].includes(k);
    everyRow.hidden = !repeating;
    if (repeating) unit.textContent = Number(interval.value) === 1 ? UNITS[k][0] : UNITS[k][1];
    weekBox.hidden = k !== "week";
    monthBox.hidden = k !== "month";
    yearHint.hidden = k !== "year";
    endsBox.hidden = k === "none" || k === "custom";
    customBox.hidden = k !== "custom";
    drawDays();
    drawMonth();
    drawYear();
  };
  kind.addEventListener("change", sync);
  interval.addEventListener("input", sync);
  dateInput.addEventListener("change", sync);
  sync();

  const values = () => {
    const k = kind.value;
    if (k === "none") return { repeat: null };
    if (k === "custom") return { rrule: raw.value.trim().replace(/^RRULE:/i, "") };
    const repeat = { every: k === "weekdays" ? "week" : k, interval: k === "weekdays" ? 1 : Number(interval.value) };
    if (k === "weekdays") repeat.days = WEEKDAYS;
    if (k === "week") repeat.days = DAY_CODES.filter((d) => days.has(d));
    if (k === "month" && monthChoice) Object.assign(repeat, monthChoice);
    if (ends() === "count") repeat.count = Number(count.value);
    if (ends() === "until") repeat.until = until.value;
    return { repeat };
  };

  const check = (bad) => {
    const k = kind.value;
    if (["none", "custom", "weekdays"].includes(k) === false) {
      const n = Number(interval.value);
      if (!Number.isInteger(n) || n < 1 || n > MAX_INTERVAL) bad(interval, `Repeat every 1 to ${MAX_INTERVAL} ${UNITS[k][1]}.`);
    }
    if (k === "week" && !days.size) bad(dayPicker, "Pick at least one day of the week.");
    if (k === "month" && !monthChoice) bad(kind, "Pick a date first, then the day of the month.");
    if (k === "custom" && !raw.value.trim()) bad(raw, "Write the rule, or pick one of the other repeats.");
    if (k !== "none" && k !== "custom") {
      const n = Number(count.value);
      if (ends() === "count" && (!Number.isInteger(n) || n < 1 || n > MAX_COUNT)) bad(count, `Sessions: a whole number from 1 to ${MAX_COUNT}.`);
      if (ends() === "until" && !isDate(until.value)) bad(until, "Pick the last date, or choose another ending.");
      else if (ends() === "until" && date() && until.value < date()) bad(until, "The last date is before the first one.");
    }
  };

  return {
    el: h("fieldset", { class: "field repeat-picker" }, h("legend", {}, "Repeat"),
      h("label", { class: "visually-hidden", for: "b-repeat" }, "How it repeats"), kind, now,
      everyRow, weekBox, monthBox, yearHint, endsBox, customBox),
    check,
    values,
    repeats: () => kind.value !== "none",
  };
}
