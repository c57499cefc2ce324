// Push opt-in as an explicit state machine:
//   unsupported   – no service worker / Push API here
//   ios-install   – iPhone/iPad Safari tab: push only exists once added to the Home Screen
//   default       – never asked; we ask only when the person taps the button
//   denied        – blocked; explain how to re-enable
//   off           – allowed, but this device is not subscribed (or turned off here)
//   on            – subscribed and the server has the subscription
//   error         – subscribing or telling the server failed (with a reason)
//   untrusted     – the phone does not trust this https address yet (LAN certificate)

import { api } from "./api.js";
import { loadBootstrap } from "./data.js";
import { b64urlToBytes, saveSubscription } from "./idb.js";

const OPT_OUT = "sn.push.optout";
const LABEL = "sn.device.label";

export function isIOS() {
  const ua = navigator.userAgent || "";
  return /iPad|iPhone|iPod/.test(ua) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
}

export function isStandalone() {
  return window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
}

export function supported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window && window.isSecureContext;
}

/** A readable default name for this device, e.g. "Chrome on Android". */
export function guessLabel() {
  const ua = navigator.userAgent || "";
  const os = /Android/.test(ua) ? "Android" : isIOS() ? (/iPad/.test(ua) ? "iPad" : "iPhone")
    : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "Mac" : /CrOS/.test(ua) ? "ChromeOS" : /Linux/.test(ua) ? "Linux" : "this device";
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /SamsungBrowser/.test(ua) ? "Samsung Internet"
    : /Chrome\/|Chromium\/|CriOS/.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  return `${browser} on ${os}`;
}

export function deviceLabel() {
  try {
    return localStorage.getItem(LABEL) || guessLabel();
  } catch {
    return guessLabel();
  }
}

export function setDeviceLabel(label) {
  try {
    localStorage.setItem(LABEL, label.trim().slice(0, 100));
  } catch {
    /* ignore */
  }
}

function optedOut() {
  try {
    return localStorage.getItem(OPT_OUT) === "1";
  } catch {
    return false;
  }
}

function setOptedOut(value) {
  try {
    if (value) localStorage.setItem(OPT_OUT, "1");
    else localStorage.removeItem(OPT_OUT);
  } catch {
    /* ignore */
  }
}

function sameBytes(a, b) {
  if (!a || !b) return true; // unknown: do not churn the subscription
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** The server's VAPID public key (the last one seen when offline, so Devices can show state). */
export async function serverKey() {
  return (await loadBootstrap()).vapid_public_key;
}

async function registration() {
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("The service worker did not start.")), 10000));
  return Promise.race([navigator.serviceWorker.ready, timeout]);
}

export async function currentSubscription() {
  if (!supported()) return null;
  const reg = await registration();
  return reg.pushManager.getSubscription();
}

let workerError = null;

/** The service worker failed to register: a certificate the phone does not trust, most often. */
export function noteWorkerError(err) {
  workerError = err;
}

function untrusted() {
  const text = workerError ? `${workerError.name} ${workerError.message}` : "";
  return location.protocol === "https:" && /SSL|certificate|SecurityError/i.test(text);
}

/** Where this device stands, without asking the person anything. */
export async function state() {
  if (untrusted()) return { state: "untrusted" };
  if (isIOS() && !isStandalone() && !("PushManager" in window)) return { state: "ios-install" };
  if (!supported()) return { state: "unsupported" };
  const permission = Notification.permission;
  if (permission === "denied") return { state: "denied" };
  if (permission === "default") return { state: "default" };
  let sub = null;
  try {
    sub = await currentSubscription();
  } catch (err) {
    return { state: "error", detail: err.message };
  }
  if (!sub || optedOut()) return { state: "off", subscription: sub };
  return { state: "on", subscription: sub };
}

/** POST the subscription (and this device's name) to the server; the same endpoint updates. */
export async function sendToServer(sub) {
  return saveSubscription(sub, deviceLabel(), api);
}

async function subscribe(reg) {
  const key = await serverKey();
  let sub = await reg.pushManager.getSubscription();
  if (sub && !sameBytes(sub.options && sub.options.applicationServerKey, b64urlToBytes(key))) {
    // the server's key changed (new data dir): the old subscription can never be used again
    await sub.unsubscribe().catch(() => {});
    sub = null;
  }
  if (!sub) {
    sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64urlToBytes(key) });
  }
  return sub;
}

/**
 * The "Turn on notifications" tap. requestPermission() is the first thing we
 * call: Safari only shows the prompt while the tap's user activation lasts.
 */
export async function enable() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return state();
  setOptedOut(false);
  const reg = await registration();
  const sub = await subscribe(reg);
  await sendToServer(sub);
  return { state: "on", subscription: sub };
}

/** Turn push off on this device: unsubscribe locally, then tell the server. */
export async function disable() {
  setOptedOut(true);
  const sub = await currentSubscription();
  if (!sub) return { state: "off" };
  const endpoint = sub.endpoint;
  await sub.unsubscribe();
  try {
    await api("DELETE", `/api/push/subscriptions?endpoint=${encodeURIComponent(endpoint)}`);
  } catch (err) {
    // 404: the server had already forgotten it. Offline: its next push gets 410 and it forgets then.
    if (err.status !== 404) return { state: "off", detail: "Turned off here; the server will notice the next time it tries to send." };
  }
  return { state: "off" };
}

/**
 * Each time the app opens: if notifications are allowed and not turned off here,
 * make sure a subscription exists (re-subscribing if the key changed or the
 * browser dropped it) and that the server has it. Never prompts.
 */
export async function resync() {
  const now = await state();
  if (now.state !== "on" && !(now.state === "off" && !optedOut())) return now;
  try {
    const reg = await registration();
    const sub = await subscribe(reg);
    await sendToServer(sub);
    return { state: "on", subscription: sub };
  } catch (err) {
    return { state: "error", detail: err.detail || err.message, error: err };
  }
}
