/** Labelled benchmark files (text in, records and truth out): FEBRL, Splink fake_1000, CDC RecordLinker. */
import type { PersonRecord } from './types.js';

/** RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.length > 1 || (r[0] ?? '') !== '');
}

function objects(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  const names = header.map((h) => h.trim());
  return rows.map((r) => Object.fromEntries(names.map((n, i) => [n, (r[i] ?? '').trim()])));
}

export interface LabelledSet {
  records: PersonRecord[];
  /** Truth: the cluster (entity) of each record, by index. */
  clusters: string[];
}

const opt = (s: string | undefined): string | undefined => (s ? s : undefined);

/** FEBRL: rec-N-org / rec-N-dup-k share entity N. */
export function parseFebrl(text: string): LabelledSet {
  const rows = objects(text);
  return {
    records: rows.map((r) => ({
      id: r.rec_id!,
      given: r.given_name ? [r.given_name] : undefined,
      family: opt(r.surname),
      birthDate: opt(r.date_of_birth),
      address: { number: opt(r.street_number), street: opt(r.address_1), city: opt(r.suburb), state: opt(r.state), postcode: opt(r.postcode) },
      ssn: opt(r.soc_sec_id),
    })),
    clusters: rows.map((r) => /^rec-(\d+)-/.exec(r.rec_id ?? '')?.[1] ?? r.rec_id!),
  };
}

/** Splink's fake_1000: unique_id, first_name, surname, dob, city, email, cluster. */
export function parseSplink(text: string): LabelledSet {
  const rows = objects(text);
  return {
    records: rows.map((r) => ({
      id: r.unique_id!,
      given: r.first_name ? [r.first_name] : undefined,
      family: opt(r.surname),
      birthDate: opt(r.dob),
      address: { city: opt(r.city) },
      email: r.email ? [r.email] : undefined,
    })),
    clusters: rows.map((r) => r.cluster!),
  };
}

function cdcRecord(r: Record<string, string>, id: string): PersonRecord {
  return {
    id,
    given: r.FIRST ? [r.FIRST] : undefined,
    family: opt(r.LAST),
    previousFamily: r.MAIDEN ? [r.MAIDEN] : undefined,
    suffix: opt(r.SUFFIX),
    birthDate: opt(r.BIRTHDATE),
    sex: opt(r.GENDER),
    address: { line: opt(r.ADDRESS), city: opt(r.CITY), state: opt(r.STATE), postcode: opt(r.ZIP) },
    ssn: opt(r.SSN),
  };
}

export interface CdcCase {
  caseId: string;
  record: PersonRecord;
  /** The seed record the case is about (by Match Id). */
  matchId: string;
  expected: 'match' | 'possible_match' | 'no_match' | 'failed';
}

/** CDC RecordLinker: a seed index (Match Id per person) and test cases with an Expected Result. */
export function parseCdc(seedText: string, testText: string): { seed: PersonRecord[]; cases: CdcCase[] } {
  const seed = objects(seedText).map((r) => cdcRecord(r, r['Match Id']!));
  const cases = objects(testText).map((r) => ({
    caseId: r['Test Case #']!,
    record: cdcRecord(r, `case-${r['Test Case #']}`),
    matchId: r['Match Id']!,
    expected: r['Expected Result']!.toLowerCase() as CdcCase['expected'],
  }));
  return { seed, cases };
}
