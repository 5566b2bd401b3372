/** CSV export (RFC 4180 quoting), used by the audit viewer. */
export function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : String(v);
  // neutralise spreadsheet formulas in exported data
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(headers: string[], rows: unknown[][]): string {
  return [headers, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
