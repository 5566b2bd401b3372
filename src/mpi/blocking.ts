/** Blocking: candidate pairs are the records sharing all keys of at least one rule. */
import type { Prepared } from './prepare.js';
import type { BlockingRule, MatcherConfig } from './types.js';

const ruleKeys = (rule: string[] | BlockingRule): string[] => (Array.isArray(rule) ? rule : rule.keys);
/** The largest block a rule compares (blocks above it are skipped). */
export const ruleCap = (rule: string[] | BlockingRule, config: MatcherConfig): number => (Array.isArray(rule) ? config.maxBlockSize : Math.min(rule.maxBlockSize, config.maxBlockSize));

/** The names blockingKey knows, for a configuration's rules. */
export const BLOCKING_KEYS = ['given', 'givenInitial', 'givenCode', 'family', 'familyInitial', 'familyCode', 'nameCodes', 'birthDate', 'birthYear', 'birthMonth', 'sex', 'postcode', 'street', 'ssn', 'email', 'phone'];

/** The value of one derived blocking key; '' means missing (the rule does not apply). */
export function blockingKey(name: string, p: Prepared): string {
  switch (name) {
    case 'given':
      return p.given[0] ?? '';
    case 'givenInitial':
      return p.given[0]?.[0] ?? '';
    case 'givenCode':
      return p.givenCodes[0]?.[0] ?? '';
    case 'family':
      return p.family;
    case 'familyInitial':
      return p.family[0] ?? '';
    case 'familyCode':
      return p.familyCodes[0] ?? '';
    case 'nameCodes': {
      const g = p.givenCodes[0]?.[0];
      const f = p.familyCodes[0];
      if (!g || !f) return '';
      return g < f ? `${g}|${f}` : `${f}|${g}`;
    }
    case 'birthDate':
      return p.dob.length === 8 ? p.dob : '';
    case 'birthYear':
      return p.dob.slice(0, 4);
    case 'birthMonth':
      return p.dob.slice(4, 6);
    case 'sex':
      return p.sex;
    case 'postcode':
      return p.postcode;
    case 'street':
      return p.street ? `${p.number} ${p.street}` : '';
    case 'ssn':
      return p.ssn;
    case 'email':
      return p.email[0] ?? '';
    case 'phone':
      return p.phone[0] ?? '';
    default:
      throw new Error(`Unknown blocking key ${name}`);
  }
}

/** The block size cap of a key as blockingKeys writes it ("ruleIndex:values"). */
export function keyCap(key: string, config: MatcherConfig): number {
  const rule = config.blocking[Number(key.slice(0, key.indexOf(':')))];
  return rule ? ruleCap(rule, config) : config.maxBlockSize;
}

/** The keys a record is filed under, one per applicable rule ("ruleIndex:values"). */
export function blockingKeys(p: Prepared, config: MatcherConfig): string[] {
  const out: string[] = [];
  config.blocking.forEach((rule, i) => {
    const parts = ruleKeys(rule).map((k) => blockingKey(k, p));
    if (parts.every((x) => x !== '')) out.push(`${i}:${parts.join('\u0001')}`);
  });
  return out;
}

export interface BlockingResult {
  /** Pairs as [i, j] with i < j (indexes into the records), each pair once. */
  pairs: Uint32Array;
  /** Blocks left out for being larger than maxBlockSize (too common a key to be informative). */
  skippedBlocks: number;
  /** Pairs each rule added (a pair is counted under the first rule that holds for it). */
  pairsByRule: number[];
}

/**
 * All candidate pairs in one data set (deduplication). Each rule's keys are interned to integers
 * (one Int32Array per rule, -1 where the rule does not apply); a pair is emitted by the first rule
 * that holds for it, so no set of seen pairs is needed and memory stays linear in the records.
 */
export function candidatePairs(records: Prepared[], config: MatcherConfig): BlockingResult {
  const n = records.length;
  const ids: Int32Array[] = [];
  let out = new Uint32Array(1 << 16);
  let len = 0;
  let skippedBlocks = 0;
  const pairsByRule: number[] = [];
  // Each derived key once per record, whatever the number of rules using it.
  const columns = new Map<string, string[]>();
  const column = (name: string): string[] => {
    let c = columns.get(name);
    if (!c) columns.set(name, (c = records.map((p) => blockingKey(name, p))));
    return c;
  };
  for (const rule of config.blocking) {
    const keys = ruleKeys(rule);
    const cap = ruleCap(rule, config);
    const interned = new Map<string, number>();
    const id = new Int32Array(n).fill(-1);
    if (!keys.length) throw new Error('A blocking rule needs at least one key');
    const cols = keys.map(column);
    for (let i = 0; i < n; i++) {
      let key = cols[0]![i]!;
      if (key === '') continue;
      for (let c = 1; c < cols.length && key !== ''; c++) key = cols[c]![i] === '' ? '' : `${key}\u0001${cols[c]![i]!}`;
      if (key === '') continue;
      let v = interned.get(key);
      if (v === undefined) interned.set(key, (v = interned.size));
      id[i] = v;
    }
    const earlier = ids.slice();
    ids.push(id);
    // Members of each block in record order (counting sort by key id).
    const start = new Int32Array(interned.size + 1);
    for (let i = 0; i < n; i++) if (id[i]! >= 0) start[id[i]! + 1]!++;
    for (let b = 0; b < interned.size; b++) start[b + 1]! += start[b]!;
    const members = new Int32Array(start[interned.size]!);
    const fill = start.slice(0, interned.size);
    for (let i = 0; i < n; i++) if (id[i]! >= 0) members[fill[id[i]!]!++] = i;
    const before = len;
    for (let b = 0; b < interned.size; b++) {
      const lo = start[b]!;
      const hi = start[b + 1]!;
      if (hi - lo < 2) continue;
      if (hi - lo > cap) {
        skippedBlocks++;
        continue;
      }
      for (let x = lo; x < hi; x++) {
        const i = members[x]!;
        inner: for (let y = x + 1; y < hi; y++) {
          const j = members[y]!;
          for (let e = 0; e < earlier.length; e++) {
            const ei = earlier[e]![i]!;
            if (ei >= 0 && ei === earlier[e]![j]) continue inner;
          }
          if (len + 2 > out.length) {
            const grown = new Uint32Array(out.length * 2);
            grown.set(out);
            out = grown;
          }
          out[len++] = i;
          out[len++] = j;
        }
      }
    }
    pairsByRule.push((len - before) / 2);
  }
  return { pairs: out.slice(0, len), skippedBlocks, pairsByRule };
}
