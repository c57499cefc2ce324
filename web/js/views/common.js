// Pieces several screens share: occurrence rows, status pills, outcome toasts.

import { api } from "../api.js";
import { dismiss } from "../queue.js";
import { deviceTimeZone, fmtDuration, fmtInstant, fmtTime, parseUtc, zoneLabel, zonesDiffer } from "../time.js";
import { errorText, h, toast } from "../ui.js";

/** Which state to show for an occurrence right now. */
export function occState(occ, now = Date.now()) {
  if (occ.deleting) return { cls: "pending", text: "Deleting…" };
  if (occ.status === "done") return { cls: "done", text: "Done" };
  if (occ.status === "skipped") return { cls: "skipped", text: "Skipped" };
  const start = parseUtc(occ.start_utc);
  const end = parseUtc(occ.end_utc);
  const snoozed = parseUtc(occ.snoozed_until);
  if (snoozed && snoozed.getTime() > now) return { cls: "snoozed", text: "Snoozed" };
  if (start && end && start.getTime() <= now && now < end.getTime()) return { cls: "now", text: "Now" };
  if (end && end.getTime() <= now) return { cls: "", text: "Not marked" };
  return { cls: "", text: "Planned" };
}

export function statusPills(occ, tz, { withPending = true } = {}) {
  const st = occState(occ);
  const pills = [h("span", { class: `pill ${st.cls}` }, st.text)];
  if (st.cls === "snoozed") {
    pills[0].textContent = `Snoozed to ${fmtInstant(parseUtc(occ.snoozed_until), tz)}`;
  }
  if (occ.pending && withPending) pills.push(pendingPill());
  return pills;
}

export function pendingPill() {
  return h("span", { class: "pill pending", title: "Saved on this device, waiting to sync" }, "Pending sync");
}

export function occHref(occ) {
  return `#/occurrence/${encodeURIComponent(occ.block_id)}/${occ.key}`;
}

// The server's words for a block that does not repeat (plan/repeats.py ONCE_TEXT): a list
// leaves them out, since most blocks would say it.
const ONCE = "Does not repeat";

/** The block's repeat rule in words for a list ("Every Tue and Thu"), or null for a one-off. */
export function ruleWords(occ) {
  return occ.repeat_text && occ.repeat_text !== ONCE ? occ.repeat_text : null;
}

/** "Berlin time (CET)": the zone times are shown in, as a kicker's tail. */
export function zoneKicker(text, tz) {
  return `${text} · ${zoneLabel(tz)}`;
}

/**
 * When this device's clock differs from the plan's zone, say which zone the times are in
 * (a phone abroad would otherwise read 18:00 as its own 18:00). Null when they agree.
 */
export function zoneNote(tz) {
  const here = deviceTimeZone();
  if (!zonesDiffer(here, tz)) return null;
  return h("p", { class: "notice zone-note", id: "zone-note" },
    `Times here are ${zoneLabel(tz)}, the zone your plan uses. This device is on ${zoneLabel(here)}.`);
}

/** One occurrence as a tappable row. */
export function occRow(occ, tz, { showDay = false } = {}) {
  const st = occState(occ);
  const cls = ["occ", `is-${occ.status}`, st.cls === "now" ? "is-now" : "", occ.deleting ? "is-deleting" : ""].join(" ");
  return h(
    "li", {},
    h(
      "a", { class: cls, href: occHref(occ), dataset: { key: occ.key, block: String(occ.block_id) } },
      h("span", { class: "time" }, fmtTime(occ.start), h("small", {}, showDay ? occ.start.slice(5, 10) : fmtDuration(occ.duration_minutes))),
      h("span", { class: "what" }, h("b", {}, occ.title),
        ruleWords(occ) ? h("span", { class: "rule" }, ruleWords(occ)) : null,
        occ.timezone && zonesDiffer(occ.timezone, tz) ? h("span", { class: "zone" }, zoneLabel(occ.timezone)) : null,
        occ.pending ? h("span", { class: "pending-note" }, "Waiting to sync") : occ.notes ? h("span", { class: "note" }, firstLine(occ.notes)) : null),
      h("span", { class: "row" }, statusPills(occ, tz, { withPending: false })),
    ),
  );
}

function firstLine(text) {
  const line = String(text).split("\n")[0];
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}

/**
 * Tell the person what happened to a change: sent, saved for later, or refused.
 * A refusal shown here (they are looking at it) is dropped from the queue so it
 * does not also linger in the banner. Returns true when it went through or is queued.
 */
export async function reportChange(outcome, sentText) {
  if (outcome.state === "sent") {
    toast(sentText);
    return true;
  }
  if (outcome.state === "queued") {
    toast("Saved on this phone. It will sync when your computer is reachable.");
    return true;
  }
  toast(`Not saved: ${outcome.error}`, { error: true, ms: 6000 });
  if (outcome.item) await dismiss(outcome.item.seq);
  return false;
}

/** A friendly error card with a retry button. */
export function errorCard(err, retry) {
  return h(
    "div", { class: "notice error", role: "alert" },
    h("strong", {}, err && err.status === 404 ? "Not available on this server yet" : "Couldn't load this"),
    h("p", {}, errorText(err)),
    retry ? h("div", { class: "btn-row" }, h("button", { type: "button", class: "btn btn-small", onclick: retry }, "Try again")) : null,
  );
}

/** "Send a test": a test notification to one subscription, or to every device; the outcome as a toast. */
export async function sendTestPush(subscriptionId) {
  try {
    const body = subscriptionId ? { subscription_id: subscriptionId } : {};
    const { results } = await api("POST", "/api/push/test", body);
    if (!results || !results.length) {
      toast("No device has notifications turned on yet.", { error: true });
      return;
    }
    const ok = results.filter((r) => r.outcome === "delivered").length;
    if (ok === results.length) toast(ok === 1 ? "Test sent. It should pop up in a moment." : `Test sent to ${ok} devices.`);
    else toast(`Sent to ${ok} of ${results.length}. ${outcomeText(results.find((r) => r.outcome !== "delivered"))}`, { error: true, ms: 8000 });
  } catch (err) {
    toast(err.code === "no_vapid_subject" || /vapid|contact/i.test(err.detail || "")
      ? "Set a contact address for push services first (Settings → Push contact)."
      : errorText(err), { error: true, ms: 8000 });
  }
}

function outcomeText(r) {
  if (!r) return "";
  if (r.outcome === "gone") return "One device had turned notifications off; it was removed.";
  if (r.outcome === "retry") return "A push service was busy; it will be tried again.";
  return r.detail || "A push service refused the message.";
}
