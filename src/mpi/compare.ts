/**
 * Field comparisons. Each returns a level index (0 = best, last = disagreement) or -1 when either
 * value is missing. Levels follow the labels in default-config.ts.
 */
import damerauLevenshtein from 'talisman/metrics/damerau-levenshtein.js';
import { areNicknames } from './nicknames.js';
import { jaroWinkler, sameRun, withinOneEdit } from './string-metrics.js';
import type { Prepared } from './prepare.js';
import type { ComparisonKind, MatcherConfig } from './types.js';

type Sim = MatcherConfig['similarity'];

const shareCode = (a: string[], b: string[]): boolean => a.some((c) => c.length > 0 && b.includes(c));

/**
 * exact / similar (typo, phonetic, nickname) / fuzzy (weaker, initial) / else. `jw`, when given, is
 * jaroWinkler(a, b) already computed.
 */
export function nameLevel(a: string, b: string, ac: string[], bc: string[], sim: Sim, jw?: number): number {
  if (a === b) return 0;
  if (a.length === 1 || b.length === 1) return a[0] === b[0] ? 2 : 3;
  jw ??= jaroWinkler(a, b);
  if (jw >= sim.high || areNicknames(a, b) || (shareCode(ac, bc) && damerauLevenshtein(a, b) <= 2)) return 1;
  if (jw >= sim.low || shareCode(ac, bc) || a.startsWith(b) || b.startsWith(a)) return 2;
  return 3;
}

function givenLevel(a: Prepared, b: Prepared, sim: Sim): number {
  if (!a.given.length || !b.given.length) return -1;
  let best = nameLevel(a.given[0]!, b.given[0]!, a.givenCodes[0]!, b.givenCodes[0]!, sim);
  // A first name recorded as a middle name (or the reverse) counts, one level lower.
  for (let i = 0; i < a.given.length && best > 1; i++) {
    for (let j = 0; j < b.given.length; j++) {
      if (i === 0 && j === 0) continue;
      const l = Math.max(1, nameLevel(a.given[i]!, b.given[j]!, a.givenCodes[i]!, b.givenCodes[j]!, sim) + 1);
      if (l < best) best = Math.min(l, 3);
    }
  }
  return best;
}

function familyLevel(a: Prepared, b: Prepared, sim: Sim): number {
  if (!a.family || !b.family) return -1;
  const level = nameLevel(a.family, b.family, a.familyCodes, b.familyCodes, sim);
  if (level <= 1) return level;
  // Maiden / previous names and double-barrelled names count as similar.
  // A name change: one record's current name is the other's previous (maiden) name. Two records
  // that share only a previous name say nothing about the current one.
  if (a.previousFamily.includes(b.family) || b.previousFamily.includes(a.family)) return 1;
  // One part of a double-barrelled name (Garcia for Garcia-Lopez); a longer name that only begins
  // or ends like the other (Smithsonia, Smith) is left to the string similarity.
  if (a.familyParts.includes(b.family) || b.familyParts.includes(a.family)) return 1;
  return level;
}

/** exact / one edit or day-month swap / year-month or year-day equal / else. */
export function dateLevel(a: string, b: string): number {
  if (!a || !b) return -1;
  if (a === b) return 0;
  if (a.length !== b.length) {
    const n = Math.min(a.length, b.length);
    return sameRun(a, 0, b, 0, n) ? 2 : 3;
  }
  if (a.length === 8) {
    const year = sameRun(a, 0, b, 0, 4);
    if (year && sameRun(a, 4, b, 6, 2) && sameRun(a, 6, b, 4, 2)) return 1;
    if (withinOneEdit(a, b)) return 1;
    const same = Number(year) + Number(sameRun(a, 4, b, 4, 2)) + Number(sameRun(a, 6, b, 6, 2));
    if (same >= 2) return 2;
    return 3;
  }
  return withinOneEdit(a, b) ? 1 : 3;
}

