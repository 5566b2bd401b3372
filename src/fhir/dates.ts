/** FHIR date, dateTime and instant values as the closed range of instants they denote. */

export interface InstantRange {
  lo: string; // ISO instant, or '-infinity'
  hi: string; // ISO instant, or 'infinity'
}

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** Range of a FHIR date/dateTime/instant, or undefined when the text is not one. Timezone-less times are read as UTC. */
export function dateRange(text: string): InstantRange | undefined {
  const m = DATE_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const year = Number(y);
  if (mo === undefined) {
    return { lo: iso(Date.UTC(year, 0, 1)), hi: iso(Date.UTC(year + 1, 0, 1) - 1) };
  }
  const month = Number(mo) - 1;
  if (month < 0 || month > 11) return undefined;
  if (d === undefined) {
    return { lo: iso(Date.UTC(year, month, 1)), hi: iso(Date.UTC(year, month + 1, 1) - 1) };
  }
  const day = Number(d);
  // (no 31 April, no 29 February outside leap years: Date.UTC would roll them into the next month)
  if (day < 1 || day > new Date(Date.UTC(year, month + 1, 0)).getUTCDate()) return undefined;
  if (h === undefined) {
    return { lo: iso(Date.UTC(year, month, day)), hi: iso(Date.UTC(year, month, day + 1) - 1) };
  }
  const offsetMin = tz && tz !== 'Z' ? (tz.startsWith('-') ? -1 : 1) * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) : 0;
  const base = Date.UTC(year, month, day, Number(h), Number(mi)) - offsetMin * 60_000;
  if (s === undefined) return { lo: iso(base), hi: iso(base + 60_000 - 1) };
  const secs = base + Number(s) * 1000;
  if (frac === undefined) return { lo: iso(secs), hi: iso(secs + 999) };
  const digits = frac.length - 1;
  const ms = Math.floor(Number(frac) * 1000);
  const width = digits >= 3 ? 1 : 10 ** (3 - digits);
  return { lo: iso(secs + ms), hi: iso(secs + ms + width - 1) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isValidDateText(text: string): boolean {
  return dateRange(text) !== undefined;
}
