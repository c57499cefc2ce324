// History: every reminder that went out, was late, missed or snoozed (with its text and
// block), planned versus done per week or month (done drawn over planned), the streak,
// and totals per block title. Figures from GET /api/stats, reminders from GET /api/reminders.

import { get } from "../api.js";
import { addDays, fmtDay, fmtDuration, fmtWeekdayShort, startOfWeek, todayIn } from "../time.js";
import { h, pageHead } from "../ui.js";
import { errorCard } from "./common.js";

const SHOWN = new Set(["sent", "late", "missed", "snoozed", "not delivered"]);
const PILL = { sent: "done", late: "snoozed", missed: "skipped", snoozed: "snoozed", "not delivered": "skipped" };

const monthStart = (day) => `${day.slice(0, 7)}-01`;
function nextMonth(day) {
  const [y, m] = day.split("-").map(Number);
  return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, "0")}-01`;
}
function prevMonth(day) {
  const [y, m] = day.split("-").map(Number);
  return m === 1 ? `${y - 1}-12-01` : `${y}-${String(m - 1).padStart(2, "0")}-01`;
}

/** params: [] or ["week" | "month", "YYYY-MM-DD"]. */
export async function render(root, params, ctx) {
  const today = todayIn(ctx.tz);
  const unit = params[0] === "month" ? "month" : "week";
  const at = /^\d{4}-\d{2}-\d{2}$/.test(params[1] || "") ? params[1] : today;
  const from = unit === "week" ? startOfWeek(at) : monthStart(at);
  const next = unit === "week" ? addDays(from, 7) : nextMonth(from);
  const prev = unit === "week" ? addDays(from, -7) : prevMonth(from);
  const to = addDays(next, -1);
  const current = from <= today && today <= to;
  const range = unit === "week"
    ? `${fmtDay(from, { day: "numeric", month: "short" })} – ${fmtDay(to, { day: "numeric", month: "short" })}`
    : fmtDay(from, { month: "long", year: "numeric" });
  root.append(pageHead("History", range));

  let stats;
  let reminders;
  try {
    [stats, reminders] = await Promise.all([
      get(`/api/stats?${new URLSearchParams({ from, to })}`),
      get("/api/reminders?limit=500"),
    ]);
  } catch (err) {
    root.append(errorCard(err, () => ctx.rerender()));
    return;
  }

  // switching week <-> month keeps today in view when the range shown holds it (the week of
  // 30 Nov - 6 Dec opened on 1 Dec switches to December, not November)
  const anchor = current ? today : at;
  const tab = (u, label) => h("a", { class: `btn btn-small${u === unit ? " btn-primary" : ""}`, href: `#/history/${u}/${anchor}`,
    "aria-current": u === unit ? "page" : null, id: `h-${u}` }, label);
  root.append(h("div", { class: "week-nav" },
    h("a", { class: "btn btn-small", href: `#/history/${unit}/${prev}`, id: "h-prev" }, "‹ Previous"),
    h("div", { class: "row" }, tab("week", "Week"), tab("month", "Month")),
    current ? h("span", { class: "btn btn-small btn-ghost", "aria-hidden": "true", style: "visibility:hidden" }, "Next ›")
      : h("a", { class: "btn btn-small", href: `#/history/${unit}/${next}`, id: "h-next" }, "Next ›")));

  const t = stats.totals || { planned_minutes: 0, done_minutes: 0, sessions: 0, done_sessions: 0 };
  const pct = t.planned_minutes ? Math.round((t.done_minutes / t.planned_minutes) * 100) : 0;
  const cols = unit === "week" ? stats.days.map((d) => ({ ...d, label: fmtWeekdayShort(d.date), name: fmtDay(d.date, { weekday: "long" }), today: d.date === today }))
    : weeksOf(stats.days, today);

  const list = reminders.filter((r) => SHOWN.has(r.status_text) && r.due_local.slice(0, 10) >= from && r.due_local.slice(0, 10) <= to);
  root.append(h("div", { class: "stack" },
    h("section", { class: "card streak", id: "h-streak" },
      h("span", { class: "big tnum" }, String(stats.streak)),
      h("span", {}, h("b", {}, stats.streak === 1 ? "day in a row" : "days in a row"),
        h("span", { class: "hint" }, " with every block done"))),
    h("section", { class: "card stack", "aria-labelledby": "h-chart" },
      h("div", { class: "totals" },
        h("h2", { id: "h-chart", class: "visually-hidden" }, `Planned versus done per ${unit === "week" ? "day" : "week"}`),
        h("span", { class: "big tnum", id: "h-done" }, fmtDuration(t.done_minutes)),
        h("span", { class: "muted" }, t.planned_minutes
          ? `of ${fmtDuration(t.planned_minutes)} planned · ${pct}% · ${t.done_sessions} of ${t.sessions} sessions`
          : `nothing planned this ${unit}`)),
      chart(cols),
      h("div", { class: "legend" },
        h("span", {}, h("i", { class: "l-planned" }), "Planned"),
        h("span", {}, h("i", { class: "l-done" }), "Done"))),
    h("h2", { class: "section-title" }, "Per block"),
    stats.titles.length
      ? h("ul", { class: "card stack-sm titles", id: "h-titles" }, stats.titles.map((s) => h("li", {},
        h("div", { class: "row spread" }, h("b", {}, s.title),
          h("span", { class: "tnum muted" }, `${fmtDuration(s.done_minutes)} of ${fmtDuration(s.planned_minutes)}`)),
        h("div", { class: "bar", "aria-hidden": "true" }, barFill(s)))))
      : h("p", { class: "muted" }, `No study blocks this ${unit}.`),
    h("h2", { class: "section-title" }, "Reminders"),
    list.length ? h("ul", { class: "stack-sm", id: "h-reminders" }, list.map(reminderItem))
      : h("p", { class: "muted", id: "h-no-reminders" }, `No reminders went out this ${unit}.`),
  ));
}

