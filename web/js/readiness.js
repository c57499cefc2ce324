// Can pushes reach a phone, and how far is the first run? GET /api/status
// answers both, for the banner on every screen and the first-run checklist.

import { get } from "./api.js";
import { bus } from "./events.js";

// The screen that fixes each kind of problem (the server names it).
const FIX_ROUTES = { settings: "#/settings/contact", pair: "#/devices", devices: "#/devices" };

let last = null;

/** The last answer (null until the first check). */
export function readiness() {
  return last;
}

/**
 * {can_push, problems: [{code, text, fix}], steps: {contact, timezone, phone, test}}
 * where `fix` is the route of the screen that fixes the problem.
 */
export async function checkReadiness() {
  const status = await get("/api/status");
  const c = status.checklist;
  last = {
    can_push: status.can_push,
    problems: status.problems.map((p) => ({ code: p.code, text: p.detail, fix: FIX_ROUTES[p.fix] || "#/devices" })),
    steps: { contact: c.contact_set, timezone: c.timezone_confirmed, phone: c.phone_paired, test: c.push_delivered },
  };
  bus.emit("readiness", last);
  return last;
}
