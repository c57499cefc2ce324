// Devices: this device's push state (and the buttons to change it), every
// subscribed device with Test push and Remove, install help, recent deliveries.

import { api, get } from "../api.js";
import { setToken } from "../auth.js";
import { dismissInstall, installOffer, promptInstall } from "../install.js";
import * as push from "../push.js";
import { fmtRelative, parseUtc } from "../time.js";
import { busy, confirmButton, errorText, fill, h, pageHead, shareIcon, toast } from "../ui.js";
import { errorCard } from "./common.js";

export async function render(root, _params, ctx) {
  root.append(pageHead("Devices"));
  const thisCard = h("section", { class: "card stack", id: "this-device", "aria-labelledby": "this-h" });
  const listCard = h("section", { class: "card", id: "device-list", "aria-labelledby": "list-h" });
  let st = await push.state();
  // on an iPhone tab, "This device" already explains Add to Home Screen
  root.append(h("div", { class: "stack" }, thisCard, pairCard(), st.state === "ios-install" ? null : installCard(ctx), listCard, await logCard(), signOut(ctx)));

  const redraw = async (next) => {
    st = next || (await push.state());
    drawThis(thisCard, st, redraw);
    await drawList(listCard, st, redraw);
  };
  await redraw(st);
}

function pushTexts(st) {
  switch (st.state) {
    case "unsupported":
      return ["bad", "This browser can't receive notifications", "Use Chrome on Android, Safari on iPhone or iPad (iOS 16.4 or later, added to the Home Screen), or a desktop browser."];
    case "ios-install":
      return ["warn", "Add to Home Screen first", "On iPhone and iPad, notifications only work in the app added to your Home Screen (iOS 16.4 or later)."];
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
    if (st.state === "on" && st.subscription) {
      try {
        await push.sendToServer(st.subscription);
        toast("Device name saved.");
        redraw(st);
      } catch (err) {
        toast(errorText(err), { error: true });
      }
    }
  });

  const actions = [];
  if (st.state === "default" || st.state === "off" || st.state === "error") {
    const on = h("button", { type: "button", class: "btn btn-primary", id: "push-on" }, "Turn on notifications");
    // no await before enable(): the permission prompt needs the tap's user activation
    on.addEventListener("click", busy(on, async () => {
      try {
        const next = await push.enable();
        if (next.state === "on") toast("Notifications are on. Try a test push!");
        await redraw(next);
      } catch (err) {
        await redraw({ state: "error", detail: errorText(err) });
      }
    }));
    actions.push(on);
  }
  if (st.state === "on") {
    const test = h("button", { type: "button", class: "btn btn-primary", id: "push-test" }, "Send a test");
    test.addEventListener("click", busy(test, () => testPush(null)));
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

async function testPush(subscriptionId) {
  try {
    const body = subscriptionId ? { subscription_id: subscriptionId } : {};
    const { results } = await api("POST", "/api/push/test", body);
    if (!results || !results.length) {
      toast("No devices are subscribed yet.", { error: true });
      return;
    }
    const ok = results.filter((r) => r.outcome === "delivered").length;
    if (ok === results.length) toast(ok === 1 ? "Test sent. It should pop up in a moment." : `Test sent to ${ok} devices.`);
    else toast(`Sent to ${ok} of ${results.length}. ${results.find((r) => r.outcome !== "delivered").detail || ""}`, { error: true, ms: 7000 });
  } catch (err) {
    toast(errorText(err), { error: true });
  }
}

async function drawList(card, st, redraw) {
  let subs;
  try {
    subs = await get("/api/push/subscriptions");
  } catch (err) {
    card.replaceChildren(h("h2", { id: "list-h" }, "Subscribed devices"), errorCard(err, () => drawList(card, st, redraw)));
    return;
  }
  const mine = st.subscription ? st.subscription.endpoint : null;
  const rows = subs.map((sub) => {
    const isMine = sub.endpoint === mine;
    const lastOk = parseUtc(sub.last_success_at);
    const added = parseUtc(sub.created_at);
    const test = h("button", { type: "button", class: "btn btn-small", dataset: { test: String(sub.id) } }, "Test push");
    test.addEventListener("click", busy(test, () => testPush(sub.id)));
    const remove = confirmButton("Remove", "Tap to confirm", async () => {
      try {
        if (isMine) await push.disable();
        else await api("DELETE", `/api/push/subscriptions/${sub.id}`);
        toast("Device removed.");
      } catch (err) {
        if (err.status !== 404) toast(errorText(err), { error: true });
      }
      await redraw();
    }, "btn btn-small btn-danger");
    remove.dataset.remove = String(sub.id);
    return h("div", { class: "device", dataset: { endpoint: sub.endpoint } },
      h("div", { class: "row-between" },
        h("span", { class: "name" }, sub.label || "Unnamed device"),
        isMine ? h("span", { class: "pill now" }, "This device") : null),
      h("p", { class: "muted small" },
        added ? `Added ${fmtRelative(added)}` : "",
        lastOk ? ` · last delivered ${fmtRelative(lastOk)}` : " · nothing delivered yet"),
      sub.last_error ? h("p", { class: "small error" }, `Last error: ${sub.last_error}${sub.failure_count ? ` (${sub.failure_count}×)` : ""}`) : null,
      h("div", { class: "row" }, test, remove));
  });
  fill(card,
    h("div", { class: "card-title" }, h("h2", { id: "list-h" }, "Subscribed devices"), h("span", { class: "pill" }, String(subs.length))),
    rows.length ? rows : h("p", { class: "muted" }, "No device gets reminders yet. Turn on notifications above, on each phone or computer you use."),
  );
}

/** "Pair a phone": a single-use code, shown as a QR code to scan and as text to type. */
function pairCard() {
  const out = h("div", { class: "stack-sm", id: "pair-out", "aria-live": "polite" });
  const btn = h("button", { type: "button", class: "btn", id: "pair-start" }, "Show a pairing code");
  let timer = null;
  btn.addEventListener("click", busy(btn, async () => {
    clearInterval(timer);
    try {
      const issued = await api("POST", "/api/pairing", {});
      const expires = parseUtc(issued.expires_at);
      const left = h("span", {});
      const tick = () => {
        const ms = expires ? expires.getTime() - Date.now() : 0;
        if (ms <= 0) {
          clearInterval(timer);
          fill(out, h("p", { class: "muted" }, "That code expired. Show a new one when the phone is ready."));
          return;
        }
        left.textContent = `${Math.ceil(ms / 60000)} min`;
      };
      fill(out,
        qrNode(issued.qr_svg),
        h("p", {}, "Scan with the phone's camera, or open Study Notifier on it and type ", h("b", { class: "tnum", id: "pair-code" }, issued.code), "."),
        h("p", { class: "hint" }, "Works once, for the next ", left, ". Link: ", h("code", {}, issued.url)));
      tick();
      timer = setInterval(() => (out.isConnected ? tick() : clearInterval(timer)), 5000);
    } catch (err) {
      fill(out, h("p", { class: "error" }, errorText(err)));
    }
  }));
  return h("section", { class: "card stack-sm", "aria-labelledby": "pair-h" },
    h("h2", { id: "pair-h" }, "Pair a phone"),
    h("p", { class: "muted" }, "Connect another phone or tablet to your reminders."),
    h("div", { class: "row" }, btn), out);
}

/** The server's QR code SVG as a node: parsed as XML, scripts and handlers dropped (no innerHTML). */
export function qrNode(svgText) {
  const doc = new DOMParser().parseFromString(svgText || "", "image/svg+xml");
  const svg = doc.documentElement;
  if (!svg || svg.nodeName !== "svg") return null;
  for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
  for (const el of [svg, ...svg.querySelectorAll("*")]) {
    for (const attr of [...el.attributes]) if (/^on/i.test(attr.name)) el.removeAttribute(attr.name);
  }
  // segno gives width/height but no viewBox: add one so CSS can scale the code crisply
  const w = parseFloat(svg.getAttribute("width"));
  const hgt = parseFloat(svg.getAttribute("height"));
  if (!svg.getAttribute("viewBox") && w && hgt) svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("shape-rendering", "crispEdges");
  const node = document.importNode(svg, true);
  node.setAttribute("role", "img");
  node.setAttribute("aria-label", "Pairing QR code");
  node.classList.add("qr");
  return h("div", { class: "qr-box" }, node);
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

async function logCard() {
  let log;
  try {
    log = await get("/api/reminders?limit=8");
  } catch {
    return null; // older server, or offline: just leave the section out
  }
  if (!Array.isArray(log) || !log.length) return null;
  return h("section", { class: "card", "aria-labelledby": "log-h" },
    h("h2", { id: "log-h" }, "Recent reminders"),
    h("ul", { class: "log" }, log.map((r) => {
      const when = parseUtc(r.sent_at || r.due_at);
      return h("li", {},
        h("div", { class: "row-between" }, h("b", {}, r.title || r.key), h("span", { class: `pill ${r.status === "sent" ? "done" : r.status === "failed" || r.status === "missed" ? "failed" : ""}` }, r.status + (r.late ? " (late)" : ""))),
        h("span", { class: "muted small" }, [when ? fmtRelative(when) : "", r.text_source === "llm" ? " · written by Claude" : "", r.error ? ` · ${r.error}` : ""].join("")));
    })));
}

function signOut(ctx) {
  const btn = confirmButton("Unpair this device", "Tap again to unpair", async () => {
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
  }, "btn btn-small btn-danger");
  return h("div", { class: "row" }, btn);
}
