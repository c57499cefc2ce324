// Settings → your calendar and your data: import an .ics file (preview, then import),
// the calendar feed (webcal:// link + QR code), and "Download backup".

import { ApiError, OfflineError, api, errorFrom, requestInit } from "../api.js";
import { busy, confirmButton, errorText, h, toast } from "../ui.js";
import { qrNode } from "./pair-phone.js";

/** The three cards, in the order Settings shows them. */
export function calendarSections() {
  return [importCard(), feedCard(), backupCard()];
}

/** POST the file as text/calendar (not JSON): the server previews or imports it. */
async function sendCalendar(file, dryRun) {
  const init = requestInit("POST", undefined, { "Content-Type": "text/calendar" });
  init.body = file;
  let res;
  try {
    res = await fetch(`/api/import/ics${dryRun ? "?dry_run=true" : ""}`, init);
  } catch {
    throw new OfflineError();
  }
  if (!res.ok) throw await errorFrom(res);
  return res.json();
}

function summaryText(r) {
  const verb = r.dry_run ? "will be" : "were";
  const parts = [];
  if (r.created) parts.push(`${r.created} new`);
  if (r.updated) parts.push(`${r.updated} updated`);
  if (r.unchanged) parts.push(`${r.unchanged} unchanged`);
  let text = parts.length ? `${parts.join(", ")} block${r.created + r.updated + r.unchanged === 1 ? "" : "s"} ${verb} imported` : "No blocks to import";
  if (r.skipped.length) {
    const counts = {};
    for (const s of r.skipped) counts[s.reason] = (counts[s.reason] || 0) + 1;
    // short reasons inline ("4 skipped: 3 all-day event, …"); long ones are in the list below
    const short = Object.entries(counts).filter(([why]) => why.length <= 40);
    text += `; ${r.skipped.length} skipped` + (short.length ? ": " + short.map(([why, n]) => `${n} ${why}`).join(", ") : "");
  }
  return text + ".";
}

function outcomeList(r) {
  const items = [
    ...r.skipped.map((s) => h("li", {}, `Skipped “${s.summary || s.uid}”: ${s.reason}`)),
    ...r.removed_from_file.map((b) => h("li", {}, `“${b.title}” is no longer in the file (kept; delete it if it is over)`)),
  ];
  return items.length ? h("ul", { class: "muted stack-sm", id: "ics-notes" }, items) : null;
}

function importCard() {
  const input = h("input", { type: "file", id: "ics-file", accept: ".ics,text/calendar" });
  const out = h("div", { class: "stack-sm", "aria-live": "polite", id: "ics-result" });
  const preview = h("button", { type: "button", class: "btn", id: "ics-preview", disabled: true }, "Preview");
  const doImport = h("button", { type: "button", class: "btn btn-primary", id: "ics-import", hidden: true }, "Import");
  input.addEventListener("change", () => {
    preview.disabled = !input.files.length;
    doImport.hidden = true;
    out.replaceChildren();
  });
  const show = (r) => out.replaceChildren(h("p", { id: "ics-summary" }, summaryText(r)), outcomeList(r) || "");
  preview.addEventListener("click", busy(preview, async () => {
    try {
      const r = await sendCalendar(input.files[0], true);
      show(r);
      doImport.hidden = !(r.created || r.updated);
    } catch (err) {
      out.replaceChildren(h("p", { class: "notice warn", role: "alert" }, errorText(err)));
    }
  }));
  doImport.addEventListener("click", busy(doImport, async () => {
    try {
      const r = await sendCalendar(input.files[0], false);
      show(r);
      doImport.hidden = true;
      toast(summaryText(r));
    } catch (err) {
      toast(`Not imported: ${errorText(err)}`, { error: true, ms: 6000 });
    }
  }));
  return h("section", { class: "card stack-sm", "aria-labelledby": "ics-h" },
    h("h2", { id: "ics-h" }, "Import calendar"),
    h("p", { class: "muted" }, "An .ics file from your university timetable, Google, Outlook or Apple Calendar. Timed events become blocks; importing the same file again updates them."),
    h("label", { for: "ics-file" }, "Calendar file"), input,
    h("div", { class: "row" }, preview, doImport), out);
}

function feedCard() {
  const out = h("div", { class: "stack-sm", id: "feed-out" });
  const showBtn = h("button", { type: "button", class: "btn", id: "feed-show" }, "Show feed address");
  const render = (feed) => {
    const link = h("a", { href: feed.webcal_url, id: "feed-link", class: "break" }, feed.webcal_url);
    const rotate = confirmButton("New address", "Old address stops working: sure?", async () => {
      try {
        render(await api("POST", "/api/calendar-feed/rotate"));
        toast("New feed address. Subscribe again with it.");
      } catch (err) {
        toast(errorText(err), { error: true });
      }
    }, "btn btn-ghost");
    out.replaceChildren(
      h("p", {}, "Subscribe to this address in Google, Apple or Outlook Calendar. Keep it private: anyone with it can see your blocks."),
      link, qrNode(feed.qr_svg) || "",
      feed.note ? h("p", { class: "notice warn", role: "status" }, feed.note) : "",
      h("div", { class: "row" }, rotate));
  };
  showBtn.addEventListener("click", busy(showBtn, async () => {
    try {
      render(await api("GET", "/api/calendar-feed"));
      showBtn.hidden = true;
    } catch (err) {
      toast(errorText(err), { error: true });
    }
  }));
  const download = h("button", { type: "button", class: "btn btn-ghost", id: "ics-download" }, "Download .ics");
  download.addEventListener("click", busy(download, () => saveFile("/api/calendar.ics", "study-notifier.ics")));
  return h("section", { class: "card stack-sm", "aria-labelledby": "feed-h" },
    h("h2", { id: "feed-h" }, "Calendar feed"),
    h("div", { class: "row" }, showBtn, download), out);
}

function backupCard() {
  const btn = h("button", { type: "button", class: "btn", id: "backup-download" }, "Download backup");
  btn.addEventListener("click", busy(btn, () => saveFile("/api/backup", "study-notifier-backup.zip")));
  return h("section", { class: "card stack-sm", "aria-labelledby": "backup-h" },
    h("h2", { id: "backup-h" }, "Backup"),
    h("p", { class: "muted" }, "One .zip with your blocks, settings, devices and keys. Restore it with “notifier restore FILE”. Keep it private: it holds your keys."),
    h("div", { class: "row" }, btn));
}

/** Fetch with this device's credentials and hand the body to the browser as a download. */
async function saveFile(path, fallbackName) {
  try {
    const res = await fetch(path, requestInit("GET"));
    if (!res.ok) throw await errorFrom(res);
    const name = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "")?.[1] || fallbackName;
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    const text = err instanceof ApiError ? errorText(err) : "Can't reach your computer right now.";
    toast(`Download failed: ${text}`, { error: true, ms: 6000 });
  }
}
