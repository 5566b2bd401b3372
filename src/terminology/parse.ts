/**
 * Parsers of the CMS/CDC release files (pure: text in, release out). Each file's layout is detected
 * from its content, so a folder or zip as CMS publishes it can be imported without naming each file.
 */
import type { Concept, MceEntry, Release } from './model.js';
import { CARC, HCPCS, ICD10CM, ICD10PCS, RARC, normalizeCode } from './systems.js';
import { parseTabularXml } from './tabular.js';
import { parseIndexXml } from './index-xml.js';

/** CSV (quoted fields and doubled quotes within a line; CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if (!line.includes('"')) { rows.push(line.split(',')); continue; }
    const row: string[] = [];
    let i = 0;
    while (i <= line.length) {
      if (line[i] === '"') {
        // quoted field: up to the closing quote that is not doubled
        let j = i + 1;
        let v = '';
        for (;;) {
          const q = line.indexOf('"', j);
          if (q < 0) { v += line.slice(j); j = line.length; break; }
          v += line.slice(j, q);
          if (line[q + 1] === '"') { v += '"'; j = q + 2; } else { j = q + 1; break; }
        }
        row.push(v);
        i = j + 1; // skip the comma
      } else {
        let c = line.indexOf(',', i);
        if (c < 0) c = line.length;
        row.push(line.slice(i, c));
        i = c + 1;
      }
    }
    rows.push(row);
  }
  return rows;
}

export interface Period { version: string; effectiveFrom: string; effectiveTo?: string }

/**
 * The federal fiscal year a CMS/CDC file name belongs to: `...2026...` is FY2026 (1 Oct 2025 to
 * 30 Sep 2026); an April update (`April-1-2026`) starts on 1 April.
 */
export function periodFromName(name: string, prefix = 'FY'): Period | undefined {
  const m = /(?:^|[^0-9])(20\d\d)(?:[^0-9]|$)/.exec(name);
  if (!m) return undefined;
  const y = Number(m[1]);
  if (/april/i.test(name)) return { version: `${prefix}${y}-April`, effectiveFrom: `${y}-04-01`, effectiveTo: `${y}-09-30` };
  return { version: `${prefix}${y}`, effectiveFrom: `${y - 1}-10-01`, effectiveTo: `${y}-09-30` };
}

/** CDC ICD-10-CM order file: fixed width (order 0-5, code 6-13, billable 14, short 16-75, long 77-). */
export function parseIcd10cmOrder(text: string): Concept[] {
  const out: Concept[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.length < 16) continue;
    out.push({
      code: line.slice(6, 13).trim(),
      billable: line[14] === '1',
      short: line.slice(16, 76).trim(),
      display: line.slice(77).trim(),
    });
  }
  return out;
}

/** The same order file as CSV (order_number, code, valid_billing_code, short, long[, poa_exempt, chronic_indicator]). */
export function parseOrderCsv(text: string): Concept[] {
  const rows = parseCsv(text);
  const head = rows[0]!.map((h) => h.toLowerCase());
  const col = (re: RegExp): number => head.findIndex((h) => re.test(h));
  const iCode = col(/_code$/), iValid = col(/valid/), iShort = col(/short/), iLong = col(/long/), iPoa = col(/poa/), iClass = col(/class/);
  const out: Concept[] = [];
  for (const r of rows.slice(1)) {
    const c: Concept = { code: normalizeCode(r[iCode]!), billable: r[iValid] === '1', short: r[iShort] ?? '', display: r[iLong] ?? '' };
    if (iPoa >= 0 && r[iPoa]) c.poaExempt = r[iPoa] === 'Y';
    if (iClass >= 0 && r[iClass]) c.kind = r[iClass];
    out.push(c);
  }
  return out;
}

/** CMS HCPCS Level II annual file (fixed width: code 0-4, record id 10: 3/7 first line, 4/8 continuation; long 11-90, short 91-118). */
export function parseHcpcsAnweb(text: string): Concept[] {
  const out: Concept[] = [];
  let last: Concept | undefined;
  for (const line of text.split(/\r?\n/)) {
    const rid = line[10];
    const code = line.slice(0, 5).trim();
    if (!/^[A-Z0-9]{2,5}$/.test(code)) continue;
    const long = line.slice(11, 91).trim();
    if (rid === '3' || rid === '7') {
      last = { code, billable: true, display: long, short: line.slice(91, 119).trim(), kind: rid === '3' ? 'procedure' : 'modifier' };
      out.push(last);
    } else if ((rid === '4' || rid === '8') && last && last.code === code) {
      last.display = `${last.display} ${long}`.trim();
    }
  }
  return out;
}

