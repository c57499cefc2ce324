// Today: what is next (with a live countdown), today's progress, today's agenda.

import { changeOccurrence, loadAgenda } from "../data.js";
import * as push from "../push.js";
import { addDays, endLocalOf, fmtCountdown, fmtDay, fmtDuration, fmtTime, parseUtc, todayIn } from "../time.js";
import { busy, fill, h, pageHead, s, shareIcon } from "../ui.js";
import { checklist } from "./checklist.js";
import { errorCard, occHref, occRow, reportChange, ruleWords, sendTestPush, statusPills, zoneKicker, zoneNote } from "./common.js";

const open = (o) => o.status === "planned" && !o.deleting;

export async function render(root, _params, ctx) {
  const tz = ctx.tz;
  const today = todayIn(tz);
  root.append(pageHead("Today", zoneKicker(fmtDay(today), tz)));

  let all;
  try {
    all = await loadAgenda(today, addDays(today, 8));
  } catch (err) {
    root.append(errorCard(err, () => ctx.rerender()));
    return;
  }
  const now = Date.now();
  const todays = all.filter((o) => o.start.slice(0, 10) === today);
  const current = all.find((o) => open(o) && time(o.start_utc) <= now && now < time(o.end_utc));
  const next = all.find((o) => open(o) && time(o.start_utc) > now);

  const desktop = window.matchMedia("(min-width: 820px)").matches;
  // On a phone the nudge comes first: until notifications are on, it gets no reminder at all.
  const nudge = await pushNudge(ctx);
  root.append(h("div", { class: "stack" },
    desktop ? await checklist(ctx) : nudge,
    zoneNote(tz),
    heroCard(current, next, today, tz, ctx, todays),
    desktop ? nudge : null,
    progressCard(todays),
    agendaCard(todays, tz),
  ));

  // Re-render when a block starts or ends, so "Now" and "Up next" stay true.
  const boundaries = all.flatMap((o) => [time(o.start_utc), time(o.end_utc)]).filter((t) => t > now);
  const nextBoundary = Math.min(...boundaries, now + 6 * 3600 * 1000);
  const timer = setInterval(() => {
    if (!root.isConnected) return clearInterval(timer);
    if (Date.now() >= nextBoundary) {
      clearInterval(timer);
      ctx.rerender();
      return;
    }
    tick(root);
  }, 1000);
  ctx.onCleanup(() => clearInterval(timer));
  tick(root);
}

const time = (iso) => (parseUtc(iso) || new Date(0)).getTime();

function tick(root) {
  for (const el of root.querySelectorAll("[data-countdown]")) {
    const target = Number(el.dataset.countdown);
    el.firstChild.textContent = fmtCountdown(target - Date.now());
  }
  for (const el of root.querySelectorAll("[data-elapsed]")) {
    const [a, b] = el.dataset.elapsed.split(",").map(Number);
    const pct = Math.min(100, Math.max(0, ((Date.now() - a) / (b - a)) * 100));
    el.style.setProperty("width", `${pct}%`);
  }
}

function whenText(occ, today) {
  const day = occ.start.slice(0, 10);
  const at = fmtTime(occ.start);
  if (day === today) return `Today at ${at}`;
  if (day === addDays(today, 1)) return `Tomorrow at ${at}`;
  return `${fmtDay(day, { weekday: "long", day: "numeric", month: "short" })} at ${at}`;
}

function heroCard(current, next, today, tz, ctx, todays) {
  const occ = current || next;
  if (!occ && todays.some((o) => o.status === "done")) {
    return h("section", { class: "card empty", "aria-labelledby": "hero-h" },
      s("svg", { viewBox: "0 0 24 24", "aria-hidden": "true" }, s("circle", { cx: 12, cy: 12, r: 9 }), s("path", { d: "m8 12.5 2.7 2.7L16 9.5" })),
      h("h2", { id: "hero-h" }, "All done for today"),
      h("p", { class: "muted" }, "Nothing else is planned. Rest up, or add another block."),
      h("a", { class: "btn", href: "#/block/new" }, "Add a study block"),
    );
  }
  if (!occ) {
    return h("section", { class: "card empty", "aria-labelledby": "hero-h" },
      s("svg", { viewBox: "0 0 24 24", "aria-hidden": "true" },
        s("path", { d: "M4 19.5V6a2 2 0 0 1 2-2h12v13H6a2 2 0 0 0-2 2.5Zm0 0A2 2 0 0 0 6 21h12v-4" }),
        s("path", { d: "M9 8h6M9 11h4" })),
      h("h2", { id: "hero-h" }, "Nothing planned"),
      h("p", { class: "muted" }, "Plan a study block and you'll get a nudge before it starts."),
      h("a", { class: "btn btn-primary", href: "#/block/new" }, "Add a study block"),
    );
  }
  const start = time(occ.start_utc);
  const end = time(occ.end_utc);
  const done = h("button", { type: "button", class: "btn btn-done" }, current ? "Done" : "Mark done");
  done.addEventListener("click", busy(done, async () => {
    await reportChange(await changeOccurrence(occ, { status: "done" }), "Nice work! Marked done.");
    ctx.rerender();
  }));
  const countdown = h("p", { class: "countdown", dataset: { countdown: String(current ? end : start) } },
    h("span", {}, fmtCountdown((current ? end : start) - Date.now())),
    " ", h("small", {}, current ? "left" : "to go"));
  return h("section", { class: "card hero", "aria-labelledby": "hero-h" },
    h("div", { class: "row-between" },
      h("span", { class: "label" }, current ? "Studying now" : "Up next"),
      h("span", { class: "row" }, statusPills(occ, tz).filter((p) => !p.classList.contains("now")))),
    h("div", {},
      h("h2", { class: "title", id: "hero-h" }, occ.title),
      h("p", { class: "when" }, current ? `${untilText(occ, tz, today)} · ${fmtDuration(occ.duration_minutes)}` : `${whenText(occ, today)} · ${fmtDuration(occ.duration_minutes)}`),
      ruleWords(occ) ? h("p", { class: "muted small rule" }, ruleWords(occ)) : null),
    countdown,
    current ? h("div", { class: "bar", "aria-hidden": "true" }, h("span", { dataset: { elapsed: `${start},${end}` } })) : null,
    h("div", { class: "btn-row" }, done, h("a", { class: "btn", href: occHref(occ) }, "Details")),
  );
}

