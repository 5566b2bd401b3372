/**
 * Element paths used by check instances: dotted FHIR element names with lax array traversal, and
 * optional filters in brackets, e.g. `identifier[type.coding.code=MR].value`. The same path compiles
 * to a PostgreSQL SQL/JSON path (lax mode unwraps arrays the same way) and evaluates in memory.
 */

interface Segment {
  name: string;
  filter?: { path: string[]; value?: string };
}

export function parsePath(path: string): Segment[] {
  const segs: Segment[] = [];
  let i = 0;
  while (i < path.length) {
    let name = '';
    while (i < path.length && path[i] !== '.' && path[i] !== '[') name += path[i++];
    const seg: Segment = { name };
    if (path[i] === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw new Error(`Unclosed [ in path ${path}`);
      const inner = path.slice(i + 1, close);
      const eq = inner.indexOf('=');
      seg.filter = eq < 0 ? { path: inner.split('.') } : { path: inner.slice(0, eq).split('.'), value: inner.slice(eq + 1) };
      i = close + 1;
    }
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new Error(`Bad element name "${name}" in path ${path}`);
    segs.push(seg);
    if (path[i] === '.') i++;
  }
  return segs;
}

const key = (n: string): string => `."${n}"`;

/** The SQL/JSON path text (lax mode) for a check path. */
export function toJsonPath(path: string): string {
  let out = '$';
  for (const s of parsePath(path)) {
    // [*] makes a path that ends at an array yield its items (lax mode wraps non-arrays).
    out += `${key(s.name)}[*]`;
    if (s.filter) {
      const fp = '@' + s.filter.path.map(key).join('');
      out += s.filter.value === undefined ? ` ? (exists(${fp}))` : ` ? (${fp} == ${JSON.stringify(s.filter.value)})`;
    }
  }
  return out;
}

function step(values: unknown[], name: string): unknown[] {
  const out: unknown[] = [];
  for (const v of values) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const x = (v as Record<string, unknown>)[name];
      if (Array.isArray(x)) out.push(...x);
      else if (x !== undefined && x !== null) out.push(x);
    }
  }
  return out;
}

function walk(values: unknown[], names: string[]): unknown[] {
  let cur = values;
  for (const n of names) cur = step(cur, n);
  return cur;
}

/** Parsed paths: check instances evaluate the same few paths on every resource written. */
const parsed = new Map<string, Segment[]>();

function parsedPath(path: string): Segment[] {
  let segs = parsed.get(path);
  if (!segs) {
    segs = parsePath(path);
    if (parsed.size < 10_000) parsed.set(path, segs);
  }
  return segs;
}

/** All values at a path (arrays flattened), in memory. */
export function pathValues(resource: unknown, path: string): unknown[] {
  let cur: unknown[] = [resource];
  for (const s of parsedPath(path)) {
    cur = step(cur, s.name);
    if (s.filter) {
      const f = s.filter;
      cur = cur.filter((item) => {
        const vs = walk([item], f.path);
        return f.value === undefined ? vs.length > 0 : vs.some((v) => String(v) === f.value);
      });
    }
  }
  return cur;
}

/** Scalar values at a path as text (objects skipped). */
export function pathStrings(resource: unknown, path: string): string[] {
  return pathValues(resource, path).filter((v) => typeof v !== 'object').map((v) => String(v));
}

export function firstString(resource: unknown, path: string): string | undefined {
  return pathStrings(resource, path)[0];
}
