// Can pushes reach a phone, and how far is the first run? One answer for the
// banner on every screen and for the first-run checklist.
//
// The server's GET /api/status says it when it has that route; otherwise the
// same answer is worked out from the settings, the devices and the subscriptions.

import { get } from "./api.js";
import { bus } from "./events.js";

let last = null;

/** The last answer (null until the first check). */
export function readiness() {
  return last;
}

/**
 * {can_push, problems: [{code, text, fix}], steps: {contact, timezone, phone, test}}
 * `fix` is the route that fixes it.
 */
export async function checkReadiness(settings) {
  let status = null;
  try {
    status = await get("/api/status");
  } catch (err) {
    if (err.status !== 404 && err.status !== 405) throw err;
  }
  last = status && status.steps ? normalise(status) : await derive(settings);
  bus.emit("readiness", last);
  return last;
}

function normalise(status) {
  return {
    can_push: Boolean(status.can_push),
    problems: (status.problems || []).map((p) => ({ code: p.code, text: p.text || p.detail || "", fix: p.fix || fixFor(p.code) })),
    steps: status.steps,
  };
}

const fixFor = (code) => (code === "no_contact" ? "#/settings/contact" : code === "no_device" ? "#/devices" : "#/devices");

async function derive(settings) {
  const [devices, subs] = await Promise.all([get("/api/devices").catch(() => []), get("/api/push/subscriptions").catch(() => [])]);
  const problems = [];
  if (!settings.vapid_subject) {
    problems.push({ code: "no_contact", text: "Reminders can't be sent until you give push services a contact address.", fix: "#/settings/contact" });
  }
  if (!subs.length) {
    problems.push({ code: "no_device", text: "No phone gets notifications yet.", fix: "#/devices" });
  }
  const phones = devices.filter((d) => d.kind === "phone");
  return {
    can_push: !problems.length,
    problems,
    steps: {
      contact: Boolean(settings.vapid_subject),
      timezone: Boolean(settings.timezone),
      phone: phones.length > 0 || subs.length > 0,
      test: subs.some((s) => Boolean(s.last_success_at)),
    },
  };
}
