// Settings: one form made of sections (schedule, reminders, study buddy, push
// contact). Each section draws its fields and hands back its values; Save sends
// only what changed.

import { api } from "../api.js";
import { loadBlocks, loadBootstrap, loadSettings, pendingSettings, saveSettings } from "../data.js";
import { bus } from "../events.js";
import { deviceTimeZone, zoneLabel } from "../time.js";
import { busy, errorText, fill, h, pageHead, switchRow, toast } from "../ui.js";
import { calendarSections } from "./calendar.js";
import { errorCard, reportChange } from "./common.js";
import { planningSection } from "./planning-settings.js";
import { offsetPicker } from "./widgets.js";

export async function render(root, params, ctx) {
  root.append(pageHead("Settings"));
  let current;
  try {
    current = await loadSettings(); // offline: the copy last seen here, with queued changes on top
  } catch (err) {
    root.append(errorCard(err, () => ctx.rerender()));
    return;
  }
  if (current.missing) {
    root.append(errorCard(current.error, () => ctx.rerender()));
    return;
  }
  const queued = h("div", { id: "s-queued", role: "status" });
  const drawQueued = () => fill(queued, queuedNotice());
  drawQueued();
  ctx.onCleanup(bus.on("queue", drawQueued));
  const warnings = h("div", { class: "stack-sm" });
  const showWarnings = (list) => {
    warnings.replaceChildren(...(list || []).map((w) => h("div", { class: "notice warn", role: "status" }, w)));
  };
  showWarnings(current.warnings);

  const getCurrent = () => current;
  const setCurrent = (next) => {
    current = next;
    ctx.setSettings(next);
  };
  const sections = [
    scheduleSection(current),
    remindersSection(current),
    planningSection(current),
    buddySection(current, getCurrent, setCurrent),
    contactSection(current),
    phoneAccessSection(current),
  ];
  const save = h("button", { type: "submit", class: "btn btn-primary", id: "s-save" }, "Save settings");
  const form = h("form", { class: "stack", novalidate: true },
    current.stale ? h("p", { class: "notice", id: "s-stale" }, "Your computer can't be reached: these are the settings last seen on this device. Changes you save are kept here and sync when it is back.") : null,
    queued,
    warnings,
    sections.map((s) => s.el),
    h("div", { class: "form-actions" }, save));

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const wanted = Object.assign({}, ...sections.map((s) => s.values()));
    const patch = {};
    for (const [k, v] of Object.entries(wanted)) {
      if (JSON.stringify(v) !== JSON.stringify(current[k])) patch[k] = v;
    }
    if (!Object.keys(patch).length) {
      toast("Nothing changed.");
      return;
    }
    save.disabled = true;
    try {
      const outcome = await saveSettings(patch);
      if (outcome.state === "sent") {
        setCurrent(outcome.result);
        for (const s of sections) s.saved?.(current);
        showWarnings(current.warnings);
      } else if (outcome.state === "queued") {
        setCurrent({ ...current, ...patch });
      }
      await reportChange(outcome, "Settings saved.");
    } catch (err) {
      toast(`Not saved: ${errorText(err)}`, { error: true, ms: 6000 });
    } finally {
      save.disabled = false;
    }
  });

  root.append(form, ...calendarSections(), await aboutLine());
  // #/settings/<section> (e.g. from the banner): bring that section into view
  const target = params[0] && root.querySelector(`#settings-${params[0]}`);
  if (target) requestAnimationFrame(() => target.scrollIntoView({ block: "start" }));
}

// What a queued change is about, in the screen's words.
const SETTING_NAMES = {
  timezone: "time zone", reminders_enabled: "reminders on or off", default_offsets: "default reminder times",
  snooze_minutes: "snooze length", summary_enabled: "daily summary", summary_time: "daily summary",
  late_grace_minutes: "late reminders", quiet_hours: "quiet hours", end_of_block_check: "how did it go?",
  llm_enabled: "study buddy", persona: "study buddy", llm_model: "study buddy", llm_daily_cap: "study buddy",
  vapid_subject: "push contact", lan_https: "how phones reach this computer", public_url: "how phones reach this computer",
};

/** Settings saved on this device that the computer has not got yet, or nothing. */
function queuedNotice() {
  const keys = Object.keys(pendingSettings());
  if (!keys.length) return null;
  const names = [...new Set(keys.map((k) => SETTING_NAMES[k] || "other settings"))];
  return h("div", { class: "notice warn" },
    h("strong", {}, "Waiting to sync"),
    h("p", {}, `Saved on this device: ${names.join(", ")}. It syncs when your computer is reachable.`));
}

