// Dates and times. The server speaks two forms (see the API shapes):
//   local wall-clock time in the settings' zone, "YYYY-MM-DDTHH:MM" (naive), and
//   UTC instants, "…Z"; occurrence keys are UTC as "YYYYMMDDTHHMMSSZ".
// Wall-clock values are formatted with timeZone "UTC" on a Date built from their
// parts, so the device's own zone never shifts them.

const pad = (n, w = 2) => String(n).padStart(w, "0");

export function deviceTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Parse a UTC instant from the server (tolerates microseconds, which Safari does not). */
export function parseUtc(text) {
  if (!text) return null;
  const trimmed = String(text).replace(/(\.\d{3})\d+/, "$1");
  const d = new Date(trimmed);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "20261123T170000Z" → Date. */
export function keyToDate(key) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(key || "");
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

/** Date → "20261123T170000Z". */
export function dateToKey(date) {
  return (
    `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`
  );
}

const partFormatters = new Map();

function partsFormatter(tz) {
  if (!partFormatters.has(tz)) {
    partFormatters.set(
      tz,
      new Intl.DateTimeFormat("en-US", {
        timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      }),
    );
  }
  return partFormatters.get(tz);
}

/** The wall-clock fields of an instant in a zone. */
export function zonedParts(date, tz) {
  const out = {};
  for (const p of partsFormatter(tz).formatToParts(date)) out[p.type] = p.value;
  const hour = out.hour === "24" ? 0 : +out.hour;
  return { year: +out.year, month: +out.month, day: +out.day, hour, minute: +out.minute, second: +out.second };
}

function offsetMs(date, tz) {
  const p = zonedParts(date, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(date.getTime() / 1000) * 1000;
}

/** "YYYY-MM-DDTHH:MM" in `tz` → the UTC instant (gap times move forward). */
export function localToUtc(local, tz) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || "");
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  const first = wall - offsetMs(new Date(wall), tz);
  const second = wall - offsetMs(new Date(first), tz);
  const want = local.slice(0, 16);
  const fits = [first, second].filter((t) => toLocal(new Date(t), tz) === want);
  // ambiguous (fall back): the earlier instant, as the server does; gap: the later one
  return new Date(fits.length ? Math.min(...fits) : Math.max(first, second));
}