function barFill(s) {
  const span = h("span");
  span.style.setProperty("width", `${s.planned_minutes ? Math.min(100, (s.done_minutes / s.planned_minutes) * 100) : 0}%`);
  return span;
}

/** The month's days grouped by week (Monday first), one column each. */
function weeksOf(days, today) {
  const weeks = new Map();
  for (const d of days) {
    const key = startOfWeek(d.date);
    const w = weeks.get(key) || { date: key, planned_minutes: 0, done_minutes: 0, today: false,
      label: fmtDay(d.date, { day: "numeric", month: "short" }) };
    w.planned_minutes += d.planned_minutes;
    w.done_minutes += d.done_minutes;
    w.today ||= d.date === today;
    w.name = `Week from ${w.label}`;
    weeks.set(key, w);
  }
  return [...weeks.values()];
}

/** Bars: planned behind, done in front (done over planned), on a whole-hour axis. */
function chart(cols) {
  const scale = Math.max(60, Math.ceil(Math.max(...cols.map((c) => Math.max(c.planned_minutes, c.done_minutes))) / 60) * 60);
  const box = h("div", { class: "chart", role: "list", "aria-label": "Study time", id: "h-bars" },
    cols.map((c) => {
      const label = `${c.name}: ${fmtDuration(c.done_minutes)} done of ${fmtDuration(c.planned_minutes)} planned`;
      const planned = h("span", { class: "planned" });
      const done = h("span", { class: "done" });
      planned.style.setProperty("height", `${(c.planned_minutes / scale) * 100}%`);
      done.style.setProperty("height", `${(Math.min(c.done_minutes, scale) / scale) * 100}%`);
      return h("div", { class: `day${c.today ? " is-today" : ""}`, role: "listitem", "aria-label": label, title: label },
        h("span", { class: "dmin", "aria-hidden": "true" }, c.planned_minutes ? shortHours(c.planned_minutes) : "–"),
        h("span", { class: "col", "aria-hidden": "true" }, planned, done),
        h("span", { class: "dname", "aria-hidden": "true" }, c.label));
    }));
  box.style.setProperty("grid-template-columns", `repeat(${cols.length}, 1fr)`);
  return box;
}

function shortHours(min) {
  if (min < 60) return `${min}m`;
  const hrs = min / 60;
  return `${Number.isInteger(hrs) ? hrs : hrs.toFixed(1)}h`;
}

function reminderItem(r) {
  const when = `${fmtDay(r.due_local, { weekday: "short", day: "numeric", month: "short" })}, ${r.due_local.slice(11, 16)}`;
  const link = r.block_id && r.occurrence_key ? `#/occurrence/${r.block_id}/${r.occurrence_key}` : null;
  return h("li", { class: "card stack-sm reminder", dataset: { status: r.status_text } },
    h("div", { class: "row spread" },
      h("b", {}, r.what),
      h("span", { class: `pill ${PILL[r.status_text] || ""}` }, r.status_text[0].toUpperCase() + r.status_text.slice(1))),
    h("span", { class: "hint tnum" }, when, r.block_title ? ` · ${r.block_title}` : ""),
    r.title || r.body ? h("p", { class: "notes" }, r.title ? h("strong", {}, r.title) : null, r.title && r.body ? " " : null, r.body || "") : null,
    link ? h("a", { class: "btn btn-small btn-ghost", href: link }, "Open the session") : null);
}