/** A titled card of fields; `id` makes it reachable as #/settings/<id>. */
function section(id, title, ...children) {
  return [h("h2", { class: "section-title", id: `settings-${id}` }, title), h("section", { class: "card stack", "aria-labelledby": `settings-${id}` }, children)];
}

function numberInput(id, value, { min, max } = {}) {
  return h("input", { type: "number", id, min, max, inputmode: "numeric", value: String(value) });
}

// ---- schedule ------------------------------------------------------------------

function scheduleSection(current) {
  const here = deviceTimeZone();
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [here, "UTC"];
  const zoneList = [...new Set([...zones, here, current.timezone].filter(Boolean))].sort();
  const machine = current.timezone_effective && !current.timezone ? ` (${zoneLabel(current.timezone_effective)})` : "";
  const tzSelect = h("select", { id: "s-timezone", name: "timezone" },
    h("option", { value: "" }, `Computer's zone${machine}`),
    zoneOptions(zoneList).map(([z, label]) => h("option", { value: z, selected: z === current.timezone }, label)));
  const useHere = h("button", { type: "button", class: "btn btn-small btn-ghost" }, `Use this device's zone: ${zoneLabel(here)}`);
  useHere.addEventListener("click", () => { tzSelect.value = here; });
  useHere.hidden = current.timezone === here;
  return {
    el: section("schedule", "Schedule",
      h("div", { class: "field" }, h("label", { for: "s-timezone" }, "Time zone"), tzSelect, useHere,
        h("p", { class: "hint" }, "Block times are kept in this zone, so a 09:00 block stays at 09:00 when clocks change."))),
    values: () => ({ timezone: tzSelect.value }),
  };
}

/** [zone, "New York time (EST) · America"] sorted by what a person reads, not by database name. */
function zoneOptions(zones) {
  const now = new Date();
  return zones
    .map((z) => [z, z.includes("/") && !z.startsWith("Etc/") ? `${zoneLabel(z, now)} · ${z.split("/")[0]}` : zoneLabel(z, now)])
    .sort((a, b) => a[1].localeCompare(b[1]));
}

// ---- reminders -----------------------------------------------------------------

function remindersSection(current) {
  const offsets = offsetPicker({ id: "s-offsets", initial: current.default_offsets, legend: "Default reminder times" });
  const snooze = numberInput("s-snooze", current.snooze_minutes, { min: "1", max: "240" });
  const summaryTime = h("input", { type: "time", id: "s-summary-time", value: current.summary_time });
  summaryTime.disabled = !current.summary_enabled;
  const grace = numberInput("s-grace", current.late_grace_minutes, { min: "0" });
  const reminders = switchRow({ id: "s-reminders", label: "Send reminders", hint: "Turn off to pause every reminder", checked: current.reminders_enabled });
  const summary = switchRow({ id: "s-summary", label: "Daily summary", hint: "One message a day with the day's plan", checked: current.summary_enabled,
    onchange: (e) => { summaryTime.disabled = !e.target.checked; } });
  const el = section("reminders", "Reminders",
    reminders,
    offsets.el,
    h("div", { class: "field" }, h("label", { for: "s-snooze" }, "Snooze length (minutes)"), snooze),
    summary,
    h("div", { class: "field" }, h("label", { for: "s-summary-time" }, "Summary time"), summaryTime),
    h("div", { class: "field" }, h("label", { for: "s-grace" }, "Send late reminders up to (minutes)"), grace,
      h("p", { class: "hint" }, "After the computer was off: older reminders are listed as missed instead of sent.")));
  return {
    el,
    values: () => ({
      reminders_enabled: reminders.querySelector("input").checked,
      default_offsets: offsets.get(),
      snooze_minutes: Number(snooze.value),
      summary_enabled: summary.querySelector("input").checked,
      summary_time: summaryTime.value,
      late_grace_minutes: Number(grace.value),
    }),
  };
}

// ---- the study buddy (Claude) ------------------------------------------------------

