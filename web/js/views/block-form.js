// Add or edit a study block.

import { createBlock, deleteBlock, loadBlock, updateBlock } from "../data.js";
import { describeOffsets, todayIn, toLocal } from "../time.js";
import { dismiss } from "../queue.js";
import { confirmButton, h, pageHead, switchRow, toast } from "../ui.js";
import { errorCard, reportChange } from "./common.js";
import { repeatSection } from "./repeat-picker.js";
import { offsetPicker, sameList } from "./widgets.js";

const DURATIONS = [25, 45, 60, 90];

export async function render(root, params, ctx) {
  const id = params[0] ? decodeURIComponent(params[0]) : null;
  let tz = ctx.tz;
  const defaults = [...(ctx.settings.default_offsets || [0, 15])].sort((a, b) => a - b);
  let block = null;
  if (id) {
    root.append(pageHead("Edit block"));
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
    tz = block.timezone || tz; // a block keeps the zone it was planned in
  } else {
    root.append(pageHead("New study block"));
  }

  // ---- initial values -----------------------------------------------------
  const nextHour = toLocal(new Date(Date.now() + 3600 * 1000), tz).slice(0, 13) + ":00";
  const start = (block && block.start) || nextHour;
  const date0 = start.slice(0, 10) || todayIn(tz);
  const followsDefaults0 = !block || block.reminder_offsets === null || block.reminder_offsets === undefined;
  const offsets0 = followsDefaults0 ? defaults : [...block.reminder_offsets].sort((a, b) => a - b);

  // ---- fields ---------------------------------------------------------------
  const summary = h("div", { class: "notice error", id: "form-errors", role: "alert", hidden: true, tabindex: "-1" });
  const title = h("input", { type: "text", id: "b-title", name: "title", required: true, maxlength: "200", autocomplete: "off",
    placeholder: "e.g. Organic chemistry", value: block ? block.title : "" });
  const date = h("input", { type: "date", id: "b-date", name: "date", required: true, value: date0 });
  const time = h("input", { type: "time", id: "b-time", name: "time", required: true, value: start.slice(11, 16) });
  const duration = h("input", { type: "number", id: "b-duration", name: "duration", required: true, min: "1", max: "1440",
    inputmode: "numeric", value: String(block ? block.duration_minutes : 60) });
  const durationChips = h("div", { class: "chips fixed" }, DURATIONS.map((m) => {
    const chip = h("button", { type: "button", class: "chip", dataset: { minutes: String(m) } }, `${m} min`);
    chip.addEventListener("click", () => { duration.value = String(m); syncDurationChips(); });
    return chip;
  }));
  const syncDurationChips = () => {
    for (const chip of durationChips.children) chip.setAttribute("aria-pressed", String(chip.dataset.minutes === duration.value));
  };
  duration.addEventListener("input", syncDurationChips);
  syncDurationChips();

  const repeat = repeatSection(block, date);

  const followHint = h("p", { class: "hint", id: "b-offsets-hint" });
  let followsDefaults = followsDefaults0;
  const picker = offsetPicker({
    id: "b-offsets", initial: offsets0, legend: "Remind me",
    onchange: (list) => { followsDefaults = followsDefaults0 && sameList(list, defaults); drawFollow(); },
  });
  const drawFollow = () => {
    followHint.textContent = followsDefaults ? `Following your default reminder times (${describeOffsets(defaults)}).`
      : "Custom reminder times for this block.";
  };
  drawFollow();
  const reminders = switchRow({ id: "b-reminders", label: "Reminders", hint: "Push notifications for this block",
    checked: block ? block.reminders !== false : true,
    onchange: (e) => { picker.el.disabled = !e.target.checked; } });
  picker.el.disabled = block ? block.reminders === false : false;

  const notes = h("textarea", { id: "b-notes", name: "notes", rows: "3", maxlength: "2000", placeholder: "Chapter 4, practice problems 1–12" });
  notes.value = block ? block.notes || "" : "";

  const save = h("button", { type: "submit", class: "btn btn-primary" }, id ? "Save changes" : "Add block");
  const form = h("form", { class: "stack", novalidate: true },
    summary,
    h("div", { class: "field" }, h("label", { for: "b-title" }, "What will you study?"), title),
    h("div", { class: "two" },
      h("div", { class: "field" }, h("label", { for: "b-date" }, "Date"), date),
      h("div", { class: "field" }, h("label", { for: "b-time" }, "Start time"), time)),
    h("div", { class: "field" }, h("label", { for: "b-duration" }, "Duration (minutes)"), duration, durationChips),
    repeat.el,
    h("section", { class: "card stack-sm", "aria-label": "Reminders" }, reminders, picker.el, followHint),
    h("div", { class: "field" }, h("label", { for: "b-notes" }, "Notes"), notes),
    h("p", { class: "hint" }, `Times are in ${tz}.`),
    h("div", { class: "form-actions" },
      save,
      h("a", { class: "btn", href: "#/today" }, "Cancel")),
    id ? h("div", { class: "row" }, confirmButton("Delete block", "Tap again to delete", async () => {
      const ok = await reportChange(await deleteBlock(id, block.title), "Block deleted.");
      if (ok) ctx.navigate("#/today");
    })) : null,
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
    const bad = (el, msg) => { el.setAttribute("aria-invalid", "true"); problems.push(msg); first = first || el; };
    const minutes = Number(duration.value);
    if (!title.value.trim()) bad(title, "Give the block a title.");
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date.value)) bad(date, "Pick a date.");
    if (!/^\d{2}:\d{2}/.test(time.value)) bad(time, "Pick a start time.");
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) bad(duration, "Duration must be whole minutes from 1 to 1440.");
    repeat.check(bad);
    const remindersOn = form.querySelector("#b-reminders").checked;
    if (remindersOn && !picker.get().length) problems.push("Pick at least one reminder time, or turn reminders off.");
    if (problems.length) return fail(problems, first);

    const body = {
      title: title.value.trim(),
      start: `${date.value}T${time.value.slice(0, 5)}`,
      duration_minutes: minutes,
      ...repeat.values(),
      notes: notes.value.trim(),
      reminders: remindersOn,
      reminder_offsets: followsDefaults ? null : picker.get(),
    };
    if (!id && body.repeat === null) delete body.repeat;
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