/** HCPCS as CSV: code, record_type (procedure|modifier), long_description, short_description. */
export function parseHcpcsCsv(text: string): Concept[] {
  const rows = parseCsv(text);
  return rows.slice(1).map((r) => ({ code: r[0]!.trim(), kind: r[1], display: r[2] ?? '', short: r[3] ?? '', billable: true }));
}

/** CARC/RARC lists: code, description[, start, last_modified, stop, ...]. Stopped codes stay, marked not billable (inactive). */
export function parseAdjustmentCsv(text: string): Concept[] {
  const rows = parseCsv(text);
  const head = rows[0]!.map((h) => h.toLowerCase());
  const iStop = head.indexOf('stop');
  return rows.slice(1).filter((r) => r[0]).map((r) => ({ code: r[0]!.trim(), display: (r[1] ?? '').trim(), billable: !(iStop >= 0 && r[iStop]) }));
}

/** MCE simple edits (tab separated: MCE_Version, ICD_Version, section, subsection, edit type, D/P, code, description). */
export function parseMce(text: string): { version: string; entries: MceEntry[] } {
  const entries: MceEntry[] = [];
  let version = '';
  for (const line of text.split(/\r?\n/).slice(1)) {
    const f = line.split('\t');
    if (f.length < 7 || f[1] !== '10') continue;
    version = f[0]!;
    entries.push({ type: f[4]!, codeType: f[5] === 'P' ? 'P' : 'D', code: normalizeCode(f[6]!) });
  }
  return { version, entries };
}

/** MCE version to fiscal year: v37 is FY2020 (MCE versions advance one per fiscal year). */
export function mcePeriod(version: string): Period {
  const fy = Number(version) + 1983;
  return { version: `v${version}`, effectiveFrom: `${fy - 1}-10-01`, effectiveTo: `${fy}-09-30` };
}

/** CDC POA-exempt list (tab separated: order, code with dot, description). */
export function parsePoaExempt(text: string): string[] {
  return text.split(/\r?\n/).slice(1).map((l) => l.split('\t')[1]).filter((c): c is string => !!c).map(normalizeCode);
}

export type FileKind = 'icd10cm-order' | 'icd10cm-order-csv' | 'icd10pcs-order' | 'icd10pcs-order-csv' | 'icd10cm-tabular' | 'hcpcs-anweb' | 'hcpcs-csv' | 'carc' | 'rarc' | 'mce' | 'poa-exempt' | 'icd10cm-index';

/** Recognises a release file from its name and first lines; undefined when it is not one we import. */
export function detectFile(name: string, head: string): FileKind | undefined {
  const n = name.toLowerCase();
  const first = head.split(/\r?\n/)[0] ?? '';
  if (head.includes('<ICD10CM.tabular>')) return 'icd10cm-tabular';
  if (head.includes('<ICD10CM.index>')) return 'icd10cm-index';
  if (/^MCE_Version\t/.test(first)) return 'mce';
  if (/^Order\d*\tPOAexemptCode/i.test(first)) return 'poa-exempt';
  if (/icd10cm_code/i.test(first)) return 'icd10cm-order-csv';
  if (/icd10pcs_code/i.test(first)) return 'icd10pcs-order-csv';
  if (/^code,record_type/i.test(first) && n.includes('hcpc')) return 'hcpcs-csv';
  if (/^code,description/i.test(first)) {
    if (n.includes('rarc')) return 'rarc';
    if (n.includes('carc') || n.includes('rsn')) return 'carc';
  }
  if (/^\d{5} [A-Z0-9]{3,7} +[01] /.test(first)) {
    return n.includes('pcs') || /^\d{5} \d/.test(first) ? 'icd10pcs-order' : 'icd10cm-order';
  }
  if (n.includes('hcpc') && n.includes('anweb')) return 'hcpcs-anweb';
  return undefined;
}

