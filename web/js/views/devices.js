// Devices: this device's notifications (and the buttons to change them), pairing
// a phone, one list of every paired device (rename, test, remove), install help,
// and the reminder history in words.

import { api, get } from "../api.js";
import { setToken } from "../auth.js";
import { dismissInstall, installOffer, promptInstall } from "../install.js";
import * as push from "../push.js";
import { fmtInstant, fmtRelative, parseUtc } from "../time.js";
import { busy, confirmButton, errorText, fill, h, pageHead, shareIcon, toast } from "../ui.js";
import { errorCard, sendTestPush } from "./common.js";
import { pairCard } from "./pair-phone.js";

export async function render(root, _params, ctx) {
  root.append(pageHead("Devices"));
  const thisCard = h("section", { class: "card stack", id: "this-device", "aria-labelledby": "this-h" });
  const listCard = h("section", { class: "card", id: "device-list", "aria-labelledby": "list-h" });
  let st = await push.state();
  const phoneSized = window.matchMedia("(max-width: 819px)").matches;
  root.append(h("div", { class: "stack" },
    phoneSized ? thisCard : null,
    pairCard({ onChange: () => ctx.refreshStatus() }),
    phoneSized ? null : thisCard,
    listCard,
    // on an iPhone tab, "This device" already explains Add to Home Screen
    st.state === "ios-install" ? null : installCard(ctx),
    await historyCard(ctx.tz),
    signOut(ctx)));

  const redraw = async (next) => {
    st = next || (await push.state());
    drawThis(thisCard, st, redraw);
    await drawList(listCard, st, redraw, ctx);
    ctx.refreshStatus();
  };
  drawThis(thisCard, st, redraw);
  await drawList(listCard, st, redraw, ctx);
}

function pushTexts(st) {
  switch (st.state) {
    case "unsupported":
      return ["bad", "This browser can't receive notifications", "Use Chrome on Android, Safari on iPhone or iPad (iOS 16.4 or later, added to the Home Screen), or a desktop browser."];
    case "ios-install":
      return ["warn", "Add to Home Screen first", "On iPhone and iPad, notifications only work in the app added to your Home Screen (iOS 16.4 or later)."];
    case "untrusted":
      return ["warn", "This phone doesn't trust your computer yet", "Notifications need a secure connection. Install your computer's certificate once, then reload this page."];
    case "default":
      return ["warn", "Notifications are off", "Turn them on to get a nudge before each study block. Your browser will ask once."];
    case "denied":
      return ["bad", "Notifications are blocked", null];
    case "off":
      return ["warn", "Not subscribed on this device", "Notifications are allowed, but this device is not receiving reminders."];
    case "on":
      return ["ok", "Notifications are on", "This device gets your study reminders."];
    default:
      return ["bad", "Something went wrong", st.detail || "Could not set up notifications."];
  }
}

function drawThis(card, st, redraw) {
  const [dot, title, text] = pushTexts(st);
  const label = h("input", { type: "text", id: "d-label", maxlength: "100", value: push.deviceLabel(), autocomplete: "off" });
  label.addEventListener("change", async () => {
    push.setDeviceLabel(label.value || push.guessLabel());
    try {
      const me = (await get("/api/devices")).find((d) => d.current);
      if (me) await api("PATCH", `/api/devices/${me.id}`, { name: push.deviceLabel() });
      if (st.state === "on" && st.subscription) await push.sendToServer(st.subscription);
      toast("Device name saved.");
      await redraw(st);
    } catch (err) {
      toast(errorText(err), { error: true });
    }
  });
  const actions = [];
  if (st.state === "default" || st.state === "off" || st.state === "error") {
    const on = h("button", { type: "button", class: "btn btn-primary", id: "push-on" }, "Turn on notifications");
    // no await before enable(): the permission prompt needs the tap's user activation
    on.addEventListener("click", busy(on, async () => {
      try {
        const next = await push.enable();
        if (next.state === "on") toast("Notifications are on. Try a test!");
        await redraw(next);
      } catch (err) {
        await redraw({ state: "error", detail: errorText(err) });
      }
    }));
    actions.push(on);
  }
  if (st.state === "on") {
    const test = h("button", { type: "button", class: "btn btn-primary", id: "push-test" }, "Send a test");
    test.addEventListener("click", busy(test, async () => { await sendTestPush(null); await redraw(st); }));
    const off = h("button", { type: "button", class: "btn", id: "push-off" }, "Turn off");
    off.addEventListener("click", busy(off, async () => {
      try {
        const next = await push.disable();
        toast(next.detail || "Notifications turned off on this device.");
        await redraw(next);
      } catch (err) {
        toast(errorText(err), { error: true });
      }
    }));
    actions.push(test, off);
  }
  if (st.state === "denied") {
    const again = h("button", { type: "button", class: "btn" }, "I've changed it, check again");
    again.addEventListener("click", () => redraw());
    actions.push(again);
  }
  if (st.state === "untrusted") {
    actions.push(h("a", { class: "btn btn-primary", href: "/ca/", id: "ca-open" }, "Show me how"));
  }

  fill(card,
    h("div", { class: "card-title" }, h("h2", { id: "this-h" }, "This device")),
    h("div", { class: "status-line", id: "push-state", dataset: { state: st.state } },
      h("span", { class: `dot ${dot}`, "aria-hidden": "true" }), h("strong", {}, title)),
    text ? h("p", { class: "muted" }, text) : null,
    st.state === "ios-install" ? iosSteps() : null,
    st.state === "denied" ? deniedHelp() : null,
    h("div", { class: "field" }, h("label", { for: "d-label" }, "Name of this device"), label),
    actions.length ? h("div", { class: "btn-row" }, actions) : null,
  );
}

