// Settings: time zone, reminder defaults, daily summary, the study buddy's voice, VAPID contact.

import { api, get } from "../api.js";
import { loadBlocks } from "../data.js";
import { deviceTimeZone } from "../time.js";
import { busy, errorText, fill, h, pageHead, switchRow, toast } from "../ui.js";
import { calendarSections } from "./calendar.js";
import { errorCard } from "./common.js";
import { offsetPicker } from "./widgets.js";

export async function render(root, _params, ctx) {
  root.append(pageHead("Settings"));
  let current;
  try {
    current = await get("/api/settings");
  } catch (err) {
    root.append(errorCard(err, () => ctx.rerender()));
    return;
  }
  const warnings = h("div", { class: "stack-sm" });
  const showWarnings = (list) => {
    warnings.replaceChildren(...(list || []).map((w) => h("div", { class: "notice warn", role: "status" }, w)));
  };
  showWarnings(current.warnings);

  // ---- time zone ------------------------------------------------------------
  const here = deviceTimeZone();
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [here, "UTC"];
  const zoneList = [...new Set([...zones, here, current.timezone].filter(Boolean))].sort();
  const machine = current.timezone_effective && !current.timezone ? ` (${current.timezone_effective})` : "";
  const tzSelect = h("select", { id: "s-timezone", name: "timezone" },
    h("option", { value: "" }, `Computer's zone${machine}`),
    zoneList.map((z) => h("option", { value: z, selected: z === current.timezone }, z.replace(/_/g, " "))));
  const useHere = h("button", { type: "button", class: "btn btn-small btn-ghost" }, `Use this device's zone (${here.replace(/_/g, " ")})`);
  useHere.addEventListener("click", () => { tzSelect.value = here; });
  useHere.hidden = current.timezone === here;

  // ---- reminders --------------------------------------------------------------
  const offsets = offsetPicker({ id: "s-offsets", initial: current.default_offsets, legend: "Default reminder times" });
  const snooze = h("input", { type: "number", id: "s-snooze", min: "1", max: "240", inputmode: "numeric", value: String(current.snooze_minutes ?? 10) });
  const summaryTime = h("input", { type: "time", id: "s-summary-time", value: current.summary_time || "07:30" });
  summaryTime.disabled = !current.summary_enabled;

  // ---- voice -------------------------------------------------------------------
  const persona = h("textarea", { id: "s-persona", rows: "5", maxlength: "2000" });
  persona.value = current.persona || "";
  const previewFor = h("select", { id: "s-preview-block" }, h("option", { value: "" }, "The next block"), h("option", { value: "summary" }, "Today's summary"));
  loadBlocks().then((blocks) => {
    for (const b of blocks || []) previewFor.append(h("option", { value: String(b.id) }, b.title));
  }).catch(() => {});
  const previewOut = h("div", { class: "preview", hidden: true, "aria-live": "polite", id: "s-preview" });
  const previewBtn = h("button", { type: "button", class: "btn", id: "s-preview-btn" }, "Preview message");
  persona.addEventListener("input", () => {
    previewBtn.textContent = persona.value.trim() !== (current.persona || "").trim() ? "Save voice & preview" : "Preview message";
  });
  previewBtn.addEventListener("click", busy(previewBtn, async () => {
    previewOut.hidden = false;
    previewOut.replaceChildren(h("p", { class: "muted" }, "Writing a message…"));
    try {
      if (persona.value.trim() !== (current.persona || "").trim()) {
        current = await api("PUT", "/api/settings", { persona: persona.value });
        previewBtn.textContent = "Preview message";
      }
      const body = previewFor.value === "summary" ? { kind: "summary" } : previewFor.value ? { block_id: Number(previewFor.value) } : {};
      showPreview(previewOut, await api("POST", "/api/messages/preview", body));
    } catch (err) {
      previewOut.replaceChildren(h("p", { class: "error" }, errorText(err)));
    }
  }));
  const model = h("input", { type: "text", id: "s-llm-model", value: current.llm_model || "", autocomplete: "off", spellcheck: "false" });
  const cap = h("input", { type: "number", id: "s-llm-cap", min: "0", inputmode: "numeric", value: String(current.llm_daily_cap ?? 200) });
  const grace = h("input", { type: "number", id: "s-grace", min: "0", max: "1440", inputmode: "numeric", value: String(current.late_grace_minutes ?? 10) });

  // ---- push contact -----------------------------------------------------------
  const subject = h("input", { type: "text", id: "s-vapid", inputmode: "email", autocomplete: "email", spellcheck: "false",
    placeholder: "mailto:you@example.com", value: current.vapid_subject || "" });

  const form = h("form", { class: "stack", novalidate: true },
    warnings,
    h("h2", { class: "section-title" }, "Schedule"),
    h("section", { class: "card stack" },
      h("div", { class: "field" }, h("label", { for: "s-timezone" }, "Time zone"), tzSelect, useHere,
        h("p", { class: "hint" }, "Block times are kept in this zone, so a 09:00 block stays at 09:00 when clocks change."))),
    h("h2", { class: "section-title" }, "Reminders"),
    h("section", { class: "card stack" },
      switchRow({ id: "s-reminders", label: "Send reminders", hint: "Turn off to pause every reminder", checked: current.reminders_enabled !== false }),
      offsets.el,
      h("div", { class: "field" }, h("label", { for: "s-snooze" }, "Snooze length (minutes)"), snooze),
      switchRow({ id: "s-summary", label: "Daily summary", hint: "One message a day with the day's plan", checked: Boolean(current.summary_enabled),
        onchange: (e) => { summaryTime.disabled = !e.target.checked; } }),
      h("div", { class: "field" }, h("label", { for: "s-summary-time" }, "Summary time"), summaryTime)),
    h("h2", { class: "section-title" }, "Your study buddy"),
    h("section", { class: "card stack" },
      switchRow({ id: "s-llm", label: "Write messages with Claude", hint: "Off: plain, friendly reminder texts", checked: current.llm_enabled !== false }),
      h("div", { class: "field" }, h("label", { for: "s-persona" }, "Persona"), persona,
        h("p", { class: "hint" }, "How your study buddy talks to you. Teasing is allowed; mean is not.")),
      h("div", { class: "field" }, h("label", { for: "s-preview-block" }, "Preview for"), previewFor),
      h("div", { class: "row" }, previewBtn),
      previewOut,
      h("details", {},
        h("summary", {}, "Advanced"),
        h("div", { class: "stack details-body" },
          h("div", { class: "field" }, h("label", { for: "s-llm-model" }, "Model"), model),
          h("div", { class: "field" }, h("label", { for: "s-llm-cap" }, "Most AI messages per day"), cap),
          h("div", { class: "field" }, h("label", { for: "s-grace" }, "Send late reminders up to (minutes)"), grace,
            h("p", { class: "hint" }, "After the computer was off: older reminders are listed as missed instead of sent."))))),
    h("h2", { class: "section-title" }, "Push contact"),
    h("section", { class: "card stack" },
      h("div", { class: "field" }, h("label", { for: "s-vapid" }, "Contact for push services (VAPID)"), subject,
        h("p", { class: "hint" }, "A mailto: address or https: URL the push services (Google, Apple, Mozilla) can reach if something goes wrong. Apple rejects localhost addresses."))),
    h("div", { class: "form-actions" }, h("button", { type: "submit", class: "btn btn-primary", id: "s-save" }, "Save settings")),
  );

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const vapid = subject.value.trim();
    const wanted = {
      timezone: tzSelect.value,
      reminders_enabled: form.querySelector("#s-reminders").checked,
      default_offsets: offsets.get(),
      snooze_minutes: Number(snooze.value),
      summary_enabled: form.querySelector("#s-summary").checked,
      summary_time: summaryTime.value,
      llm_enabled: form.querySelector("#s-llm").checked,
      persona: persona.value,
      llm_model: model.value.trim(),
      llm_daily_cap: Number(cap.value),
      late_grace_minutes: Number(grace.value),
      vapid_subject: vapid && !/^(mailto:|https:)/i.test(vapid) && vapid.includes("@") ? `mailto:${vapid}` : vapid,
    };
    const patch = {};
    for (const [k, v] of Object.entries(wanted)) {
      if (JSON.stringify(v) !== JSON.stringify(current[k])) patch[k] = v;
    }
    if (!Object.keys(patch).length) {
      toast("Nothing changed.");
      return;
    }
    const btn = form.querySelector("#s-save");
    btn.disabled = true;
    try {
      current = await api("PUT", "/api/settings", patch);
      subject.value = current.vapid_subject || "";
      showWarnings(current.warnings);
      ctx.setSettings(current);
      toast("Settings saved.");
    } catch (err) {
      toast(err.name === "OfflineError" ? "You're offline. Settings can be changed when your computer is reachable." : `Not saved: ${errorText(err)}`, { error: true, ms: 6000 });
    } finally {
      btn.disabled = false;
    }
  });

  root.append(form, ...calendarSections(), await aboutCard());
}

/** Show whatever the preview endpoint returns: title/body and where the text came from. */
function showPreview(box, data) {
  const title = data && (data.title || (data.message && data.message.title));
  const body = data && (data.body || data.text || (data.message && data.message.body));
  const source = data && (data.text_source || data.source);
  fill(box,
    title ? h("strong", {}, title) : null,
    h("p", {}, body || JSON.stringify(data)),
    source ? h("p", { class: "hint" }, source === "llm" ? "Written by Claude" : source === "fallback" ? "Plain fallback text (Claude is off, slow or not set up)" : `Source: ${source}`) : null,
    data && data.error ? h("p", { class: "hint" }, `Why not Claude: ${data.error}`) : null,
  );
}

async function aboutCard() {
  let version = "unknown";
  try {
    version = (await get("/api/bootstrap")).version;
  } catch { version = localStorage.getItem("sn.serverVersion") || version; /* offline */ }
  return h("p", { class: "hint" }, `Study Notifier ${version} · app ${document.documentElement.dataset.appVersion || ""}`);
}