/** Parses one release file already recognised by detectFile. */
export function parseReleaseFile(kind: FileKind, name: string, text: string, override?: Partial<Period>): Release {
  const base = (system: string, fallback: Period, prefix?: string): Pick<Release, 'system' | 'version' | 'effectiveFrom' | 'effectiveTo' | 'source'> => {
    const p = { ...(periodFromName(name, prefix) ?? fallback), ...override };
    const r: Pick<Release, 'system' | 'version' | 'effectiveFrom' | 'effectiveTo' | 'source'> = { system, version: p.version!, effectiveFrom: p.effectiveFrom!, source: name };
    if (p.effectiveTo) r.effectiveTo = p.effectiveTo;
    return r;
  };
  const unknownPeriod: Period = { version: 'unknown', effectiveFrom: '1900-01-01' };
  switch (kind) {
    case 'icd10cm-order': return { ...base(ICD10CM, unknownPeriod), kind: 'codes', concepts: parseIcd10cmOrder(text) };
    case 'icd10cm-order-csv': return { ...base(ICD10CM, unknownPeriod), kind: 'codes', concepts: parseOrderCsv(text) };
    case 'icd10pcs-order': return { ...base(ICD10PCS, unknownPeriod), kind: 'codes', concepts: parseIcd10cmOrder(text) };
    case 'icd10pcs-order-csv': return { ...base(ICD10PCS, unknownPeriod), kind: 'codes', concepts: parseOrderCsv(text) };
    case 'icd10cm-tabular': {
      const t = parseTabularXml(text);
      const p = { ...periodFromName(`fy${t.version}`), ...override } as Period;
      const r: Release = { system: ICD10CM, kind: 'tabular', version: p.version, effectiveFrom: p.effectiveFrom, source: name, tabular: t.entries };
      if (p.effectiveTo) r.effectiveTo = p.effectiveTo;
      return r;
    }
    case 'hcpcs-anweb': {
      const y = /(20\d\d)/.exec(name)?.[1] ?? '1900';
      return { ...base(HCPCS, unknownPeriod), version: override?.version ?? `CY${y}`, effectiveFrom: override?.effectiveFrom ?? `${y}-01-01`, effectiveTo: override?.effectiveTo ?? `${y}-12-31`, kind: 'codes', concepts: parseHcpcsAnweb(text) };
    }
    case 'hcpcs-csv': {
      const y = /(20\d\d)/.exec(name)?.[1] ?? '1900';
      return { ...base(HCPCS, unknownPeriod), version: override?.version ?? `CY${y}`, effectiveFrom: override?.effectiveFrom ?? `${y}-01-01`, effectiveTo: override?.effectiveTo ?? `${y}-12-31`, kind: 'codes', concepts: parseHcpcsCsv(text) };
    }
    case 'carc':
    case 'rarc': {
      const p = { version: /(20\d\d-\d\d-\d\d)/.exec(name)?.[1] ?? 'current', effectiveFrom: '1997-01-01', ...override };
      const r: Release = { system: kind === 'carc' ? CARC : RARC, kind: 'codes', version: p.version, effectiveFrom: p.effectiveFrom, source: name, concepts: parseAdjustmentCsv(text) };
      if (p.effectiveTo) r.effectiveTo = p.effectiveTo;
      return r;
    }
    case 'mce': {
      const m = parseMce(text);
      const p = { ...mcePeriod(m.version), ...override };
      const r: Release = { system: ICD10CM, kind: 'mce', version: p.version, effectiveFrom: p.effectiveFrom, source: name, mce: m.entries };
      if (p.effectiveTo) r.effectiveTo = p.effectiveTo;
      return r;
    }
    case 'icd10cm-index': {
      const x = parseIndexXml(text);
      const p = { ...(periodFromName(name) ?? periodFromName(`fy${x.version}`)), ...override } as Period;
      const r: Release = { system: ICD10CM, kind: 'index', version: `${p.version} ${x.table}`, effectiveFrom: p.effectiveFrom, source: name, index: x.terms };
      if (p.effectiveTo) r.effectiveTo = p.effectiveTo;
      return r;
    }
    case 'poa-exempt': return { ...base(ICD10CM, unknownPeriod), kind: 'poa-exempt', poaExempt: parsePoaExempt(text) };
  }
}