function iosSteps() {
  return h("ol", { class: "steps" },
    h("li", {}, "Tap ", shareIcon(), " Share in Safari's toolbar."),
    h("li", {}, "Choose ", h("b", {}, "Add to Home Screen"), "."),
    h("li", {}, "Open Study Notifier from your Home Screen and come back to Devices."));
}

function deniedHelp() {
  return h("div", { class: "stack-sm" },
    h("p", {}, "Your browser remembers the “Block”. To allow notifications again:"),
    h("ul", { class: "steps" },
      h("li", {}, h("b", {}, "Android: "), "long-press the app icon → App info → Notifications → Allow. In Chrome: tap the icon left of the address → Permissions → Notifications."),
      h("li", {}, h("b", {}, "iPhone / iPad: "), "Settings → Notifications → Study → Allow Notifications."),
      h("li", {}, h("b", {}, "Desktop: "), "click the icon left of the address bar → Site settings → Notifications → Allow, then reload.")));
}

/** Say in words what a test push did. */
const KIND = { phone: "Phone or tablet", desktop: "Desktop browser", script: "Script" };

/** Every paired device (a token) with its notifications, as one list. */
async function drawList(card, st, redraw, ctx) {
  let devices;
  try {
    devices = await get("/api/devices");
  } catch (err) {
    card.replaceChildren(h("h2", { id: "list-h" }, "Your devices"), errorCard(err, () => drawList(card, st, redraw, ctx)));
    return;
  }
  fill(card,
    h("div", { class: "card-title" }, h("h2", { id: "list-h" }, "Your devices"), h("span", { class: "pill" }, String(devices.length))),
    devices.length ? h("ul", { class: "devices" }, devices.map((d) => deviceRow(d, st, redraw, ctx))) : h("p", { class: "muted" }, "Nothing is paired yet."),
  );
}

function deviceRow(d, st, redraw, ctx) {
  const seen = parseUtc(d.last_seen_at);
  const lastOk = parseUtc(d.last_delivery_at);
  const name = h("span", { class: "name" }, d.name);
  const rename = h("button", { type: "button", class: "btn btn-small", dataset: { rename: String(d.id) } }, "Rename");
  rename.addEventListener("click", () => {
    const input = h("input", { type: "text", maxlength: "100", value: d.name, "aria-label": `New name for ${d.name}`, id: `rename-${d.id}` });
    const ok = h("button", { type: "button", class: "btn btn-small btn-primary" }, "Save");
    ok.addEventListener("click", busy(ok, async () => {
      try {
        await api("PATCH", `/api/devices/${d.id}`, { name: input.value });
        if (d.current) push.setDeviceLabel(input.value);
        toast("Renamed.");
        await redraw();
      } catch (err) {
        toast(errorText(err), { error: true });
      }
    }));
    name.replaceWith(h("div", { class: "rename" }, input, ok));
    rename.hidden = true;
    input.focus();
  });
  const remove = confirmButton(d.current ? "Unpair" : "Remove", "Tap again to remove", async () => {
    if (d.current) return unpair(ctx);
    try {
      await api("DELETE", `/api/devices/${d.id}`);
      toast(`${d.name} removed: it can't reach your reminders any more.`);
    } catch (err) {
      if (err.status !== 404) toast(errorText(err), { error: true });
    }
    await redraw();
  }, "btn btn-small btn-danger");
  remove.dataset.remove = String(d.id);
  const facts = [
    KIND[d.kind] || "Device",
    seen ? `seen ${fmtRelative(seen)}` : "not seen yet",
    d.notifications ? "notifications on" : "notifications off",
    d.notifications ? (lastOk ? `last reminder arrived ${fmtRelative(lastOk)}` : "nothing delivered yet") : null,
  ].filter(Boolean);
  return h("li", { class: "device", dataset: { device: String(d.id) } },
    h("div", { class: "row-between" }, name, d.current ? h("span", { class: "pill now" }, "This device") : null),
    h("p", { class: "muted small" }, facts.join(" · ")),
    d.last_delivery_error ? h("p", { class: "small error" }, `Last problem: ${d.last_delivery_error}`) : null,
    h("div", { class: "row" }, rename, remove));
}

