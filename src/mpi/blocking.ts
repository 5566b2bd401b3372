/** Blocking: candidate pairs are the records sharing all keys of at least one rule. */
import type { Prepared } from './prepare.js';
import type { MatcherConfig } from './types.js';

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

/** The keys a record is filed under, one per applicable rule ("ruleIndex:values"). */
export function blockingKeys(p: Prepared, config: MatcherConfig): string[] {
  const out: string[] = [];
  config.blocking.forEach((rule, i) => {
    const parts = rule.map((k) => blockingKey(k, p));
    if (parts.every((x) => x !== '')) out.push(`${i}:${parts.join('\u0001')}`);
  });
  return out;
}

export interface BlockingResult {
  /** Pairs as [i, j] with i < j (indexes into the records). */
  pairs: Uint32Array;
  skippedBlocks: number;
}

/** All candidate pairs in one data set (deduplication). */
export function candidatePairs(records: Prepared[], config: MatcherConfig): BlockingResult {
  const blocks = new Map<string, number[]>();
  records.forEach((p, i) => {
    for (const k of blockingKeys(p, config)) {
      const b = blocks.get(k);
      if (b) b.push(i);
      else blocks.set(k, [i]);
    }
  });
  const seen = new Set<number>();
  const n = records.length;
  let skippedBlocks = 0;
  const out: number[] = [];
  for (const ids of blocks.values()) {
    if (ids.length < 2) continue;
    if (ids.length > config.maxBlockSize) {
      skippedBlocks++;
      continue;
    }
    for (let x = 0; x < ids.length; x++) {
      for (let y = x + 1; y < ids.length; y++) {
        const i = Math.min(ids[x]!, ids[y]!);
        const j = Math.max(ids[x]!, ids[y]!);
        if (i === j) continue;
        const key = i * n + j;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(i, j);
      }
    }
  }
  return { pairs: Uint32Array.from(out), skippedBlocks };
}
