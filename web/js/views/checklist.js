// The first-run checklist on the desktop dashboard, until every step is done:
// (1) a contact for push services, (2) the time zone, confirmed, (3) a phone
// paired, (4) a test reminder received on it. Each step checks itself.

import { api } from "../api.js";
import { checkReadiness } from "../readiness.js";
import { zoneLabel } from "../time.js";
import { busy, errorText, h, toast } from "../ui.js";
import { pairCard } from "./pair-phone.js";

/** The checklist card, or null when the first run is complete. */
export async function checklist(ctx) {
  let ready;
  try {
    ready = await checkReadiness();
  } catch {
    return null; // offline: the checklist can wait
  }
  const steps = ready.steps;
  if (steps.contact && steps.timezone && steps.phone && steps.test) return null;
  const done = [steps.contact, steps.timezone, steps.phone, steps.test].filter(Boolean).length;
  const again = () => ctx.rerender();
  const current = !steps.contact ? "contact" : !steps.timezone ? "timezone" : !steps.phone ? "phone" : "test";
  const card = h("section", { class: "card stack checklist", id: "checklist", "aria-labelledby": "checklist-h" },
    h("div", { class: "row-between" }, h("h2", { id: "checklist-h" }, "Get reminders on your phone"),
      h("span", { class: "pill" }, `${done} of 4 done`)),
    h("ol", { class: "check-steps" },
      step("contact", "A contact for push services", steps.contact, current, () => contactStep(ctx, again)),
      step("timezone", "Your time zone", steps.timezone, current, () => zoneStep(ctx, again)),
      step("phone", "Pair your phone", steps.phone, current, () => [pairCard({ onChange: () => ctx.refreshStatus() }),
        h("button", { type: "button", class: "btn btn-small", id: "check-phone-again", onclick: again }, "I've paired it, check again")]),
      step("test", "A test reminder on the phone", steps.test, current, () => testStep(again))));
  if (current === "phone" || current === "test") watch(card, ctx, done);
  return card;
}

// The last two steps happen on the phone: look again every few seconds, so the
// desktop moves on by itself when the phone pairs or the test arrives.
const WATCH_MS = 4000;

function watch(card, ctx, done) {
  const timer = setInterval(async () => {
    if (!card.isConnected) return clearInterval(timer);
    let now;
    try {
      now = await checkReadiness();
    } catch {
      return; // offline for a moment: try again next time
    }
    const s = now.steps;
    if ([s.contact, s.timezone, s.phone, s.test].filter(Boolean).length !== done) {
      clearInterval(timer);
      ctx.rerender();
    }
  }, WATCH_MS);
  ctx.onCleanup(() => clearInterval(timer));
}

function step(id, title, isDone, current, body) {
  return h("li", { class: `check-step${isDone ? " is-done" : ""}${id === current ? " is-current" : ""}`, id: `check-${id}`, dataset: { done: String(isDone) } },
    h("span", { class: "check-mark", "aria-hidden": "true" }, isDone ? "✓" : ""),
    h("div", { class: "stack-sm" },
      h("h3", {}, title, isDone ? h("span", { class: "visually-hidden" }, " (done)") : null),
      !isDone && id === current ? body() : null));
}

function contactStep(ctx, again) {
  const input = h("input", { type: "email", id: "check-contact-email", inputmode: "email", autocomplete: "email", placeholder: "you@example.com" });
  const save = h("button", { type: "button", class: "btn btn-primary", id: "check-contact-save" }, "Save");
  save.addEventListener("click", busy(save, async () => {
    const value = input.value.trim();
    if (!value) {
      toast("Type an email address first.", { error: true });
      return;
    }
    try {
      ctx.setSettings(await api("PUT", "/api/settings", { vapid_subject: value.includes(":") ? value : `mailto:${value}` }));
      again();
    } catch (err) {
      toast(errorText(err), { error: true, ms: 8000 });
    }
  }));
  return [
    h("p", { class: "muted" }, "Push services (Google, Apple, Mozilla) only deliver for senders they can contact: your email address is enough, and only they see it."),
    h("div", { class: "field" }, h("label", { for: "check-contact-email" }, "Your email address"), input),
    h("div", { class: "row" }, save),
  ];
}

function zoneStep(ctx, again) {
  const zone = ctx.settings.timezone_effective || ctx.tz;
  const yes = h("button", { type: "button", class: "btn btn-primary", id: "check-zone-yes" }, "Yes, that's right");
  yes.addEventListener("click", busy(yes, async () => {
    try {
      ctx.setSettings(await api("PUT", "/api/settings", { timezone: zone }));
      again();
    } catch (err) {
      toast(errorText(err), { error: true });
    }
  }));
  return [
    h("p", {}, "Your study blocks use ", h("b", {}, zoneLabel(zone)), ". Is that where you are?"),
    h("div", { class: "row" }, yes, h("a", { class: "btn", href: "#/settings/schedule" }, "Pick another")),
  ];
}

function testStep(again) {
  const send = h("button", { type: "button", class: "btn btn-primary", id: "check-test-send" }, "Send a test reminder");
  const out = h("p", { class: "small", "aria-live": "polite" });
  send.addEventListener("click", busy(send, async () => {
    try {
      const { results } = await api("POST", "/api/push/test", {});
      const ok = (results || []).filter((r) => r.outcome === "delivered").length;
      out.textContent = ok ? "Sent. Did it pop up on the phone?" : "No phone took it. Turn on notifications on the phone first.";
      if (ok) again();
    } catch (err) {
      out.textContent = errorText(err);
    }
  }));
  return [h("p", { class: "muted" }, "On the phone, tap Turn on notifications. Then send a test from here (or from the phone)."), h("div", { class: "row" }, send), out];
}
