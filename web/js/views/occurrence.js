// One occurrence of a block: the deep-link target of a reminder. Done, Skip, Snooze.

import { changeOccurrence, loadBlock, loadOccurrence } from "../data.js";
import { bus } from "../events.js";
import { isTempId, realId } from "../queue.js";
import { describeOffsets, endLocalOf, fmtDay, fmtDuration, fmtTime, fmtTimeRange, keyToDate, toLocal, zoneLabel } from "../time.js";
import { busy, h, pageHead } from "../ui.js";
import { errorCard, occState, reportChange, statusPills, zoneNote } from "./common.js";
import { restoreButton, sessionChanges } from "./occurrence-changes.js";

export async function render(root, params, ctx) {
  let blockId = decodeURIComponent(params[0]);
  const key = params[1];
  if (isTempId(blockId)) {
    const real = await realId(blockId);
    if (real !== blockId) return ctx.navigate(`#/occurrence/${real}/${key}`, { replace: true });
  }
  // a block made offline got its real id while we were looking at it
  ctx.onCleanup(bus.on("idmap", ({ tmp, id }) => {
    if (tmp === blockId) ctx.navigate(`#/occurrence/${id}/${key}`, { replace: true });
  }));

  let occ;
  let block = null;
  try {
    [occ, block] = await Promise.all([
      loadOccurrence(blockId, key),
      loadBlock(blockId).catch(() => null), // details only; the occurrence is what matters
    ]);
  } catch (err) {
    root.append(pageHead("Study block"), errorCard(err, () => ctx.rerender()));
    return;
  }
  if (!occ) {
    const at = keyToDate(key);
    root.append(pageHead("Not on the schedule"),
      h("div", { class: "card stack-sm" },
        h("p", {}, at ? `There is no study block at ${fmtDay(toLocal(at, ctx.tz))}, ${fmtTime(toLocal(at, ctx.tz))} any more. It may have been moved, cancelled or deleted.`
          : "This link does not point to a study block."),
        h("div", { class: "btn-row" }, h("a", { class: "btn btn-primary", href: "#/today" }, "Go to today"),
          at && block && block.rrule ? restoreButton(block, key, ctx) : null)));
    return;
  }

  const tz = ctx.tz;
  root.append(pageHead(occ.title, fmtDay(occ.start)));

  const act = (change, text) => async () => {
    await reportChange(await changeOccurrence(occ, change), text);
    ctx.rerender();
  };
  const snooze = ctx.settings.snooze_minutes; // the settings' (or the server's default)
  const st = occState(occ);
  const finished = occ.status === "done" || occ.status === "skipped";
  const buttons = [];
  if (!finished && !occ.deleting) {
    const done = h("button", { type: "button", class: "btn btn-done", id: "occ-done" }, "Done");
    const skip = h("button", { type: "button", class: "btn", id: "occ-skip" }, "Skip");
    const later = h("button", { type: "button", class: "btn", id: "occ-snooze" }, `Snooze ${snooze} min`);
    done.addEventListener("click", busy(done, act({ status: "done" }, "Nice work! Marked done.")));
    skip.addEventListener("click", busy(skip, act({ status: "skipped" }, "Skipped. No more reminders for this one.")));
    later.addEventListener("click", busy(later, act({ snooze_minutes: snooze }, `Snoozed for ${snooze} minutes.`)));
    buttons.push(done, skip, Number.isInteger(snooze) && snooze > 0 ? later : null);
  } else if (finished) {
    const undo = h("button", { type: "button", class: "btn", id: "occ-reopen" }, occ.status === "done" ? "Not done after all" : "Un-skip");
    undo.addEventListener("click", busy(undo, act({ status: "planned" }, "Back on the plan.")));
    buttons.push(undo);
  }

  const rule = occ.repeat_text || (block && block.repeat_text) || null; // the server's words
  const reminderText = block
    ? block.reminders === false ? "Off for this block" : describeOffsets(block.reminder_offsets ?? ctx.settings.default_offsets)
    : null;

  root.append(h("div", { class: "stack" },
    zoneNote(occ.timezone || tz),
    h("section", { class: "card stack" },
      h("div", { class: "row" }, statusPills(occ, tz)),
      h("dl", { class: "facts" },
        h("dt", {}, "When"), h("dd", { class: "tnum", id: "occ-when" }, fmtTimeRange(occ.start, endLocalOf(occ, tz))),
        h("dt", {}, "Time zone"), h("dd", { id: "occ-zone" }, zoneLabel(occ.timezone || tz)),
        h("dt", {}, "Length"), h("dd", {}, fmtDuration(occ.duration_minutes)),
        rule ? [h("dt", {}, "Repeats"), h("dd", {}, rule)] : null,
        reminderText ? [h("dt", {}, "Reminders"), h("dd", {}, reminderText)] : null),
      occ.notes ? h("p", { class: "notes" }, occ.notes) : null,
      buttons.length ? h("div", { class: "btn-row" }, buttons) : null,
      st.cls === "now" ? h("p", { class: "hint" }, "This block is on right now. Good luck!") : null),
    occ.pending || isTempId(blockId) ? null : sessionChanges(occ, block, ctx),
    h("div", { class: "row" },
      h("a", { class: "btn btn-small", href: `#/block/${encodeURIComponent(blockId)}/edit` }, "Edit block"),
      h("a", { class: "btn btn-small btn-ghost", href: "#/today" }, "Back to today")),
  ));
}