function installCard(ctx) {
  const offer = installOffer({ force: true });
  if (!offer) return null;
  if (offer === "ios") {
    return h("section", { class: "card stack-sm" }, h("h2", {}, "Install the app"), iosSteps());
  }
  const btn = h("button", { type: "button", class: "btn btn-primary" }, "Install Study Notifier");
  btn.addEventListener("click", async () => {
    const outcome = await promptInstall();
    if (outcome === "accepted") toast("Installed. Find it on your home screen.");
    else dismissInstall();
    ctx.rerender();
  });
  return h("section", { class: "card stack-sm" }, h("h2", {}, "Install the app"),
    h("p", { class: "muted" }, "Open it from your home screen like any app, full screen, even when you are offline."), h("div", { class: "btn-row" }, btn));
}

// ---- history -------------------------------------------------------------------

const STATUS_CLASS = { sent: "done", late: "snoozed", snoozed: "snoozed", missed: "failed", "not delivered": "failed" };

/** One reminder in words (the server's): what, when, what happened, the text that went out. */
export function historyItem(r, tz) {
  const when = parseUtc(r.sent_at) || parseUtc(r.due_local) || parseUtc(r.due_at);
  const sent = r.status_text === "sent" || r.status_text === "late";
  return {
    what: r.what,
    status: r.status_text.charAt(0).toUpperCase() + r.status_text.slice(1),
    cls: STATUS_CLASS[r.status_text] || "",
    when: when ? fmtInstant(when, tz, { weekday: "short", hour: "numeric", minute: "2-digit" }) : "",
    text: sent ? [r.title, r.body].filter(Boolean).join(" — ") : "",
  };
}

async function historyCard(tz) {
  let log;
  try {
    log = await get("/api/reminders?limit=10");
  } catch {
    return null; // offline with nothing cached: leave the section out
  }
  if (!Array.isArray(log) || !log.length) return null;
  return h("section", { class: "card", id: "history", "aria-labelledby": "log-h" },
    h("h2", { id: "log-h" }, "Recent reminders"),
    h("ul", { class: "log" }, log.map((r) => {
      const item = historyItem(r, tz);
      return h("li", {},
        h("div", { class: "row-between" }, h("b", { class: "break" }, item.what), h("span", { class: `pill ${item.cls}` }, item.status)),
        h("span", { class: "muted small" }, [item.when, r.text_source === "llm" ? "written by Claude" : null].filter(Boolean).join(" · ")),
        item.text ? h("span", { class: "small break" }, `“${item.text}”`) : null);
    })));
}

// ---- unpair ----------------------------------------------------------------------

async function unpair(ctx) {
  try {
    await push.disable();
  } catch { /* keep going: unpairing matters more */ }
  try {
    // revoke this device's credential on the server (which also clears the pairing cookie)
    const me = (await get("/api/devices")).find((d) => d.current);
    if (me) await api("DELETE", `/api/devices/${me.id}`);
  } catch (err) {
    if (err.name === "OfflineError") {
      toast("You're offline: unpair when your computer is reachable.", { error: true });
      return;
    }
  }
  await setToken(null);
  navigator.serviceWorker?.controller?.postMessage({ type: "clear-api-cache" });
  ctx.unauthorized();
}

function signOut(ctx) {
  return h("div", { class: "row" }, confirmButton("Unpair this device", "Tap again to unpair", () => unpair(ctx), "btn btn-small btn-danger"));
}
