// "Pair a phone" from the desktop: a single-use code as a QR code and as text.
// A phone can only use an https address it trusts, so when the server has none
// (409 no_phone_origin) this offers the ways to get one: HTTPS on the home
// network, turned on right here, or a tunnel address.

import { api, get } from "../api.js";
import { parseUtc } from "../time.js";
import { busy, errorText, fill, h, toast } from "../ui.js";

/** The card; `onChange` runs after it changed a setting (LAN HTTPS, tunnel address). */
export function pairCard({ onChange = () => {} } = {}) {
  const out = h("div", { class: "stack-sm", id: "pair-out", "aria-live": "polite" });
  const start = h("button", { type: "button", class: "btn btn-primary", id: "pair-start" }, "Show a pairing code");
  let timer = null;
  const stop = () => clearInterval(timer);

  const show = async () => {
    stop();
    let issued;
    try {
      issued = await api("POST", "/api/pairing", {});
    } catch (err) {
      if (err.code === "no_phone_origin") fill(out, await waysToReach(err, show, onChange));
      else fill(out, h("p", { class: "error" }, errorText(err)));
      return;
    }
    fill(out, await codeView(issued));
    const expires = parseUtc(issued.expires_at);
    const left = out.querySelector("#pair-left");
    const tick = () => {
      const ms = expires ? expires.getTime() - Date.now() : 0;
      if (!out.isConnected) return stop();
      if (ms <= 0) {
        stop();
        fill(out, h("p", { class: "muted" }, "That code expired. Show a new one when the phone is ready."));
        return;
      }
      left.textContent = `${Math.ceil(ms / 60000)} min`;
    };
    tick();
    timer = setInterval(tick, 5000);
  };
  start.addEventListener("click", busy(start, show));
  return h("section", { class: "card stack-sm", id: "pair-card", "aria-labelledby": "pair-h" },
    h("h2", { id: "pair-h" }, "Pair a phone"),
    h("p", { class: "muted" }, "Connect your phone so reminders reach it. It takes a minute."),
    h("div", { class: "row" }, start), out);
}

async function codeView(issued) {
  const origin = new URL(issued.url).origin;
  let tls = null;
  try {
    tls = await get("/api/tls");
  } catch { /* older server: no certificate details */ }
  const lan = tls && tls.ca_page && origin === new URL(tls.ca_page).origin;
  return [
    h("ol", { class: "steps" },
      h("li", {}, "Scan this code with the phone's camera and open the link."),
      lan ? h("li", {}, "The first time, the phone warns that the connection is not private: that is expected. Continue (Chrome: ", h("b", {}, "Advanced → Proceed"), "; Safari: ", h("b", {}, "Show Details → visit this website"), "). The app then shows how to make the phone trust this computer.") : null,
      h("li", {}, "On the phone, tap ", h("b", {}, "Turn on notifications"), ", then ", h("b", {}, "Send a test"), ".")),
    qrNode(issued.qr_svg),
    h("p", {}, "No camera? Open ", h("b", { class: "break" }, `${origin}/pair`), " on the phone and type ", h("b", { class: "tnum code", id: "pair-code" }, issued.code), "."),
    lan && tls.ca_fingerprint_sha256
      ? h("p", { class: "hint break" }, "Certificate fingerprint (SHA-256), to compare on the phone: ", h("code", { id: "pair-fp" }, tls.ca_fingerprint_sha256))
      : null,
    h("p", { class: "hint" }, "The code works once, for the next ", h("span", { id: "pair-left" }, ""), "."),
  ];
}

/** 409 no_phone_origin: the ways to give the phone an https address. */
async function waysToReach(err, retry, onChange) {
  const lanBtn = h("button", { type: "button", class: "btn btn-primary", id: "pair-lan" }, "Turn on HTTPS on my network");
  lanBtn.addEventListener("click", busy(lanBtn, async () => {
    try {
      await api("PUT", "/api/settings", { lan_https: true });
      onChange();
      toast("HTTPS on your network is on.");
      await retry();
    } catch (e) {
      toast(`Couldn't turn it on: ${errorText(e)}`, { error: true, ms: 7000 });
    }
  }));
  const url = h("input", { type: "url", id: "pair-public-url", placeholder: "https://study.example.com", autocomplete: "off", spellcheck: "false", inputmode: "url" });
  const useUrl = h("button", { type: "button", class: "btn", id: "pair-use-url" }, "Use this address");
  useUrl.addEventListener("click", busy(useUrl, async () => {
    try {
      await api("PUT", "/api/settings", { public_url: url.value.trim() });
      onChange();
      await retry();
    } catch (e) {
      toast(errorText(e), { error: true, ms: 7000 });
    }
  }));
  return [
    h("div", { class: "notice warn", id: "pair-no-origin" },
      h("strong", {}, "Your phone can't use this address"),
      h("p", {}, "This computer is only reachable as ", h("code", {}, location.host), " which on a phone means the phone itself, and phones only allow notifications from a secure (https) address. Pick one way:")),
    h("div", { class: "way stack-sm" },
      h("h3", {}, "Phone on the same Wi-Fi"),
      h("p", { class: "muted" }, "Study Notifier serves a secure address on your home network. The phone trusts it once (the app shows how on Android and iPhone). Works at home only."),
      h("div", { class: "row" }, lanBtn)),
    h("div", { class: "way stack-sm" },
      h("h3", {}, "Phone anywhere: a tunnel"),
      h("p", { class: "muted" }, "If you run Tailscale or a Cloudflare tunnel to this computer, give its https address."),
      h("div", { class: "field" }, h("label", { for: "pair-public-url" }, "Tunnel address"), url),
      h("div", { class: "row" }, useUrl)),
    ...problems(err),
  ];
}

/** Why a way cannot work right now, as the server says (e.g. the HTTPS port is taken). */
function problems(err) {
  const ways = (err.body && err.body.ways) || [];
  return ways.filter((w) => w.problem).map((w) => h("p", { class: "small error" }, `${w.title}: ${w.problem}`));
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
