/**
 * Check types: the code behind check instances. Each type compiles an instance to one set-based SQL
 * fragment (whole database or one patient's compartment) and evaluates the same rule in memory over
 * one resource or one patient's resources. Instances (data) say which type and which parameters.
 */
import type { Resource } from '@medplum/fhirtypes';
import { dateRange } from '../fhir/dates.js';
import { storedCodeCondition } from '../fhir/search-parameters.js';
import { firstString, pathStrings, pathValues, toJsonPath } from './path.js';
import type { CheckInstance, MemoryContext, SqlScope } from './types.js';

/** SQL for one instance, over `base b` (the in-scope rows of its resource type). */
export interface SqlFragment {
  /** Extra joins after `FROM base b`. */
  joins?: string;
  applies: string;
  bad: string;
  /** Replaces the whole `ev` CTE (id, applies, bad), for types that compare rows with each other; `base` holds the in-scope ids. */
  ev?: string;
}

export interface MemoryVerdict {
  applies: boolean;
  bad: boolean;
}

/**
 * Shared per-row work of one grouped statement (all checks of one resource type in one scan): each
 * element path is extracted from the JSON once per row, each value derived from it (its first value
 * as a date, as a number, whether every value is a string) is computed once per row, and each
 * referenced resource (the patient, the encounter) is joined once, whatever number of checks use it.
 */
export interface SqlRow {
  /** A jsonb array of the values at `path` in the row's content (extracted once per row). */
  arr(path: string): string;
  /** Whether every value at `path` is a JSON string (then ?| and <@ compare exactly as text). */
  allStrings(path: string): string;
  /** custodian_date_lo / custodian_date_hi of the first value at `path`. */
  lo(path: string): string;
  hi(path: string): string;
  /** The first value at `path` as numeric when it is a JSON number, else NULL. */
  num(path: string): string;
  /**
   * The alias of the resource of `type` that the first value at `refPath` points to (one hash join
   * per type and path), with columns: Patient gender, birth, death; Encounter pstart, pend.
   */
  target(type: 'Patient' | 'Encounter', refPath: string): string;
  /** custodian_date_lo / _hi of a date column of a target (birth, death, pstart, pend). */
  targetDate(alias: string, col: 'birth' | 'death' | 'pstart' | 'pend', bound: 'lo' | 'hi'): string;
}

export interface CheckType {
  name: string;
  sql(inst: CheckInstance, scope: SqlScope, row: SqlRow): SqlFragment;
  /** Evaluates one resource of the instance's type; ctx gives the other resources in scope. */
  memory(inst: CheckInstance, resource: Resource, ctx: MemoryContext): MemoryVerdict;
}

// ---------- SQL helpers ----------
export const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const jp = (path: string): string => `${lit(toJsonPath(path))}::jsonpath`;
const has = (path: string, c = 'b.content'): string => `jsonb_path_exists(${c}, ${jp(path)})`;
const first = (path: string, c = 'b.content'): string => `(jsonb_path_query_first(${c}, ${jp(path)}) #>> '{}')`;
const textArray = (xs: string[]): string => `ARRAY[${xs.map(lit).join(',')}]::text[]`;
const anyIn = (path: string, values: string[], c = 'b.content'): string =>
  `EXISTS (SELECT 1 FROM jsonb_path_query(${c}, ${jp(path)}) v WHERE (v #>> '{}') = ANY(${textArray(values)}))`;
const lo = (e: string): string => `custodian_date_lo(${e})`;
const hi = (e: string): string => `custodian_date_hi(${e})`;
const ts = (d: Date): string => `${lit(d.toISOString())}::timestamptz`;
/**
 * SQL for "e is a relative reference Type/id" (REL_REF below). The bounded repeat {1,64} is costly in
 * PostgreSQL's regex engine (tens of microseconds a value), so the length is tested separately.
 */
