// Shown when the server answers 401: this device is not paired (or its token was revoked).

import { exchangePairingCode, setToken } from "../auth.js";
import { deviceLabel } from "../push.js";
import { h } from "../ui.js";

export function render(root, _params, ctx) {
  const reason = ctx.authError && ctx.authError.detail;
  const input = h("input", { type: "text", id: "pair-token", autocomplete: "off", spellcheck: "false", autocapitalize: "off", placeholder: "Code from the QR screen, or snt_…" });
  const error = h("p", { class: "error", hidden: true, role: "alert" });
  const form = h("form", { class: "stack-sm" },
    h("div", { class: "field" }, h("label", { for: "pair-token" }, "Or type the pairing code"), input,
      h("p", { class: "hint" }, "The code is shown under the QR code. A device token from ", h("code", {}, "notifier token"), " works too.")),
    error,
    h("div", { class: "btn-row" }, h("button", { type: "submit", class: "btn" }, "Connect")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) {
      error.textContent = "Type the code first.";
      error.hidden = false;
      return;
    }
    if (token.startsWith("snt_")) {
      await setToken(token);
    } else {
      try {
        await exchangePairingCode(token, deviceLabel());
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        return;
      }
    }
    ctx.paired();
  });

  root.append(h("div", { class: "pair stack" },
    h("img", { class: "mark", src: "/icons/icon-192.png", alt: "", width: "72", height: "72" }),
    h("div", { class: "page-head" }, h("h1", { tabindex: "-1" }, "Pair this device")),
    h("p", {}, "This phone isn't connected to your Study Notifier yet. Pairing takes a few seconds:"),
    h("ol", { class: "steps" },
      h("li", {}, "On your computer, open Study Notifier."),
      h("li", {}, "Choose ", h("b", {}, "Pair a phone"), " to show a QR code."),
      h("li", {}, "Scan it with this phone's camera and open the link.")),
    standaloneIos() ? h("p", { class: "notice" }, "Opened from the Home Screen? iPhone keeps the app's storage apart from Safari's, so type the code shown under the QR code here instead.") : null,
    reason && !/needs a device token/i.test(reason) ? h("p", { class: "notice warn" }, reason) : null,
    h("section", { class: "card" }, form)));
}

function standaloneIos() {
  return /iPad|iPhone|iPod/.test(navigator.userAgent) && (navigator.standalone === true || matchMedia("(display-mode: standalone)").matches);
}
