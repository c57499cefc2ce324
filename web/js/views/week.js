// Week: planned versus done study time per day, as bars, plus the week's blocks.

import { loadAgenda } from "../data.js";
import { addDays, fmtDay, fmtDuration, fmtWeekdayShort, startOfWeek, todayIn } from "../time.js";
import { h, pageHead } from "../ui.js";
import { errorCard, occRow, zoneKicker, zoneNote } from "./common.js";

export async function render(root, params, ctx) {
  const tz = ctx.tz;
  const today = todayIn(tz);
  const from = params[0] && /^\d{4}-\d{2}-\d{2}$/.test(params[0]) ? startOfWeek(params[0]) : startOfWeek(today);
  const to = addDays(from, 7);
  const isThisWeek = from === startOfWeek(today);
  const range = `${fmtDay(from, { day: "numeric", month: "short" })} – ${fmtDay(addDays(from, 6), { day: "numeric", month: "short" })}`;

  root.append(pageHead(isThisWeek ? "This week" : "Week", zoneKicker(range, tz)));
  const note = zoneNote(tz);
  if (note) root.append(note);
  root.append(h("div", { class: "week-nav" },
    h("a", { class: "btn btn-small", href: `#/week/${addDays(from, -7)}` }, "‹ Previous"),
    isThisWeek ? null : h("a", { class: "btn btn-small btn-ghost", href: "#/week" }, "This week"),
    h("a", { class: "btn btn-small", href: `#/week/${to}` }, "Next ›"),
  ));

  let list;
  try {
    list = await loadAgenda(from, to);
  } catch (err) {
    root.append(errorCard(err, () => ctx.rerender()));
    return;
  }

  const days = [...Array(7)].map((_, i) => {
    const day = addDays(from, i);
    const occs = list.filter((o) => o.start.slice(0, 10) === day);
    const counted = occs.filter((o) => o.status !== "skipped" && !o.deleting);
    return {
      day, occs,
      planned: counted.reduce((n, o) => n + o.duration_minutes, 0),
      done: counted.filter((o) => o.status === "done").reduce((n, o) => n + o.duration_minutes, 0),
    };
  });
  const planned = days.reduce((n, d) => n + d.planned, 0);
  const done = days.reduce((n, d) => n + d.done, 0);
  const skipped = list.filter((o) => o.status === "skipped").length;
  // the axis: whole hours, at least one, so a single short block is not a full-height bar
  const scale = Math.max(60, Math.ceil(Math.max(...days.map((d) => Math.max(d.planned, d.done))) / 60) * 60);

  const chart = h("div", { class: "chart", role: "list", "aria-label": "Study time per day" },
    days.map((d) => {
      const label = `${fmtDay(d.day, { weekday: "long" })}: ${fmtDuration(d.done)} done of ${fmtDuration(d.planned)} planned`;
      const plannedBar = h("span", { class: "planned" });
      const doneBar = h("span", { class: "done" });
      plannedBar.style.setProperty("height", `${(d.planned / scale) * 100}%`);
      doneBar.style.setProperty("height", `${(Math.min(d.done, scale) / scale) * 100}%`);
      return h("div", { class: `day${d.day === today ? " is-today" : ""}`, role: "listitem", "aria-label": label, title: label },
        h("span", { class: "dmin", "aria-hidden": "true" }, d.planned ? shortHours(d.planned) : "–"),
        h("span", { class: "col", "aria-hidden": "true" }, plannedBar, doneBar),
        h("span", { class: "dname", "aria-hidden": "true" }, fmtWeekdayShort(d.day)));
    }));

  const pct = planned ? Math.round((done / planned) * 100) : 0;
  root.append(h("div", { class: "stack" },
    h("section", { class: "card stack", "aria-labelledby": "chart-h" },
      h("div", { class: "totals" },
        h("h2", { id: "chart-h", class: "visually-hidden" }, "Planned versus done"),
        h("span", { class: "big tnum" }, fmtDuration(done)),
        h("span", { class: "muted" }, planned ? `of ${fmtDuration(planned)} planned · ${pct}%` : "nothing planned this week")),
      chart,
      h("div", { class: "legend" },
        h("span", {}, h("i", { class: "l-planned" }), "Planned"),
        h("span", {}, h("i", { class: "l-done" }), "Done"),
        skipped ? h("span", {}, `${skipped} skipped`) : null)),
    days.filter((d) => d.occs.length).map((d) =>
      h("section", { class: "day-group" },
        h("h3", {}, fmtDay(d.day, { weekday: "long", day: "numeric", month: "short" })),
        h("ul", { class: "occ-list" }, d.occs.map((o) => occRow(o, tz))))),
    list.length ? null : h("p", { class: "muted empty" }, "No study blocks this week. ", h("a", { href: "#/block/new" }, "Add one")),
    h("div", { class: "row" }, h("a", { class: "btn btn-small", href: `#/history/week/${from}`, id: "to-history" }, "History & streaks")),
  ));
}

/** 90 → "1.5h", 45 → "45m": fits above a narrow bar. */
function shortHours(min) {
  if (min < 60) return `${min}m`;
  const hrs = min / 60;
  return `${Number.isInteger(hrs) ? hrs : hrs.toFixed(1)}h`;
}
