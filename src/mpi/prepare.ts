/** Normalising a PersonRecord once into the values the comparisons and blocking rules use. */
import { doubleMetaphone } from 'double-metaphone';
import type { MatcherConfig, PersonRecord } from './types.js';

export interface Prepared {
  id: string;
  given: string[];
  givenCodes: string[][];
  family: string;
  familyCodes: string[];
  /**
   * The parts of a family name written as several (Garcia-Lopez, Van Dyke), each of four letters
   * or more; empty for a one-part name. A part alone is the same family name (a double-barrelled
   * name shortened); a name that merely begins like another (Smithsonia, Smith) is not.
   */
  familyParts: string[];
  previousFamily: string[];
  /** YYYYMMDD digits (shorter when partial); '' when missing or unreadable. */
  dob: string;
  /** A birth date was recorded but is not a possible one (no such day, in the future, unreadable). */
  dobInvalid: boolean;
  sex: string;
  number: string;
  street: string;
  city: string;
  state: string;
  postcode: string;
  ssn: string;
  identifiers: string[];
  phone: string[];
  email: string[];
}

const STREET_WORDS: Record<string, string> = {
  street: 'st', str: 'st', road: 'rd', avenue: 'ave', av: 'ave', drive: 'dr', lane: 'ln', place: 'pl', court: 'ct',
  crescent: 'cres', boulevard: 'blvd', parkway: 'pkwy', highway: 'hwy', terrace: 'tce', circle: 'cir', square: 'sq',
  north: 'n', south: 's', east: 'e', west: 'w', mount: 'mt', point: 'pt', route: 'rte', trail: 'trl', way: 'way',
};
const UNIT_WORDS = /\b(apt|apartment|unit|suite|ste|flat|room|rm|#)\b.*$/;

/** Lower case, no accents, letters only. */
export function normName(s: string | undefined): string {
  if (!s) return '';
  return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z]/g, '');
}

/**
 * Administrative sex as the comparison reads it: male or female. Anything else (other, unknown, a
 * value garbled in transfer such as "sZF") is no evidence either way, as FHIR's other and unknown
 * already are (fhir-person.ts), rather than a disagreement.
 */
const SEX_CODES: Record<string, string> = { m: 'm', male: 'm', man: 'm', f: 'f', female: 'f', woman: 'f' };

/** The parts of a name written as several (split at spaces and hyphens), of four letters or more. */
function nameParts(s: string | undefined): string[] {
  const parts = (s ?? '').split(/[\s\-\u2010\u2011]+/).map(normName).filter(Boolean);
  return parts.length > 1 ? parts.filter((p) => p.length >= 4) : [];
}

function normText(s: string | undefined): string {
  if (!s) return '';
  return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9 ]/g, ' ').replace(/\s+/g, ' ').trim();
}

function digits(s: string | undefined): string {
  return s ? s.replace(/\D/g, '') : '';
}

/**
 * Birth date as YYYYMMDD digits; US M/D/YYYY and M/D/YY are read too (a two-digit year is taken as
 * 20YY when that is not after `today`, else 19YY); partial dates give fewer digits. `invalid` when a
 * value was written but is no possible birth date: unreadable, no such month or day, or in the future.
 */
export function parseBirthDate(s: string | undefined, today: Date = new Date()): { dob: string; invalid: boolean } {
  const t = (s ?? '').trim();
  if (!t) return { dob: '', invalid: false };
  let y: string;
  let m: string | undefined;
  let d: string | undefined;
  const us = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})$/.exec(t);
  const iso = /^(\d{4})(?:[-/]?(\d{2}))?(?:[-/]?(\d{2}))?(?:T.*)?$/.exec(t);
  if (us) {
    const yy = us[3]!;
    const cur = today.getUTCFullYear();
    y = yy.length === 4 ? yy : String(Number(yy) + 2000 <= cur ? 2000 + Number(yy) : 1900 + Number(yy));
    m = us[1]!.padStart(2, '0');
    d = us[2]!.padStart(2, '0');
  } else if (iso) {
    [y, m, d] = [iso[1]!, iso[2], iso[3]];
  } else return { dob: '', invalid: true };
  const year = Number(y);
  // The digits are kept even when invalid, so that a typo can still be compared as one.
  const dob = `${y}${m ?? ''}${d ?? ''}`;
  if (m !== undefined && (Number(m) < 1 || Number(m) > 12)) return { dob, invalid: true };
  if (m !== undefined && d !== undefined) {
    const days = new Date(Date.UTC(year, Number(m), 0)).getUTCDate();
    if (Number(d) < 1 || Number(d) > days) return { dob, invalid: true };
  }
  const todayDigits = today.toISOString().slice(0, 10).replace(/-/g, '');
  if (dob > todayDigits.slice(0, dob.length) || year < 1850) return { dob, invalid: true };
  return { dob, invalid: false };
}

