/** Normalising a PersonRecord once into the values the comparisons and blocking rules use. */
import { doubleMetaphone } from 'double-metaphone';
import type { MatcherConfig, PersonRecord } from './types.js';

export interface Prepared {
  id: string;
  given: string[];
  givenCodes: string[][];
  family: string;
  familyCodes: string[];
  previousFamily: string[];
  /** YYYYMMDD digits (shorter when partial); '' when missing. */
  dob: string;
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

function normText(s: string | undefined): string {
  if (!s) return '';
  return s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9 ]/g, ' ').replace(/\s+/g, ' ').trim();
}

function digits(s: string | undefined): string {
  return s ? s.replace(/\D/g, '') : '';
}

/** Birth date as YYYYMMDD digits; US M/D/YYYY is read too; partial dates give fewer digits. */
export function normDate(s: string | undefined): string {
  if (!s) return '';
  const t = s.trim();
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(t);
  if (us) return `${us[3]}${us[1]!.padStart(2, '0')}${us[2]!.padStart(2, '0')}`;
  const iso = /^(\d{4})(?:-?(\d{2}))?(?:-?(\d{2}))?/.exec(t);
  if (!iso) return '';
  return `${iso[1]}${iso[2] ?? ''}${iso[3] ?? ''}`;
}

function normStreet(s: string): { number: string; street: string } {
  let t = normText(s).replace(UNIT_WORDS, '').trim();
  const m = /^(\d+[a-z]?)\s+(.*)$/.exec(t);
  let number = '';
  if (m) {
    number = m[1]!;
    t = m[2]!;
  }
  const street = t.split(' ').filter(Boolean).map((w) => STREET_WORDS[w] ?? w).join('');
  return { number, street };
}

function codes(name: string): string[] {
  if (!name) return [];
  const [p, s] = doubleMetaphone(name);
  return p === s ? [p] : [p, s];
}

export function prepare(r: PersonRecord, config: MatcherConfig): Prepared {
  const skipAny = new Set(config.skipValues.any.map(normName));
  const skipGiven = new Set([...config.skipValues.given, ...config.skipValues.any].map(normName));
  const skipFamily = new Set([...config.skipValues.family, ...config.skipValues.any].map(normName));
  const fullName = normName(`${r.given?.[0] ?? ''}${r.family ?? ''}`);
  const placeholder = config.skipValues.fullName.some((n) => normName(n) === fullName);
  const given = placeholder ? [] : (r.given ?? []).map(normName).filter((g) => g && !skipGiven.has(g));
  const familyRaw = normName(r.family);
  const family = placeholder || skipFamily.has(familyRaw) ? '' : familyRaw;
  const addr = r.address ?? {};
  const line = addr.line ?? [addr.number, addr.street].filter(Boolean).join(' ');
  const st = normStreet(line);
  const clean = (v: string): string => (skipAny.has(normName(v)) ? '' : v);
  const ssn = digits(r.ssn);
  return {
    id: r.id,
    given,
    givenCodes: given.map(codes),
    family,
    familyCodes: codes(family),
    previousFamily: (r.previousFamily ?? []).map(normName).filter((f) => f && f !== family),
    dob: normDate(r.birthDate),
    sex: clean(normName(r.sex)).slice(0, 1),
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
