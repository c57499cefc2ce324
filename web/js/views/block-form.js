// Add or edit a study block: a form made of sections (what, when, repeat,
// reminders, notes). Each section draws its fields, checks them and hands back
// its part of the request body.

import { createBlock, deleteBlock, limits, loadBlock, updateBlock } from "../data.js";
import { describeOffsets, localToUtc, todayIn, toLocal, zoneLabel } from "../time.js";
import { dismiss } from "../queue.js";
import { confirmButton, h, pageHead, switchRow, toast } from "../ui.js";
import { errorCard, reportChange } from "./common.js";
import { repeatSection } from "./repeat-picker.js";
import { offsetPicker, sameList } from "./widgets.js";

const DURATIONS = [25, 45, 60, 90];

export async function render(root, params, ctx) {
  const id = params[0] ? decodeURIComponent(params[0]) : null;
  root.append(pageHead(id ? "Edit block" : "New study block"));
  let block = null;
  if (id) {
    try {
      block = await loadBlock(id);
    } catch (err) {
      root.append(errorCard(err, () => ctx.rerender()));
      return;
    }
    if (!block) {
      root.append(errorCard({ detail: "This block is not on your schedule any more." }));
      return;
    }
  }
  const tz = (block && block.timezone) || ctx.tz; // a block keeps the zone it was planned in
  if (block && block.pending) {
    root.append(h("p", { class: "notice warn", id: "b-pending", role: "status" }, "Changes to this block are saved on this device and sync when your computer is reachable."));
  }

  const summary = h("div", { class: "notice error", id: "form-errors", role: "alert", hidden: true, tabindex: "-1" });
  const what = whatSection(block);
  const when = whenSection(block, tz, !id);
  const repeat = repeatSection(block, when.date);
  const reminders = remindersSection(block, ctx.settings.default_offsets || []);
  const notes = notesSection(block);
  const sections = [what, when, repeat, reminders, notes];

  const save = h("button", { type: "submit", class: "btn btn-primary" }, id ? "Save changes" : "Add block");
  const form = h("form", { class: "stack", novalidate: true },
    summary,
    sections.map((s) => (s === when ? [s.el, h("p", { class: "hint", id: "b-zone" }, `Times are in ${zoneLabel(tz)}.`)] : s.el)),
    h("div", { class: "form-actions" }, save, h("a", { class: "btn", href: "#/today" }, "Cancel")),
    id ? deleteRow(id, block, ctx) : null,
  );

  function fail(messages, focus) {
    summary.replaceChildren(h("strong", {}, "Please fix this:"), h("ul", {}, messages.map((m) => h("li", {}, m))));
    summary.hidden = false;
    (focus || summary).focus();
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    summary.hidden = true;
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    const problems = [];
    let first = null;
    const bad = (el, msg) => {
      if (el) el.setAttribute("aria-invalid", "true");
      problems.push(msg);
      first = first || el;
    };
    for (const s of sections) s.check?.(bad, { repeats: repeat.repeats() });
    if (problems.length) return fail(problems, first);

    const body = Object.assign({}, ...sections.map((s) => s.values()));
    if (!id && body.repeat === null) delete body.repeat;
    if (!id && body.rrule === null) delete body.rrule;
    save.disabled = true;
    try {
      const outcome = id ? await updateBlock(id, body, tz) : await createBlock(body, tz);
      if (outcome.state === "failed") {
        fail([outcome.error]);
        if (outcome.item) await dismiss(outcome.item.seq); // shown here; no need to keep it
        return;
      }
      await reportChange(outcome, id ? "Saved." : `Added "${body.title}".`);
      ctx.navigate("#/today");
    } catch (err) {
      toast(err.message, { error: true });
    } finally {
      save.disabled = false;
    }
  });

  root.append(form);
}

// ---- what ------------------------------------------------------------------------

function whatSection(block) {
  const title = h("input", { type: "text", id: "b-title", name: "title", required: true, maxlength: limits().block_title_max, autocomplete: "off",
    placeholder: "e.g. Organic chemistry", value: block ? block.title : "" });
  return {
    el: h("div", { class: "field" }, h("label", { for: "b-title" }, "What will you study?"), title),
    check: (bad) => { if (!title.value.trim()) bad(title, "Give the block a title."); },
    values: () => ({ title: title.value.trim() }),
  };
}

// ---- when ------------------------------------------------------------------------