/**
 * YYYYMMDD digits with no such month (13 and over) read day first, when that is a possible date
 * (1950-18-10 as 18 October 1950: another system's day-first order rather than a typo); else
 * undefined.
 */
export function dayFirstReading(dob: string): string | undefined {
  if (dob.length !== 8) return undefined;
  const year = Number(dob.slice(0, 4));
  const first = Number(dob.slice(4, 6));
  const second = Number(dob.slice(6, 8));
  if (first <= 12 || second < 1 || second > 12 || first > new Date(Date.UTC(year, second, 0)).getUTCDate()) return undefined;
  return `${dob.slice(0, 4)}${dob.slice(6, 8)}${dob.slice(4, 6)}`;
}

/** Birth date as YYYYMMDD digits ('' when missing or unreadable). */
export function normDate(s: string | undefined, today?: Date): string {
  return parseBirthDate(s, today).dob;
}

/**
 * The street line of an address: when the line holds several parts (a care-of or organisation line
 * before the street, separated by a comma or a line break), the part that starts with a house number.
 */
function streetLine(s: string): string {
  const parts = s.split(/,|\r?\n|\\n/).map((x) => x.trim()).filter(Boolean);
  return parts.length > 1 ? (parts.find((x) => /^\d/.test(x)) ?? s) : s;
}

function normStreet(s: string): { number: string; street: string } {
  let t = normText(streetLine(s)).replace(UNIT_WORDS, '').trim();
  const m = /^(\d+[a-z]?)\s+(.*)$/.exec(t);
  let number = '';
  if (m) {
    // 00709 and 709 are one house number.
    number = m[1]!.replace(/^0+(?=\d)/, '');
    t = m[2]!;
  }
  const street = t.split(' ').filter(Boolean).map((w) => STREET_WORDS[w] ?? w).join('');
  return { number, street };
}

/** The double metaphone codes of a normalised name (one when primary and alternate agree). */
export function nameCodes(name: string): string[] {
  if (!name) return [];
  const [p, s] = doubleMetaphone(name);
  return p === s ? [p] : [p, s];
}

interface SkipSets {
  any: Set<string>;
  given: Set<string>;
  family: Set<string>;
  fullName: Set<string>;
}
const skipCache = new WeakMap<MatcherConfig['skipValues'], SkipSets>();
function skipSets(config: MatcherConfig): SkipSets {
  let s = skipCache.get(config.skipValues);
  if (!s) {
    const v = config.skipValues;
    s = {
      any: new Set(v.any.map(normName)),
      given: new Set([...v.given, ...v.any].map(normName)),
      family: new Set([...v.family, ...v.any].map(normName)),
      fullName: new Set(v.fullName.map(normName)),
    };
    skipCache.set(config.skipValues, s);
  }
  return s;
}

export function prepare(r: PersonRecord, config: MatcherConfig, today: Date = new Date()): Prepared {
  const { any: skipAny, given: skipGiven, family: skipFamily, fullName: skipFull } = skipSets(config);
  const fullName = normName(`${r.given?.[0] ?? ''}${r.family ?? ''}`);
  const placeholder = skipFull.has(fullName);
  const given = placeholder ? [] : (r.given ?? []).map(normName).filter((g) => g && !skipGiven.has(g));
  const familyRaw = normName(r.family);
  const family = placeholder || skipFamily.has(familyRaw) ? '' : familyRaw;
  const addr = r.address ?? {};
  const line = addr.line ?? [addr.number, addr.street].filter(Boolean).join(' ');
  const st = normStreet(line);
  const clean = (v: string): string => (skipAny.has(normName(v)) ? '' : v);
  const ssn = digits(r.ssn);
  const birth = skipAny.has(normName(r.birthDate)) ? { dob: '', invalid: false } : parseBirthDate(r.birthDate, today);
  return {
    id: r.id,
    given,
    givenCodes: given.map(nameCodes),
    family,
    familyCodes: nameCodes(family),
    familyParts: family ? nameParts(r.family) : [],
    previousFamily: (r.previousFamily ?? []).map(normName).filter((f) => f && f !== family),
    dob: birth.dob,
    dobInvalid: birth.invalid,
    sex: SEX_CODES[normName(r.sex)] ?? '',
    number: st.number,
    street: st.street,
    city: clean(normText(addr.city).replace(/ /g, '')),
    state: clean(normText(addr.state)),
    postcode: digits(addr.postcode) || normText(addr.postcode).replace(/ /g, ''),
    ssn: ssn.length >= 4 && !/^0+$/.test(ssn) ? ssn : '',
    identifiers: (r.identifiers ?? []).filter(Boolean),
    phone: (r.phone ?? []).map((p) => digits(p).slice(-10)).filter((p) => p.length >= 7),
    email: (r.email ?? []).map((e) => e.trim().toLowerCase()).filter((e) => e.includes('@')),
  };
}
