// "Install the app" prompt, offered from the second visit on: Chromium's
// beforeinstallprompt, or Share → Add to Home Screen steps on iOS Safari.
// Dismissing it is remembered.

import { bus } from "./events.js";
import { isIOS, isStandalone } from "./push.js";

const VISITS = "sn.visits";
const DISMISSED = "sn.install.dismissed";

let deferred = null;

// Registered at module load: the event can fire before the first screen renders.
window.addEventListener("beforeinstallprompt", (event) => {
  event.preventDefault(); // we show our own, calmer prompt
  deferred = event;
  bus.emit("install-changed");
});
window.addEventListener("appinstalled", () => {
  deferred = null;
  remember(DISMISSED, "installed");
  bus.emit("install-changed");
});

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* ignore */
  }
}

/** Count this visit once per browser session (reloads are not visits). */
export function countVisit() {
  try {
    if (!sessionStorage.getItem("sn.visit.counted")) {
      sessionStorage.setItem("sn.visit.counted", "1");
      remember(VISITS, String((Number(read(VISITS)) || 0) + 1));
    }
  } catch {
    /* storage disabled */
  }
}

export function visits() {
  return Number(read(VISITS)) || 0;
}

/** What to offer right now: "prompt" (Chromium), "ios" (instructions) or null. */
export function installOffer({ force = false } = {}) {
  if (isStandalone()) return null;
  if (!force && (read(DISMISSED) || visits() < 2)) return null;
  if (deferred) return "prompt";
  if (isIOS() && /Safari\//.test(navigator.userAgent) && !/CriOS|FxiOS|EdgiOS/.test(navigator.userAgent)) return "ios";
  return null;
}

export function dismissInstall() {
  remember(DISMISSED, "1");
  bus.emit("install-changed");
}

/** Show Chromium's install dialog; resolves with "accepted" or "dismissed". */
export async function promptInstall() {
  if (!deferred) return "unavailable";
  const event = deferred;
  deferred = null;
  await event.prompt();
  const choice = await event.userChoice;
  if (choice.outcome === "dismissed") remember(DISMISSED, "1");
  bus.emit("install-changed");
  return choice.outcome;
}