export function exactLevel(a: string, b: string): number {
  if (!a || !b) return -1;
  return a === b ? 0 : 1;
}

export function typoLevel(a: string, b: string): number {
  if (!a || !b) return -1;
  if (a === b) return 0;
  return withinOneEdit(a, b) ? 1 : 2;
}

/** exact / last four digits equal (one side holds only the last four) / one digit or transposition / else. */
export function ssnLevel(a: string, b: string): number {
  if (!a || !b) return -1;
  if (a === b) return 0;
  if (a.length <= 4 || b.length <= 4) return a.slice(-4) === b.slice(-4) ? 1 : 3;
  return a.length === b.length && withinOneEdit(a, b) ? 2 : 3;
}

export function stringLevel(a: string, b: string, sim: Sim): number {
  if (!a || !b) return -1;
  if (a === b) return 0;
  return jaroWinkler(a, b) >= sim.high ? 1 : 2;
}

/** exact / number equal and street similar (or street equal and number a typo) / street similar / else. */
export function streetLevel(a: Prepared, b: Prepared, sim: Sim): number {
  if (!a.street || !b.street) return -1;
  const sameNo = a.number !== '' && a.number === b.number;
  if (a.street === b.street && (sameNo || (!a.number && !b.number))) return 0;
  const jw = jaroWinkler(a.street, b.street);
  const nearNo = sameNo || (a.number !== '' && b.number !== '' && withinOneEdit(a.number, b.number));
  if ((sameNo && jw >= sim.high) || (a.street === b.street && nearNo)) return 1;
  if (jw >= sim.high || (sameNo && jw >= sim.low)) return 2;
  return 3;
}

/**
 * The address as one comparison (street, postcode, city and state are not independent evidence:
 * a household shares all of them): exact / same street, locality similar / same street or same
 * number and locality / same locality only / different.
 */
export function addressLevel(a: Prepared, b: Prepared, sim: Sim): number {
  const street = streetLevel(a, b, sim);
  const pc = typoLevel(a.postcode, b.postcode);
  const city = stringLevel(a.city, b.city, sim);
  const locality = pc === 0 || (pc < 0 && city === 0) ? 0 : pc === 1 || city === 1 || (pc < 0 && city < 0) ? 1 : city === 0 ? 1 : 2;
  if (street < 0 && pc < 0 && city < 0) return -1;
  if (street === 0 && locality === 0) return 0;
  if (street >= 0 && street <= 1 && locality <= 1) return 1;
  if ((street >= 0 && street <= 2) || (street < 0 && locality === 0)) return locality <= 1 ? 2 : 3;
  if (locality === 0) return 3;
  return 4;
}

export function anyLevel(a: string[], b: string[], level: (x: string, y: string) => number): number {
  if (!a.length || !b.length) return -1;
  let best = Number.MAX_SAFE_INTEGER;
  for (const x of a) for (const y of b) best = Math.min(best, level(x, y));
  return best;
}

export function emailLevel(a: string, b: string, sim: Sim): number {
  if (a === b) return 0;
  const la = a.split('@')[0]!;
  const lb = b.split('@')[0]!;
  if (la === lb || jaroWinkler(a, b) >= sim.high) return 1;
  return jaroWinkler(a, b) >= sim.low ? 2 : 3;
}

/** Every comparison kind compareField knows (the column comparer indexes its kinds by this order). */
export const COMPARISON_KINDS: ComparisonKind[] = ['given', 'family', 'birthDate', 'sex', 'address', 'street', 'city', 'state', 'postcode', 'ssn', 'identifier', 'phone', 'email'];