export const isRelRef = (e: string): string => `(${e} ~ '^[A-Z][A-Za-z]+/[A-Za-z0-9.-]+$' AND length(${e}) - strpos(${e}, '/') <= 64)`;
const REL_REF = /^[A-Z][A-Za-z]+\/[A-Za-z0-9.-]{1,64}$/;
const refId = (e: string): string => `split_part(${e}, '/', 2)`;

/**
 * Builds the FROM clause of one scan over `resource b`: a LATERAL (OFFSET 0, so evaluated once per
 * row and never inlined) that extracts each requested path once, a second one that derives values
 * from those arrays once per row (dates, numbers, string-ness), and one hash-joinable LEFT JOIN per
 * referenced (type, reference path) over only the few columns the checks read, with the target's
 * dates computed once per target row.
 *
 * Eager derivation computes a date for every row that has one, where a check alone would compute it
 * only for the rows it applies to; the two differ only when a date that matches the FHIR pattern is
 * not a calendar date (custodian_date_lo raises). `lazy` keeps the per-check form (derived values
 * inline in each check's expression), which the engine uses when it retries a check on its own, so
 * such an error stays with the checks that meet it.
 */
export class SqlRowBuilder implements SqlRow {
  private readonly paths = new Map<string, string>();
  private readonly derived = new Map<string, { col: string; sql: string }>();
  private readonly targets = new Map<string, { alias: string; type: 'Patient' | 'Encounter'; on: string; dates: Set<string> }>();
  constructor(private readonly lazy = false) {}
  arr(path: string): string {
    let c = this.paths.get(path);
    if (!c) {
      c = `p${this.paths.size}`;
      this.paths.set(path, c);
    }
    return `x.${c}`;
  }
  private derive(kind: string, path: string, make: (a: string) => string): string {
    if (this.lazy) return `(${make(this.arr(path))})`;
    const key = `${kind}|${path}`;
    let d = this.derived.get(key);
    if (!d) {
      d = { col: `y${this.derived.size}`, sql: make(this.arr(path)) };
      this.derived.set(key, d);
    }
    return `y.${d.col}`;
  }
  allStrings(path: string): string {
    return this.derive('s', path, (a) => `NOT jsonb_path_exists(${a}, '$[*] ? (@.type() != "string")')`);
  }
  lo(path: string): string {
    return this.derive('lo', path, (a) => lo(`((${a} -> 0) #>> '{}')`));
  }
  hi(path: string): string {
    return this.derive('hi', path, (a) => hi(`((${a} -> 0) #>> '{}')`));
  }
  num(path: string): string {
    return this.derive('n', path, (a) => `(CASE WHEN jsonb_typeof(${a} -> 0) = 'number' THEN ((${a} -> 0) #>> '{}')::numeric END)`);
  }
  target(type: 'Patient' | 'Encounter', refPath: string): string {
    const key = `${type}|${refPath}`;
    let t = this.targets.get(key);
    if (!t) {
      t = { alias: `t${this.targets.size}`, type, on: refId(fFirst(this, refPath)), dates: new Set() };
      this.targets.set(key, t);
    }
    return t.alias;
  }
  targetDate(alias: string, col: 'birth' | 'death' | 'pstart' | 'pend', bound: 'lo' | 'hi'): string {
    if (this.lazy) return (bound === 'lo' ? lo : hi)(`${alias}.${col}`);
    [...this.targets.values()].find((t) => t.alias === alias)!.dates.add(`${col}_${bound}`);
    return `${alias}.${col}_${bound}`;
  }
  /** `resource b` with the extraction laterals and the joins (call after every fragment is built). */
  from(): string {
    const cols = [...this.paths].map(([p, c]) => `jsonb_path_query_array(b.content, ${jp(p)}) AS ${c}`);
    const lateral = cols.length ? ` CROSS JOIN LATERAL (SELECT ${cols.join(', ')} OFFSET 0) x` : '';
    const derived = this.derived.size ? ` CROSS JOIN LATERAL (SELECT ${[...this.derived.values()].map((d) => `${d.sql} AS ${d.col}`).join(', ')} OFFSET 0) y` : '';
    const joins = [...this.targets.values()].map((t) => {
      // jsonb_to_record reads the (often compressed) content once for all the columns.
      const [rec, src]: [string, Record<string, string>] = t.type === 'Patient'
        ? ['r(gender text, "birthDate" text, "deceasedDateTime" text)', { gender: 'r.gender', birth: 'r."birthDate"', death: 'r."deceasedDateTime"' }]
        : ['r(period jsonb)', { pstart: `r.period ->> 'start'`, pend: `r.period ->> 'end'` }];
      const dates = [...t.dates].map((d) => {
        const [col, bound] = d.split('_') as [string, 'lo' | 'hi'];
        return `${(bound === 'lo' ? lo : hi)(`(${src[col]!})`)} AS ${d}`;
      });
      // OFFSET 0 keeps the subquery whole, so its dates are computed once per target row (hash build).
      const cols = [...Object.entries(src).map(([k, e]) => `${e} AS ${k}`), ...dates].join(', ');
      return `LEFT JOIN (SELECT id, ${cols} FROM resource CROSS JOIN LATERAL jsonb_to_record(content) AS ${rec}
        WHERE resource_type = ${lit(t.type)} AND NOT deleted${dates.length ? ' OFFSET 0' : ''}) ${t.alias} ON ${t.alias}.id = ${t.on}`;
    });
    return `resource b${lateral}${derived} ${joins.join(' ')}`;
  }
}
const fHas = (row: SqlRow, path: string): string => `(jsonb_array_length(${row.arr(path)}) > 0)`;
const fFirst = (row: SqlRow, path: string): string => `((${row.arr(path)} -> 0) #>> '{}')`;
/** The JSON of a list of values, for containment tests. */
const jsonList = (xs: string[]): string => `${lit(JSON.stringify(xs))}::jsonb`;
/** Any value at the path, as text, is one of `values` (?| when every value is a string). */
const fAnyIn = (row: SqlRow, path: string, values: string[]): string => {
  const a = row.arr(path);
  return `(CASE WHEN ${row.allStrings(path)} THEN ${a} ?| ${textArray(values)} ELSE EXISTS (SELECT 1 FROM jsonb_array_elements(${a}) v WHERE (v #>> '{}') = ANY(${textArray(values)})) END)`;
};
const fWhen = (row: SqlRow, w: When | undefined): string => (!w ? 'true' : w.in ? fAnyIn(row, w.path, w.in) : fHas(row, w.path));