function buddySection(current, getCurrent, setCurrent) {
  const persona = h("textarea", { id: "s-persona", rows: "5" });
  persona.value = current.persona;
  const preview = previewBox(persona, getCurrent, setCurrent);
  const model = h("input", { type: "text", id: "s-llm-model", value: current.llm_model, autocomplete: "off", spellcheck: "false" });
  const cap = numberInput("s-llm-cap", current.llm_daily_cap, { min: "0" });
  const llm = switchRow({ id: "s-llm", label: "Write messages with Claude", hint: "Off: plain, friendly reminder texts", checked: current.llm_enabled });
  const el = section("buddy", "Your study buddy",
    llm,
    apiKeyBox(getCurrent, setCurrent),
    h("div", { class: "field" }, h("label", { for: "s-persona" }, "Persona"), persona,
      h("p", { class: "hint" }, "How your study buddy talks to you. Teasing is allowed; mean is not.")),
    preview.el,
    h("details", {},
      h("summary", {}, "Advanced"),
      h("div", { class: "stack details-body" },
        h("div", { class: "field" }, h("label", { for: "s-llm-model" }, "Model"), model),
        h("div", { class: "field" }, h("label", { for: "s-llm-cap" }, "Most AI messages per day"), cap))));
  return {
    el,
    values: () => ({
      llm_enabled: llm.querySelector("input").checked,
      persona: persona.value,
      llm_model: model.value.trim(),
      llm_daily_cap: Number(cap.value),
    }),
    saved: () => preview.sync(),
  };
}

/** "Preview message": saves a changed persona first, then shows what a reminder would say. */
function previewBox(persona, getCurrent, setCurrent) {
  // "The next block" is offered once there are blocks (with none, only the summary can be shown)
  const previewFor = h("select", { id: "s-preview-block" }, h("option", { value: "summary" }, "Today's summary"));
  let touched = false;
  previewFor.addEventListener("change", () => { touched = true; });
  loadBlocks().then((blocks) => {
    if (!blocks || !blocks.length) return;
    previewFor.prepend(h("option", { value: "" }, "The next block"));
    if (!touched) previewFor.value = "";
    for (const b of blocks) previewFor.append(h("option", { value: String(b.id) }, b.title));
  }).catch(() => {});
  const out = h("div", { class: "preview", hidden: true, "aria-live": "polite", id: "s-preview" });
  const btn = h("button", { type: "button", class: "btn", id: "s-preview-btn" }, "Preview message");
  const changed = () => persona.value.trim() !== (getCurrent().persona || "").trim();
  const sync = () => { btn.textContent = changed() ? "Save voice & preview" : "Preview message"; };
  persona.addEventListener("input", sync);
  btn.addEventListener("click", busy(btn, async () => {
    out.hidden = false;
    out.replaceChildren(h("p", { class: "muted" }, "Writing a message…"));
    try {
      if (changed()) {
        setCurrent(await api("PUT", "/api/settings", { persona: persona.value }));
        sync();
      }
      const body = previewFor.value === "summary" ? { kind: "summary" } : previewFor.value ? { block_id: Number(previewFor.value) } : { kind: "reminder" };
      showPreview(out, await api("POST", "/api/messages/preview", body));
    } catch (err) {
      out.replaceChildren(h("p", { class: "error" }, errorText(err)));
    }
  }));
  return {
    el: [h("div", { class: "field" }, h("label", { for: "s-preview-block" }, "Preview for"), previewFor), h("div", { class: "row" }, btn), out],
    sync,
  };
}

/** Show whatever the preview endpoint returns: title/body and where the text came from. */
function showPreview(box, data) {
  const title = data && (data.title || (data.message && data.message.title));
  const body = data && (data.body || data.text || (data.message && data.message.body));
  const source = data && (data.text_source || data.source);
  fill(box,
    title ? h("strong", {}, title) : null,
    h("p", {}, body || "No text came back."),
    source ? h("p", { class: "hint" }, source === "llm" ? "Written by Claude" : source === "fallback" ? "Plain fallback text (Claude is off, slow or not set up)" : `Source: ${source}`) : null,
    data && data.error ? h("p", { class: "hint" }, `Why not Claude: ${data.error}`) : null,
  );
}

// ---- push contact ------------------------------------------------------------------

function contactSection(current) {
  const subject = h("input", { type: "text", id: "s-vapid", inputmode: "email", autocomplete: "email", spellcheck: "false",
    placeholder: "mailto:you@example.com", value: current.vapid_subject });
  return {
    el: section("contact", "Push contact",
      h("div", { class: "field" }, h("label", { for: "s-vapid" }, "Contact for push services (VAPID)"), subject,
        h("p", { class: "hint" }, "A mailto: address or https: URL the push services (Google, Apple, Mozilla) can reach if something goes wrong. Apple rejects localhost addresses."))),
    values: () => {
      const vapid = subject.value.trim();
      return { vapid_subject: vapid && !/^(mailto:|https:)/i.test(vapid) && vapid.includes("@") ? `mailto:${vapid}` : vapid };
    },
    saved: (now) => { subject.value = now.vapid_subject || ""; },
  };
}

// ---- the Anthropic API key (its own buttons: a secret is never part of the form) ------