export function compareField(kind: ComparisonKind, a: Prepared, b: Prepared, config: MatcherConfig): number {
  const sim = config.similarity;
  switch (kind) {
    case 'given':
      return givenLevel(a, b, sim);
    case 'family':
      return familyLevel(a, b, sim);
    case 'birthDate':
      return dateLevel(a.dob, b.dob);
    case 'sex':
      return exactLevel(a.sex, b.sex);
    case 'address':
      return addressLevel(a, b, sim);
    case 'street':
      return streetLevel(a, b, sim);
    case 'city':
      return stringLevel(a.city, b.city, sim);
    case 'state':
      return exactLevel(a.state, b.state);
    case 'postcode':
      return typoLevel(a.postcode, b.postcode);
    case 'ssn':
      return ssnLevel(a.ssn, b.ssn);
    case 'identifier':
      return identifierLevel(a.identifiers, b.identifiers);
    case 'phone':
      return anyLevel(a.phone, b.phone, typoLevel);
    case 'email':
      return anyLevel(a.email, b.email, (x, y) => emailLevel(x, y, sim));
  }
}

/** same identifier / different identifier in a shared system / -1 (none to compare). */
export function identifierLevel(a: string[], b: string[]): number {
  return anyLevel(a, b, (x, y) => (x === y ? 0 : x.split('|')[0] === y.split('|')[0] ? 1 : 2)) === 0 ? 0 : a.length && b.length && sharesSystem(a, b) ? 1 : -1;
}

function sharesSystem(a: string[], b: string[]): boolean {
  const sys = new Set(a.map((x) => x.split('|')[0]));
  return b.some((y) => sys.has(y.split('|')[0]));
}

/** The value a comparison shows in an explanation and keys its term frequency on. */
export function fieldValue(kind: ComparisonKind, p: Prepared): string {
  switch (kind) {
    case 'given':
      return p.given.join(' ');
    case 'family':
      return p.family;
    case 'birthDate':
      return p.dob;
    case 'sex':
      return p.sex;
    case 'address':
      return [p.number, p.street, p.city, p.state, p.postcode].filter(Boolean).join(' ');
    case 'street':
      return [p.number, p.street].filter(Boolean).join(' ');
    case 'city':
      return p.city;
    case 'state':
      return p.state;
    case 'postcode':
      return p.postcode;
    case 'ssn':
      return p.ssn;
    case 'identifier':
      return p.identifiers.join(', ');
    case 'phone':
      return p.phone.join(', ');
    case 'email':
      return p.email.join(', ');
  }
}

/** The value term frequencies are counted on (first given name, family name...). */
export function tfKey(kind: ComparisonKind, p: Prepared): string {
  return kind === 'given' ? (p.given[0] ?? '') : fieldValue(kind, p);
}

/**
 * When first and family names look transposed (a.given ~ b.family and a.family ~ b.given), the
 * comparison runs on b with the two swapped.
 */
export function alignNames(a: Prepared, b: Prepared, config: MatcherConfig): Prepared {
  const ag = a.given[0];
  const bg = b.given[0];
  if (!ag || !bg || !a.family || !b.family) return b;
  if (ag === bg || a.family === b.family) return b;
  const sim = config.similarity.high;
  if (jaroWinkler(ag, b.family) >= sim && jaroWinkler(a.family, bg) >= sim) {
    return { ...b, given: [b.family, ...b.given.slice(1)], givenCodes: [b.familyCodes, ...b.givenCodes.slice(1)], family: bg, familyCodes: b.givenCodes[0] ?? [] };
  }
  return b;
}

export function compareAll(a: Prepared, b: Prepared, config: MatcherConfig): number[] {
  const bb = alignNames(a, b, config);
  return config.comparisons.map((c) => compareField(c.kind, a, bb, config));
}

/** compareAll written into out[offset...] (no allocation per pair). */
export function compareInto(a: Prepared, b: Prepared, config: MatcherConfig, out: Int8Array, offset: number): void {
  const bb = alignNames(a, b, config);
  const cs = config.comparisons;
  for (let k = 0; k < cs.length; k++) out[offset + k] = compareField(cs[k]!.kind, a, bb, config);
}