// ---------- parameter helpers ----------
interface When {
  path: string;
  in?: string[];
}
const str = (inst: CheckInstance, k: string, dflt?: string): string => {
  const v = inst.params[k] ?? dflt;
  if (typeof v !== 'string') throw new Error(`Check ${inst.id}: parameter ${k} must be a string`);
  return v;
};
const strs = (inst: CheckInstance, k: string): string[] => {
  const v = inst.params[k];
  if (!Array.isArray(v)) throw new Error(`Check ${inst.id}: parameter ${k} must be a list`);
  return v.map(String);
};
const num = (inst: CheckInstance, k: string, dflt?: number): number | undefined => {
  const v = inst.params[k];
  return typeof v === 'number' ? v : dflt;
};
const whenOf = (inst: CheckInstance): When | undefined => inst.params.when as When | undefined;
const whenSql = (w: When | undefined, c = 'b.content'): string => (!w ? 'true' : w.in ? anyIn(w.path, w.in, c) : has(w.path, c));
const whenMem = (w: When | undefined, r: unknown): boolean => {
  if (!w) return true;
  const vs = pathStrings(r, w.path);
  return w.in ? vs.some((v) => w.in!.includes(v)) : pathValues(r, w.path).length > 0;
};
const loMs = (t: string | undefined): number | undefined => {
  const r = t ? dateRange(t) : undefined;
  return r && r.lo !== '-infinity' ? Date.parse(r.lo) : undefined;
};
const hiMs = (t: string | undefined): number | undefined => {
  const r = t ? dateRange(t) : undefined;
  return r && r.hi !== 'infinity' ? Date.parse(r.hi) : undefined;
};
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Whole years from a to b (calendar, like PostgreSQL age()). */
export function yearsBetween(aMs: number, bMs: number): number {
  const a = new Date(aMs);
  const b = new Date(bMs);
  let y = b.getUTCFullYear() - a.getUTCFullYear();
  if (b.getUTCMonth() < a.getUTCMonth() || (b.getUTCMonth() === a.getUTCMonth() && b.getUTCDate() < a.getUTCDate())) y--;
  return y;
}

