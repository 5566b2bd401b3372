/**
 * The two string tests the comparisons run millions of times, without allocating: talisman's
 * Jaro-Winkler (the same algorithm and the same arithmetic, so the same number to the last bit) and
 * "at most one edit apart" (talisman's Damerau-Levenshtein distance <= 1). talisman stays the
 * reference: test/mpi/columns.test.ts checks both against it on random strings.
 */

let flags = new Uint8Array(64);
let matchedAt = new Int32Array(64);

/** Jaro-Winkler similarity as talisman/metrics/jaro-winkler computes it (boost threshold 0.7, prefix scale 0.1). */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const max = a.length > b.length ? a : b;
  const min = a.length > b.length ? b : a;
  if (flags.length < max.length) {
    flags = new Uint8Array(max.length * 2);
    matchedAt = new Int32Array(max.length * 2);
  }
  flags.fill(0, 0, max.length);
  const range = Math.max(((max.length / 2) | 0) - 1, 0);
  let matches = 0;
  for (let i = 0; i < min.length; i++) {
    const ch = min.charCodeAt(i);
    matchedAt[i] = -1;
    const end = Math.min(i + range + 1, max.length);
    for (let j = Math.max(i - range, 0); j < end; j++) {
      if (flags[j] === 0 && ch === max.charCodeAt(j)) {
        matchedAt[i] = j;
        flags[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (!matches) return 0;
  // Transpositions: the matched characters of min in order against those of max in order.
  let transpositions = 0;
  for (let i = 0, j = 0; i < min.length; i++) {
    if (matchedAt[i] === -1) continue;
    while (flags[j] === 0) j++;
    if (min.charCodeAt(i) !== max.charCodeAt(j)) transpositions++;
    j++;
  }
  const t = (transpositions / 2) | 0;
  const m = matches;
  const dj = (m / a.length + m / b.length + (m - t) / m) / 3;
  if (dj < 0.7) return dj;
  let l = 0;
  const prefixLimit = Math.min(a.length, b.length, 4);
  for (let i = 0; i < prefixLimit; i++) {
    if (a.charCodeAt(i) === b.charCodeAt(i)) l++;
    else break;
  }
  return dj + l * 0.1 * (1 - dj);
}

/** Whether a[ai...ai+len) equals b[bi...bi+len) (no substring allocated). */
export function sameRun(a: string, ai: number, b: string, bi: number, len: number): boolean {
  for (let k = 0; k < len; k++) if (a.charCodeAt(ai + k) !== b.charCodeAt(bi + k)) return false;
  return true;
}

/**
 * Whether two strings are at most one edit apart (substitution, insertion, deletion or a
 * transposition of adjacent characters): talisman's Damerau-Levenshtein distance <= 1, decided
 * without building its matrix.
 */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  let la = a.length;
  let lb = b.length;
  if (la > lb) {
    [a, b] = [b, a];
    [la, lb] = [lb, la];
  }
  if (lb - la > 1) return false;
  let i = 0;
  while (i < la && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (la < lb) return sameRun(a, i, b, i + 1, la - i);
  // Same length, first difference at i: one substitution, or i and i+1 swapped.
  if (sameRun(a, i + 1, b, i + 1, la - i - 1)) return true;
  return i + 1 < la && a.charCodeAt(i) === b.charCodeAt(i + 1) && a.charCodeAt(i + 1) === b.charCodeAt(i) && sameRun(a, i + 2, b, i + 2, la - i - 2);
}