function whenSection(block, tz, isNew) {
  const maxMinutes = limits().duration_minutes_max; // the server's; unknown offline on a first start
  const nextHour = toLocal(new Date(Date.now() + 3600 * 1000), tz).slice(0, 13) + ":00";
  const start = (block && block.start) || nextHour;
  const date = h("input", { type: "date", id: "b-date", name: "date", required: true, value: start.slice(0, 10) || todayIn(tz) });
  const time = h("input", { type: "time", id: "b-time", name: "time", required: true, value: start.slice(11, 16) });
  const duration = h("input", { type: "number", id: "b-duration", name: "duration", required: true, min: "1", max: maxMinutes,
    inputmode: "numeric", value: String(block ? block.duration_minutes : 60) });
  const chips = h("div", { class: "chips fixed" }, DURATIONS.map((m) => {
    const chip = h("button", { type: "button", class: "chip", dataset: { minutes: String(m) } }, `${m} min`);
    chip.addEventListener("click", () => { duration.value = String(m); syncChips(); });
    return chip;
  }));
  const syncChips = () => {
    for (const chip of chips.children) chip.setAttribute("aria-pressed", String(chip.dataset.minutes === duration.value));
  };
  duration.addEventListener("input", syncChips);
  syncChips();
  return {
    date,
    el: [
      h("div", { class: "two" },
        h("div", { class: "field" }, h("label", { for: "b-date" }, "Date"), date),
        h("div", { class: "field" }, h("label", { for: "b-time" }, "Start time"), time)),
      h("div", { class: "field" }, h("label", { for: "b-duration" }, "Duration (minutes)"), duration, chips),
    ],
    check: (bad, { repeats }) => {
      const minutes = Number(duration.value);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date.value)) bad(date, "Pick a date.");
      else if (!/^\d{2}:\d{2}/.test(time.value)) bad(time, "Pick a start time.");
      else if (isNew && !repeats && Number.isInteger(minutes)) {
        // a one-off that is already over would never show up anywhere
        const end = localToUtc(`${date.value}T${time.value.slice(0, 5)}`, tz).getTime() + minutes * 60000;
        if (end <= Date.now()) bad(date, "That time has already passed. Pick a date and time still ahead.");
      }
      if (!Number.isInteger(minutes) || minutes < 1 || (maxMinutes && minutes > maxMinutes)) {
        bad(duration, maxMinutes ? `Duration must be whole minutes from 1 to ${maxMinutes}.` : "Duration must be whole minutes.");
      }
    },
    values: () => ({ start: `${date.value}T${time.value.slice(0, 5)}`, duration_minutes: Number(duration.value) }),
  };
}

// ---- reminders ---------------------------------------------------------------------

function remindersSection(block, defaultOffsets) {
  const defaults = [...defaultOffsets].sort((a, b) => a - b);
  const followsDefaults0 = !block || block.reminder_offsets === null || block.reminder_offsets === undefined;
  let followsDefaults = followsDefaults0;
  const hint = h("p", { class: "hint", id: "b-offsets-hint" });
  const drawHint = () => {
    hint.textContent = followsDefaults ? `Following your default reminder times (${describeOffsets(defaults)}).`
      : "Custom reminder times for this block.";
  };
  const picker = offsetPicker({
    id: "b-offsets", legend: "Remind me",
    initial: followsDefaults0 ? defaults : [...block.reminder_offsets].sort((a, b) => a - b),
    onchange: (list) => { followsDefaults = followsDefaults0 && sameList(list, defaults); drawHint(); },
  });
  drawHint();
  const toggle = switchRow({ id: "b-reminders", label: "Reminders", hint: "Push notifications for this block",
    checked: block ? block.reminders !== false : true,
    onchange: (e) => { picker.el.disabled = !e.target.checked; } });
  picker.el.disabled = block ? block.reminders === false : false;
  const on = () => toggle.querySelector("input").checked;
  return {
    el: h("section", { class: "card stack-sm", "aria-label": "Reminders" }, toggle, picker.el, hint),
    check: (bad) => { if (on() && !picker.get().length) bad(null, "Pick at least one reminder time, or turn reminders off."); },
    values: () => ({ reminders: on(), reminder_offsets: followsDefaults ? null : picker.get() }),
  };
}

// ---- notes and delete ----------------------------------------------------------------

function notesSection(block) {
  const notes = h("textarea", { id: "b-notes", name: "notes", rows: "3", maxlength: limits().block_notes_max, placeholder: "Chapter 4, practice problems 1–12" });
  notes.value = block ? block.notes || "" : "";
  return {
    el: h("div", { class: "field" }, h("label", { for: "b-notes" }, "Notes"), notes),
    values: () => ({ notes: notes.value.trim() }),
  };
}

function deleteRow(id, block, ctx) {
  return h("div", { class: "row" }, confirmButton("Delete block", "Tap again to delete", async () => {
    const ok = await reportChange(await deleteBlock(id, block.title), "Block deleted.");
    if (ok) ctx.navigate("#/today");
  }));
}