const subjectPath = (inst: CheckInstance): string => str(inst, 'subjectPath', 'subject.reference');

// ---------- the types ----------
/** Alternatives: `path` or any of `paths` (e.g. performedDateTime or performedPeriod.start). */
const pathsOf = (i: CheckInstance): string[] => (Array.isArray(i.params.paths) ? i.params.paths.map(String) : [str(i, 'path')]);

const required: CheckType = {
  name: 'required',
  sql: (i, _s, row) => ({ applies: 'true', bad: `NOT (${pathsOf(i).map((p) => fHas(row, p)).join(' OR ')})` }),
  memory: (i, r) => ({ applies: true, bad: pathsOf(i).every((p) => pathValues(r, p).length === 0) }),
};

const allowedValues: CheckType = {
  name: 'allowed-values',
  sql: (i, _s, row) => {
    const a = row.arr(str(i, 'path'));
    const values = strs(i, 'values');
    return {
      applies: `${fWhen(row, whenOf(i))} AND ${fHas(row, str(i, 'path'))}`,
      bad: `(CASE WHEN ${row.allStrings(str(i, 'path'))} THEN NOT (${a} <@ ${jsonList(values)}) ELSE EXISTS (SELECT 1 FROM jsonb_array_elements(${a}) v WHERE NOT ((v #>> '{}') = ANY(${textArray(values)}))) END)`,
    };
  },
  memory: (i, r) => {
    const vs = pathStrings(r, str(i, 'path'));
    const allowed = strs(i, 'values');
    return { applies: whenMem(whenOf(i), r) && vs.length > 0, bad: vs.some((v) => !allowed.includes(v)) };
  },
};

const pattern: CheckType = {
  name: 'pattern',
  sql: (i, _s, row) => ({
    applies: `${fWhen(row, whenOf(i))} AND ${fHas(row, str(i, 'path'))}`,
    // One value (the usual case) is tested without a subquery; NULL (a JSON null) is not offending.
    bad: `(CASE jsonb_array_length(${row.arr(str(i, 'path'))}) WHEN 0 THEN false
      WHEN 1 THEN COALESCE(NOT (((${row.arr(str(i, 'path'))} -> 0) #>> '{}') ~ ${lit(str(i, 'regex'))}), false)
      ELSE EXISTS (SELECT 1 FROM jsonb_array_elements(${row.arr(str(i, 'path'))}) v WHERE NOT ((v #>> '{}') ~ ${lit(str(i, 'regex'))})) END)`,
  }),
  memory: (i, r) => {
    const vs = pathStrings(r, str(i, 'path'));
    const re = new RegExp(str(i, 'regex'));
    return { applies: whenMem(whenOf(i), r) && vs.length > 0, bad: vs.some((v) => !re.test(v)) };
  },
};

const dateOrder: CheckType = {
  name: 'date-order',
  sql: (i, _s, row) => ({
    applies: `${fHas(row, str(i, 'startPath'))} AND ${fHas(row, str(i, 'endPath'))}`,
    bad: `${row.hi(str(i, 'endPath'))} < ${row.lo(str(i, 'startPath'))}`,
  }),
  memory: (i, r) => {
    const s = loMs(firstString(r, str(i, 'startPath')));
    const e = hiMs(firstString(r, str(i, 'endPath')));
    return { applies: s !== undefined && e !== undefined, bad: s !== undefined && e !== undefined && e < s };
  },
};