/** Instant → "YYYY-MM-DDTHH:MM" wall-clock in tz. */
export function toLocal(date, tz) {
  const p = zonedParts(date, tz);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

/** Today's date in tz, "YYYY-MM-DD". */
export function todayIn(tz, now = new Date()) {
  return toLocal(now, tz).slice(0, 10);
}

/** "YYYY-MM-DD" ± n days. */
export function addDays(day, n) {
  const [y, m, d] = day.split("-").map(Number);
  const dt = new Date(Date.UTC(y, m - 1, d + n));
  return `${dt.getUTCFullYear()}-${pad(dt.getUTCMonth() + 1)}-${pad(dt.getUTCDate())}`;
}

/** Monday = 0 … Sunday = 6. */
export function weekdayIndex(day) {
  const [y, m, d] = day.split("-").map(Number);
  return (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
}

export function startOfWeek(day) {
  return addDays(day, -weekdayIndex(day));
}

function wallDate(local) {
  const [date, time = "00:00"] = local.split("T");
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  return new Date(Date.UTC(y, m - 1, d, hh || 0, mm || 0));
}

const fmtCache = new Map();
function fmt(opts) {
  const key = JSON.stringify(opts);
  if (!fmtCache.has(key)) fmtCache.set(key, new Intl.DateTimeFormat(undefined, opts));
  return fmtCache.get(key);
}

/** "18:00" / "6:00 PM" for a local "YYYY-MM-DDTHH:MM" ("00:30", not "0:30", on a 24-hour clock). */
export function fmtTime(local) {
  const h23 = /h2[34]/.test(fmt({ hour: "numeric" }).resolvedOptions().hourCycle || "");
  return fmt({ timeZone: "UTC", hour: h23 ? "2-digit" : "numeric", minute: "2-digit" }).format(wallDate(local));
}

/** "18:00 – 19:30", or "23:30 – 00:30 (next day)" when it ends on a later date. */
export function fmtTimeRange(startLocal, endLocal) {
  const days = Math.round((wallDate(endLocal.slice(0, 10)) - wallDate(startLocal.slice(0, 10))) / 86400000);
  const tail = days === 1 ? " (next day)" : days > 1 ? ` (+${days} days)` : "";
  return `${fmtTime(startLocal)} – ${fmtTime(endLocal)}${tail}`;
}

/** Where an agenda item ends, "YYYY-MM-DDTHH:MM" on the clock of its block's zone. */
export function endLocalOf(occ, tz) {
  return toLocal(parseUtc(occ.end_utc), occ.timezone || tz);
}

// Zones whose clock is UTC's: shown as plain "UTC", never "Etc/UTC".
const UTC_ZONES = new Set(["UTC", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu",
  "Etc/UTC", "Etc/UCT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "Etc/Greenwich", "Etc/Universal", "Etc/Zulu"]);

function zoneNamePart(tz, at, locale) {
  const parts = new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: "short" }).formatToParts(at);
  return (parts.find((p) => p.type === "timeZoneName") || {}).value || "";
}

/** The zone's short name at `at`: "CET", "EST", "GMT", else its offset, "UTC+5:30". */
export function zoneAbbr(tz, at = new Date()) {
  let offset = "";
  for (const locale of ["en-US", "en-GB"]) { // each knows abbreviations the other writes as offsets
    const name = zoneNamePart(tz, at, locale);
    if (name && !/^GMT[+-−]/.test(name)) return name;
    offset = offset || name;
  }
  return offset.replace(/^GMT/, "UTC");
}

/** A zone as people say it: "UTC", "Berlin time (CET)", "New York time (EST)"; never "Etc/UTC". */
export function zoneLabel(tz, at = new Date()) {
  if (!tz || UTC_ZONES.has(tz)) return "UTC";
  let abbr;
  try {
    abbr = zoneAbbr(tz, at);
  } catch {
    return tz.replace(/_/g, " "); // a zone this browser does not know
  }
  if (tz.startsWith("Etc/")) return abbr; // "Etc/GMT+5" is just an offset
  const city = tz.split("/").pop().replace(/_/g, " ");
  return `${city} time (${abbr})`;
}

/** Whether clocks in zones `a` and `b` show different times at `at`. */
export function zonesDiffer(a, b, at = new Date()) {
  try {
    return offsetMs(at, a) !== offsetMs(at, b);
  } catch {
    return a !== b;
  }
}

/** "Monday 23 November" style for "YYYY-MM-DD" (or a local date-time). */
export function fmtDay(day, opts = { weekday: "long", day: "numeric", month: "long" }) {
  return fmt({ timeZone: "UTC", ...opts }).format(wallDate(day.slice(0, 10)));
}

export function fmtWeekdayShort(day) {
  return fmt({ timeZone: "UTC", weekday: "short" }).format(wallDate(day));
}

/** An instant shown in the settings' zone, e.g. for "snoozed until". */
export function fmtInstant(date, tz, opts = { hour: "numeric", minute: "2-digit" }) {
  return fmt({ timeZone: tz, ...opts }).format(date);
}

/** 95 → "1 h 35 min". */
export function fmtDuration(minutes) {
  const m = Math.max(0, Math.round(minutes));
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  const r = m % 60;
  return r ? `${h} h ${r} min` : `${h} h`;
}

/** A live countdown: "12:04", "1:02:03", or "2 d 3 h" when far away. */
export function fmtCountdown(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86400);
  if (days >= 1) return `${days} d ${Math.floor((total % 86400) / 3600)} h`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** "3 min ago", "in 2 hours". */
export function fmtRelative(date, now = new Date()) {
  const diff = (date.getTime() - now.getTime()) / 1000;
  const abs = Math.abs(diff);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (abs < 60) return rtf.format(Math.round(diff), "second");
  if (abs < 3600) return rtf.format(Math.round(diff / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(diff / 3600), "hour");
  return rtf.format(Math.round(diff / 86400), "day");
}

/** Describe reminder offsets: [0, 15] → "at the start, 15 min before". */
export function describeOffsets(offsets) {
  if (!offsets || !offsets.length) return "none";
  return [...offsets]
    .sort((a, b) => a - b)
    .map((o) => (o === 0 ? "at the start" : `${fmtDuration(o)} before`))
    .join(", ");
}

const DAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
export { DAY_CODES };

/** The weekly days of a simple "FREQ=WEEKLY;BYDAY=…" rule, or null if the rule is anything else. */
export function weeklyDays(rrule) {
  if (!rrule) return null;
  const parts = Object.fromEntries(
    rrule.replace(/^RRULE:/i, "").split(";").filter(Boolean).map((p) => p.split("=").map((s) => s.trim().toUpperCase())),
  );
  const keys = Object.keys(parts).filter((k) => k !== "WKST");
  if (parts.FREQ !== "WEEKLY" || !parts.BYDAY || keys.some((k) => k !== "FREQ" && k !== "BYDAY")) return null;
  const days = parts.BYDAY.split(",");
  return days.every((d) => DAY_CODES.includes(d)) ? days : null;
}
