// One session, not the series: move it (another time or day), change its length,
// cancel it, put it back, or change "this and all following" (which splits the
// series). The server keeps these as RFC 5545 overrides keyed by the original start.

import { api } from "../api.js";
import { fmtDay, fmtTime, keyToDate, localToUtc, toLocal } from "../time.js";
import { busy, confirmButton, errorText, h, toast } from "../ui.js";

const fmtDayTime = (local) => `${fmtDay(local, { weekday: "short", day: "numeric", month: "short" })}, ${fmtTime(local)}`;

async function send(method, path, body, said) {
  try {
    const out = await api(method, path, body);
    toast(said(out));
    return out;
  } catch (err) {
    toast(err.name === "OfflineError" ? "You're offline. Sessions can be changed when your computer is reachable." : `Not changed: ${errorText(err)}`, { error: true, ms: 6000 });
    return null;
  }
}

/** A cancelled session is off the agenda (an EXDATE); its screen can put it back where the rule has it. */
export function restoreButton(block, key, ctx) {
  const btn = h("button", { type: "button", class: "btn", id: "occ-restore" }, "Put it back if it was cancelled");
  const start = toLocal(keyToDate(key), block.timezone || ctx.tz);
  btn.addEventListener("click", busy(btn, async () => {
    const path = `/api/blocks/${encodeURIComponent(block.id)}/occurrences/${key}`;
    if (await send("PATCH", path, { start }, () => "Back on the plan.")) ctx.rerender();
  }));
  return btn;
}

/** The "Change this session" card for an occurrence screen; `block` may be null. */
export function sessionChanges(occ, block, ctx) {
  const base = `/api/blocks/${encodeURIComponent(occ.block_id)}/occurrences/${occ.key}`;

  const date = h("input", { type: "date", id: "occ-new-date", value: occ.start.slice(0, 10) });
  const time = h("input", { type: "time", id: "occ-new-time", value: occ.start.slice(11, 16) });
  const length = h("input", { type: "number", id: "occ-new-length", min: "1", max: "1440", inputmode: "numeric", value: String(occ.duration_minutes) });
  const wanted = () => ({ start: `${date.value}T${time.value}`, duration_minutes: Number(length.value) });

  const save = h("button", { type: "button", class: "btn btn-primary", id: "occ-move" }, "Change this session only");
  save.addEventListener("click", busy(save, async () => {
    const body = wanted();
    if (!date.value || !time.value || !localToUtc(body.start, ctx.tz)) return toast("Pick a day and a time.", { error: true });
    const out = await send("PATCH", base, body, (o) => o.original_start ? `Moved to ${fmtDayTime(o.start)}.` : "Saved.");
    if (out) ctx.rerender();
  }));
  const cancel = confirmButton("Cancel this session", "Yes, cancel it", async () => {
    if (await send("PATCH", base, { status: "cancelled" }, () => "Cancelled. No reminders for this one.")) ctx.rerender();
  });
  cancel.id = "occ-cancel";

  const parts = [
    occ.original_start ? h("p", { class: "hint", id: "occ-moved-from" }, `Moved from ${fmtDayTime(occ.original_start)}.`) : null,
    h("div", { class: "two" },
      h("div", { class: "field" }, h("label", { for: "occ-new-date" }, "Day"), date),
      h("div", { class: "field" }, h("label", { for: "occ-new-time" }, "Time"), time)),
    h("div", { class: "field" }, h("label", { for: "occ-new-length" }, "Length (minutes)"), length),
    h("div", { class: "btn-row" }, save),
  ];
  if (occ.original_start || (block && occ.duration_minutes !== block.duration_minutes)) {
    const back = h("button", { type: "button", class: "btn", id: "occ-unmove" }, "Back to the usual time");
    back.addEventListener("click", busy(back, async () => {
      const body = { start: occ.original_start || occ.start, ...(block ? { duration_minutes: block.duration_minutes } : {}) };
      if (await send("PATCH", base, body, () => "Back to the usual time.")) ctx.rerender();
    }));
    parts[3].append(back);
  }
  if (block && block.rrule) {
    // the new series starts where this session is now and keeps its time and length
    const split = h("button", { type: "button", class: "btn", id: "occ-split" }, "Change this and all following");
    split.addEventListener("click", busy(split, async () => {
      const out = await send("POST", `${base}/split`, wanted(),
        () => `From ${fmtDayTime(wanted().start)} on, a new series. Change the rest of it here.`);
      if (out) ctx.navigate(`#/block/${out.id}/edit`);
    }));
    parts.push(h("div", { class: "stack-sm" }, h("div", { class: "btn-row" }, split),
      h("p", { class: "hint" }, "Ends the series before this session and starts a new one from it with the day, time and length above; earlier sessions stay as they were.")));
  }
  parts.push(h("div", { class: "btn-row" }, cancel));
  return h("details", { class: "card", id: "session-changes", open: Boolean(occ.original_start) },
    h("summary", {}, "Change this session"),
    h("div", { class: "stack details-body" }, parts));
}