const notFuture: CheckType = {
  name: 'not-future',
  sql: (i, scope, row) => ({ applies: fHas(row, str(i, 'path')), bad: `${row.lo(str(i, 'path'))} > ${ts(scope.now)}` }),
  memory: (i, r, ctx) => {
    const v = loMs(firstString(r, str(i, 'path')));
    return { applies: v !== undefined, bad: v !== undefined && v > ctx.now.getTime() };
  },
};

const plausibleRange: CheckType = {
  name: 'plausible-range',
  sql: (i, _s, row) => {
    const path = str(i, 'path', 'valueQuantity.value');
    const v = row.num(path);
    const conds: string[] = [];
    if (num(i, 'min') !== undefined) conds.push(`${v} < ${num(i, 'min')}`);
    if (num(i, 'max') !== undefined) conds.push(`${v} > ${num(i, 'max')}`);
    return { applies: `${fWhen(row, whenOf(i))} AND ${v} IS NOT NULL`, bad: conds.join(' OR ') || 'false' };
  },
  memory: (i, r) => {
    const v = pathValues(r, str(i, 'path', 'valueQuantity.value'))[0];
    if (typeof v !== 'number' || !whenMem(whenOf(i), r)) return { applies: false, bad: false };
    const min = num(i, 'min');
    const max = num(i, 'max');
    return { applies: true, bad: (min !== undefined && v < min) || (max !== undefined && v > max) };
  },
};