/** "Until 19:30", or "Until 00:30 tomorrow" for a block going on past midnight. */
function untilText(occ, tz, today) {
  const end = endLocalOf(occ, tz);
  const day = end.slice(0, 10);
  const on = day === today ? "" : day === addDays(today, 1) ? " tomorrow" : ` on ${fmtDay(day, { weekday: "long" })}`;
  return `Until ${fmtTime(end)}${on}`;
}

async function pushNudge(ctx) {
  let st;
  try {
    st = await push.state();
  } catch {
    return null;
  }
  if (st.state === "default") {
    // Turned on right here (one tap fewer than a trip to Devices), then a test is one tap away.
    const box = h("div", { class: "notice", id: "push-nudge" });
    const btn = h("button", { type: "button", class: "btn btn-primary btn-small", id: "nudge-on" }, "Turn on notifications");
    // no await before enable(): the permission prompt needs the tap's user activation
    btn.addEventListener("click", busy(btn, async () => {
      let next;
      try {
        next = await push.enable();
      } catch {
        next = { state: "error" };
      }
      ctx.refreshStatus();
      if (next.state !== "on") {
        location.hash = "#/devices"; // blocked or failed: Devices explains what to do
        return;
      }
      const test = h("button", { type: "button", class: "btn btn-primary btn-small", id: "nudge-test" }, "Send a test");
      test.addEventListener("click", busy(test, async () => { await sendTestPush(null); ctx.refreshStatus(); }));
      fill(box, h("strong", {}, "Notifications are on"), h("p", {}, "Send a test to see what a reminder looks like."),
        h("div", { class: "btn-row" }, test));
    }));
    fill(box, h("strong", {}, "Get reminders on this device"),
      h("p", {}, "We'll nudge you before each study block. You choose when."),
      h("div", { class: "btn-row" }, btn));
    return box;
  }
  if (st.state === "ios-install") {
    return h("div", { class: "notice" },
      h("strong", {}, "Want reminders on your iPhone?"),
      h("p", {}, "Tap ", shareIcon(), " Share, then “Add to Home Screen”. Open the app from there to turn on notifications."));
  }
  return null;
}

function progressCard(todays) {
  const counted = todays.filter((o) => o.status !== "skipped" && !o.deleting);
  if (!counted.length) return null;
  const planned = counted.reduce((n, o) => n + o.duration_minutes, 0);
  const doneList = counted.filter((o) => o.status === "done");
  const done = doneList.reduce((n, o) => n + o.duration_minutes, 0);
  const r = 32;
  const c = 2 * Math.PI * r;
  const frac = planned ? Math.min(1, done / planned) : 0;
  const ring = s("svg", { class: "ring", viewBox: "0 0 84 84", "aria-hidden": "true" },
    s("circle", { class: "track", cx: 42, cy: 42, r }),
    s("circle", { class: "value", cx: 42, cy: 42, r, "stroke-dasharray": c.toFixed(2), "stroke-dashoffset": (c * (1 - frac)).toFixed(2) }));
  const summary = planned
    ? `${fmtDuration(done)} of ${fmtDuration(planned)} studied`
    : "No study time planned today";
  return h("section", { class: "card", "aria-labelledby": "progress-h" },
    h("h2", { id: "progress-h", class: "visually-hidden" }, "Today's progress"),
    h("div", { class: "progress" }, ring,
      h("div", { class: "stack-sm" },
        h("p", { class: "big tnum" }, `${Math.round(frac * 100)}%`),
        h("p", {}, summary),
        h("p", { class: "muted small" }, `${doneList.length} of ${counted.length} blocks done`))));
}

function agendaCard(todays, tz) {
  if (!todays.length) return null;
  return h("section", { "aria-labelledby": "agenda-h", class: "stack-sm" },
    h("h2", { id: "agenda-h", class: "section-title" }, "Today's blocks"),
    h("ul", { class: "occ-list" }, todays.map((o) => occRow(o, tz))));
}