function apiKeyBox(getCurrent, setCurrent) {
  const box = h("div", { class: "stack-sm", id: "s-key" });
  const draw = () => {
    const now = getCurrent();
    const fromEnv = now.llm_key_source === "env";
    const input = h("input", { type: "password", id: "s-key-input", autocomplete: "off", spellcheck: "false", placeholder: "sk-ant-…" });
    const saveKey = h("button", { type: "button", class: "btn btn-small btn-primary", id: "s-key-save" }, now.llm_key ? "Replace key" : "Save key");
    const check = h("button", { type: "button", class: "btn btn-small", id: "s-key-check" }, "Check key");
    const result = h("p", { class: "small", id: "s-key-result", "aria-live": "polite" });
    const put = async (value, done) => {
      try {
        setCurrent(await api("PUT", "/api/settings", { anthropic_api_key: value }));
        toast(done);
        draw();
      } catch (err) {
        toast(`Not saved: ${errorText(err)}`, { error: true, ms: 7000 });
      }
    };
    saveKey.addEventListener("click", busy(saveKey, async () => {
      if (!input.value.trim()) {
        result.textContent = "Paste the key first.";
        return;
      }
      await put(input.value.trim(), "API key saved.");
    }));
    check.addEventListener("click", busy(check, async () => {
      result.className = "small";
      result.textContent = "Asking Claude…";
      try {
        const answer = await api("POST", "/api/settings/anthropic-key/check", {});
        result.className = answer.ok ? "small ok" : "small error";
        result.textContent = answer.detail || answer.message || (answer.ok ? "The key works." : "The key did not work.");
      } catch (err) {
        result.className = "small error";
        result.textContent = err.status === 404 ? "This version of the server can't check keys." : errorText(err);
      }
    }));
    const remove = h("button", { type: "button", class: "btn btn-small btn-danger", id: "s-key-remove" }, "Remove key");
    remove.addEventListener("click", busy(remove, () => put(null, "API key removed.")));
    fill(box,
      h("p", { class: "label" }, h("b", {}, "Anthropic API key")),
      h("p", { class: "break" }, now.llm_key ? h("code", { id: "s-key-masked" }, now.llm_key) : h("span", { class: "muted" }, "No key yet: reminders use the built-in texts."),
        fromEnv ? h("span", { class: "hint" }, " (from ANTHROPIC_API_KEY on the computer: change it there)") : null),
      fromEnv ? null : h("div", { class: "field" }, h("label", { for: "s-key-input", class: "visually-hidden" }, now.llm_key ? "New API key" : "API key"), input),
      h("div", { class: "row" }, fromEnv ? null : saveKey, now.llm_key ? check : null, now.llm_key && !fromEnv ? remove : null),
      result,
      h("p", { class: "hint" }, "From console.anthropic.com → API keys. It is stored on your computer only (readable by you alone) and never shown again in full."));
  };
  draw();
  return box;
}

// ---- how phones reach this computer ---------------------------------------------------

function phoneAccessSection(current) {
  const knowsLan = "lan_https" in current;
  const knowsUrl = "public_url" in current;
  if (!knowsLan && !knowsUrl) return { el: null, values: () => ({}) };
  const lan = switchRow({ id: "s-lan", label: "HTTPS on my home network", hint: "Lets phones on your Wi-Fi connect securely (they trust your computer once).",
    checked: Boolean(current.lan_https) });
  const fromEnv = current.public_url_source === "env";
  const url = h("input", { type: "url", id: "s-public-url", inputmode: "url", autocomplete: "off", spellcheck: "false",
    placeholder: "https://study.example.com", value: current.public_url || "", disabled: fromEnv });
  return {
    el: section("phones", "How phones reach this computer",
      knowsLan ? lan : null,
      current.lan_https_error ? h("p", { class: "small error" }, current.lan_https_error) : null,
      knowsUrl ? h("div", { class: "field" }, h("label", { for: "s-public-url" }, "Tunnel address (optional)"), url,
        h("p", { class: "hint" }, fromEnv ? "Set by NOTIFIER_PUBLIC_URL on the computer: change it there."
          : "The https address of a Tailscale or Cloudflare tunnel to this computer, if you use one. Phones then work away from home too.")) : null),
    values: () => ({
      ...(knowsLan ? { lan_https: lan.querySelector("input").checked } : {}),
      ...(knowsUrl && !fromEnv ? { public_url: url.value.trim() } : {}),
    }),
  };
}

// ---- about -------------------------------------------------------------------------

async function aboutLine() {
  let version = "";
  try {
    version = (await loadBootstrap()).version;
  } catch {
    /* never seen the server: leave the version out */
  }
  return h("p", { class: "hint", id: "s-version" }, version ? `Study Notifier ${version}` : "Study Notifier");
}