const referenceExists: CheckType = {
  name: 'reference-exists',
  sql: (i, _s, row) => {
    const a = row.arr(str(i, 'path'));
    return {
      applies: `(${fHas(row, str(i, 'path'))} AND EXISTS (SELECT 1 FROM jsonb_array_elements(${a}) v WHERE ${isRelRef(`(v #>> '{}')`)}))`,
      bad: `(${fHas(row, str(i, 'path'))} AND EXISTS (SELECT 1 FROM jsonb_array_elements(${a}) v WHERE ${isRelRef(`(v #>> '{}')`)} AND NOT EXISTS (
        SELECT 1 FROM resource t WHERE t.resource_type = split_part(v #>> '{}', '/', 1) AND t.id = split_part(v #>> '{}', '/', 2) AND NOT t.deleted)))`,
    };
  },
  memory: (i, r, ctx) => {
    const refs = pathStrings(r, str(i, 'path')).filter((x) => REL_REF.test(x));
    return { applies: refs.length > 0, bad: refs.some((x) => ctx.resolve(x) === undefined) };
  },
};

const patientSex: CheckType = {
  name: 'patient-sex',
  sql: (i, _s, row) => {
    const pt = row.target('Patient', subjectPath(i));
    return {
      applies: `${fAnyIn(row, str(i, 'codePath', 'code.coding.code'), strs(i, 'codes'))} AND ${pt}.gender IN ('male', 'female')`,
      bad: `${pt}.gender <> ${lit(str(i, 'sex'))}`,
    };
  },
  memory: (i, r, ctx) => {
    const codes = strs(i, 'codes');
    const ref = firstString(r, subjectPath(i));
    const pt = ref ? (ctx.resolve(ref) as { gender?: string } | undefined) : undefined;
    const applies = pathStrings(r, str(i, 'codePath', 'code.coding.code')).some((c) => codes.includes(c)) && (pt?.gender === 'male' || pt?.gender === 'female');
    return { applies, bad: applies && pt?.gender !== str(i, 'sex') };
  },
};

const patientAge: CheckType = {
  name: 'patient-age',
  sql: (i, _s, row) => {
    const pt = row.target('Patient', subjectPath(i));
    const age = `date_part('year', age(${row.lo(str(i, 'datePath'))}, ${row.targetDate(pt, 'birth', 'lo')}))`;
    const conds: string[] = [];
    if (num(i, 'minAge') !== undefined) conds.push(`${age} < ${num(i, 'minAge')}`);
    if (num(i, 'maxAge') !== undefined) conds.push(`${age} > ${num(i, 'maxAge')}`);
    return {
      applies: `${fAnyIn(row, str(i, 'codePath', 'code.coding.code'), strs(i, 'codes'))} AND ${fHas(row, str(i, 'datePath'))} AND ${pt}.birth IS NOT NULL`,
      bad: conds.join(' OR ') || 'false',
    };
  },
  memory: (i, r, ctx) => {
    const codes = strs(i, 'codes');
    const ref = firstString(r, subjectPath(i));
    const pt = ref ? (ctx.resolve(ref) as { birthDate?: string } | undefined) : undefined;
    const b = loMs(pt?.birthDate);
    const d = loMs(firstString(r, str(i, 'datePath')));
    const applies = pathStrings(r, str(i, 'codePath', 'code.coding.code')).some((c) => codes.includes(c)) && b !== undefined && d !== undefined;
    if (!applies) return { applies, bad: false };
    const age = yearsBetween(b!, d!);
    const min = num(i, 'minAge');
    const max = num(i, 'maxAge');
    return { applies, bad: (min !== undefined && age < min) || (max !== undefined && age > max) };
  },
};

const withinLife: CheckType = {
  name: 'within-life',
  sql: (i, _s, row) => {
    const slack = num(i, 'slackDays', 7)!;
    const pt = i.resourceType === 'Patient' ? undefined : row.target('Patient', subjectPath(i));
    const birth = pt ? `${pt}.birth` : `(b.content ->> 'birthDate')`;
    const death = pt ? `${pt}.death` : `(b.content ->> 'deceasedDateTime')`;
    const birthLo = pt ? row.targetDate(pt, 'birth', 'lo') : lo(birth);
    const deathHi = pt ? row.targetDate(pt, 'death', 'hi') : hi(death);
    const datePath = str(i, 'datePath');
    return {
      applies: `${fHas(row, datePath)} AND ${birth} IS NOT NULL`,
      bad: `${row.hi(datePath)} < ${birthLo} OR (${death} IS NOT NULL AND ${row.lo(datePath)} > ${deathHi} + interval '${slack} days')`,
    };
  },
  memory: (i, r, ctx) => {
    const ref = i.resourceType === 'Patient' ? undefined : firstString(r, subjectPath(i));
    const pt = (i.resourceType === 'Patient' ? r : ref ? ctx.resolve(ref) : undefined) as { birthDate?: string; deceasedDateTime?: string } | undefined;
    const text = firstString(r, str(i, 'datePath'));
    const birth = loMs(pt?.birthDate);
    if (!text || birth === undefined) return { applies: false, bad: false };
    const death = hiMs(pt?.deceasedDateTime);
    const dHi = hiMs(text)!;
    const dLo = loMs(text)!;
    return { applies: true, bad: dHi < birth || (death !== undefined && dLo > death + num(i, 'slackDays', 7)! * DAY) };
  },
};

const withinEncounter: CheckType = {
  name: 'within-encounter',
  sql: (i, _s, row) => {
    const s = row.lo(str(i, 'startPath'));
    const slack = `interval '${num(i, 'slackHours', 0)} hours'`;
    const en = row.target('Encounter', str(i, 'encounterPath', 'encounter.reference'));
    return {
      applies: `${fHas(row, str(i, 'startPath'))} AND ${en}.pstart IS NOT NULL`,
      bad: `${s} < ${row.targetDate(en, 'pstart', 'lo')} - ${slack} OR (${en}.pend IS NOT NULL AND ${s} > ${row.targetDate(en, 'pend', 'hi')} + ${slack})`,
    };
  },
  memory: (i, r, ctx) => {
    const ref = firstString(r, str(i, 'encounterPath', 'encounter.reference'));
    const en = (ref ? ctx.resolve(ref) : undefined) as { period?: { start?: string; end?: string } } | undefined;
    const s = loMs(firstString(r, str(i, 'startPath')));
    const es = loMs(en?.period?.start);
    if (s === undefined || es === undefined) return { applies: false, bad: false };
    const ee = hiMs(en?.period?.end);
    const slack = num(i, 'slackHours', 0)! * HOUR;
    return { applies: true, bad: s < es - slack || (ee !== undefined && s > ee + slack) };
  },
};

function dupKeyMem(i: CheckInstance, r: unknown): string | undefined {
  const parts = strs(i, 'keyPaths').map((p) => firstString(r, p));
  return parts.every((p) => p !== undefined) ? parts.join('|') : undefined;
}

const duplicate: CheckType = {
  name: 'duplicate',
  sql: (i) => {
    const parts = strs(i, 'keyPaths').map((p) => first(p, 'a.content'));
    const key = `CASE WHEN ${parts.map((p) => `${p} IS NOT NULL`).join(' AND ')} THEN concat_ws('|', ${parts.join(', ')}) END`;
    return {
      applies: 'true',
      bad: 'true',
      ev: `SELECT k.id, k.key IS NOT NULL AS applies, (k.key IS NOT NULL AND k.n > 1) AS bad FROM (
        SELECT a.id, ${key} AS key, count(*) OVER (PARTITION BY ${key}) AS n
          FROM resource a WHERE a.resource_type = ${lit(i.resourceType)} AND NOT a.deleted) k
        WHERE k.id IN (SELECT id FROM base)`,
    };
  },
  memory: (i, r, ctx) => {
    const k = dupKeyMem(i, r);
    if (k === undefined) return { applies: false, bad: false };
    const n = ctx.resources.filter((o) => o.resourceType === i.resourceType && dupKeyMem(i, o) === k).length;
    return { applies: true, bad: n > 1 };
  },
};

/**
 * Claim diagnoses must match a Condition recorded on the claim's encounter(s).
 * `OFFSET 0` keeps each lookup a correlated probe (by primary key, or by compartment): without it the
 * planner may hash every Condition instead, and rebuild that hash for each claim, since the subquery
 * reads the claim's encounters.
 */
const claimDiagnosisCondition: CheckType = {
  name: 'claim-diagnosis-condition',
  sql: () => {
    const encs = `ARRAY(SELECT e #>> '{}' FROM jsonb_path_query(b.content, '$.item.encounter.reference') e)`;
    const encOk = (c: string): string => `(cardinality(${encs}) = 0 OR (${c}.content #>> '{encounter,reference}') IS NULL OR (${c}.content #>> '{encounter,reference}') = ANY(${encs}))`;
    return {
      applies: `jsonb_path_exists(b.content, '$.diagnosis[*]')`,
      bad: `EXISTS (SELECT 1 FROM jsonb_path_query(b.content, '$.diagnosis[*]') d WHERE CASE
        WHEN (d #>> '{diagnosisReference,reference}') IS NOT NULL THEN NOT EXISTS (
          SELECT 1 FROM resource c WHERE c.resource_type = 'Condition' AND NOT c.deleted
             AND c.id = split_part(d #>> '{diagnosisReference,reference}', '/', 2) AND ${encOk('c')} OFFSET 0)
        ELSE NOT EXISTS (
          SELECT 1 FROM resource c WHERE c.resource_type = 'Condition' AND NOT c.deleted AND c.compartments && b.compartments
             AND ${encOk('c')}
             AND EXISTS (SELECT 1 FROM jsonb_path_query(c.content, '$.code.coding.code') cc, jsonb_path_query(d, '$.diagnosisCodeableConcept.coding.code') dc WHERE cc = dc) OFFSET 0)
        END)`,
    };
  },
  memory: (_i, r, ctx) => {
    const diags = pathValues(r, 'diagnosis') as Array<{ diagnosisReference?: { reference?: string }; diagnosisCodeableConcept?: unknown }>;
    if (!diags.length) return { applies: false, bad: false };
    const encs = pathStrings(r, 'item.encounter.reference');
    const encOk = (c: Resource): boolean => {
      const e = firstString(c, 'encounter.reference');
      return encs.length === 0 || e === undefined || encs.includes(e);
    };
    const bad = diags.some((d) => {
      const ref = d.diagnosisReference?.reference;
      if (ref) {
        const c = ctx.resolve(ref);
        return !c || c.resourceType !== 'Condition' || !encOk(c);
      }
      const codes = pathStrings(d, 'diagnosisCodeableConcept.coding.code');
      return !ctx.resources.some((c) => c.resourceType === 'Condition' && encOk(c) && pathStrings(c, 'code.coding.code').some((x) => codes.includes(x)));
    });
    return { applies: true, bad };
  },
};

/**
 * A resource must have a related resource pointing at it (via: 'self') or at its encounter
 * (via: a reference path), e.g. a coded procedure needs a procedure note on its encounter.
 */
const hasRelated: CheckType = {
  name: 'has-related',
  sql: (i) => {
    const via = str(i, 'via', 'self');
    const rw = i.params.relatedWhen as When | undefined;
    const target = via === 'self' ? { type: lit(i.resourceType), id: 'b.id' } : { type: `split_part(${first(via)}, '/', 1)`, id: refId(first(via)) };
    return {
      applies: `${whenSql(whenOf(i))}${via === 'self' ? '' : ` AND ${isRelRef(first(via))}`}`,
      bad: `NOT EXISTS (SELECT 1 FROM sp_reference s JOIN resource o ON o.resource_type = s.resource_type AND o.id = s.id AND NOT o.deleted
        WHERE s.resource_type = ${lit(str(i, 'relatedType'))} AND ${storedCodeCondition(str(i, 'relatedType'), str(i, 'relatedParam'), lit)}
          AND s.target_type = ${target.type} AND s.target_id = ${target.id} AND ${whenSql(rw, 'o.content')})`,
    };
  },
  memory: (i, r, ctx) => {
    const via = str(i, 'via', 'self');
    const target = via === 'self' ? `${r.resourceType}/${r.id}` : firstString(r, via);
    if (!whenMem(whenOf(i), r) || !target || !REL_REF.test(target)) return { applies: false, bad: false };
    const rw = i.params.relatedWhen as When | undefined;
    const relPath = str(i, 'relatedPath');
    const found = ctx.resources.some((o) => o.resourceType === str(i, 'relatedType') && pathStrings(o, relPath).includes(target) && whenMem(rw, o));
    return { applies: true, bad: !found };
  },
};

/** Every type honours an optional `when` ({path, in?}): the check applies only to matching resources. */
function withWhen(t: CheckType): CheckType {
  return {
    name: t.name,
    sql(i, scope, row) {
      const f = t.sql(i, scope, row);
      const w = whenOf(i);
      return w && !f.ev ? { ...f, applies: `${fWhen(row, w)} AND (${f.applies})` } : f;
    },
    memory(i, r, ctx) {
      if (!whenMem(whenOf(i), r)) return { applies: false, bad: false };
      return t.memory(i, r, ctx);
    },
  };
}

export const CHECK_TYPES: Record<string, CheckType> = Object.fromEntries(
  [required, allowedValues, pattern, dateOrder, notFuture, plausibleRange, referenceExists, patientSex, patientAge, withinLife, withinEncounter, duplicate, claimDiagnosisCondition, hasRelated].map((t) => [t.name, withWhen(t)]),
);

export function checkType(name: string): CheckType {
  const t = CHECK_TYPES[name];
  if (!t) throw new Error(`Unknown check type ${name}`);
  return t;
}
