/**
 * Drops repeated index rows: two rows are the same when their JSON is (the same fields, in the same
 * order, with the same values). The rows of one table all have that table's fields in one order
 * (index-values.ts makes them), so a row is compared field by field with the earlier rows of its
 * code only; a code with many rows switches to string keys.
 */

/** Rows of one code before string keys pay for themselves. */
const LINEAR = 16;

interface Group<R> { rows: R[]; keys?: Set<string> }

/** The rows of a table without repeats, first occurrences in their order (the list itself when nothing repeats). */
export function uniqueRows<R extends { code: string }>(list: R[], fields: readonly (keyof R)[]): R[] {
  if (list.length < 2) return list;
  const groups = new Map<string, Group<R>>();
  let out: R[] | undefined;
  for (let i = 0; i < list.length; i++) {
    const r = list[i] as R;
    const g = groups.get(r.code);
    let repeated = false;
    if (!g) groups.set(r.code, { rows: [r] });
    else if (g.keys) {
      const k = rowKey(r);
      repeated = g.keys.has(k);
      if (!repeated) g.keys.add(k);
    } else {
      for (const x of g.rows) if (same(x, r, fields)) { repeated = true; break; }
      if (!repeated) {
        g.rows.push(r);
        if (g.rows.length > LINEAR) g.keys = new Set(g.rows.map(rowKey));
      }
    }
    if (repeated) out ??= list.slice(0, i);
    else out?.push(r);
  }
  return out ?? list;
}

function same<R>(a: R, b: R, fields: readonly (keyof R)[]): boolean {
  for (const f of fields) if (!sameValue(a[f], b[f])) return false;
  return true;
}

/** Equal in JSON: numbers that JSON writes as null (NaN, Infinity) are alike, and 0 is -0. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === 'number' && typeof b === 'number' && !Number.isFinite(a) && !Number.isFinite(b);
}

/**
 * A key equal for two rows exactly when their JSON is: the same fields in the same order with the
 * same values; strings are length-prefixed, so the key is unambiguous.
 */
function rowKey(r: object): string {
  let k = '';
  for (const [name, v] of Object.entries(r) as [string, unknown][]) {
    if (v === undefined) continue; // JSON leaves undefined fields out
    k += typeof v === 'string' ? `${name}=${v.length}:${v}|` : `${name}=${JSON.stringify(v)}|`;
  }
  return k;
}
