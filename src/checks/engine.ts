/**
 * The check engine: runs check instances over the whole database (one SQL statement per check,
 * through a SqlPort) or over resources in memory, and turns counts into results with a status.
 * Not-applicable cascade as in OHDSI DQD: an empty table or an empty denominator is not applicable,
 * and so is a check whose dependency was not applicable or failed to run.
 */
import type { Resource } from '@medplum/fhirtypes';
import { checkType, isRelRef, lit, SqlRowBuilder } from './check-types.js';
import type { CheckCounts, CheckInstance, CheckResult, CheckStatus, MemoryContext, SqlPort, SqlScope } from './types.js';

const baseWhere = (type: string, scope: SqlScope): string =>
  `b.resource_type = ${lit(type)} AND NOT b.deleted${scope.patientId ? ` AND ${lit(scope.patientId)} = ANY(b.compartments)` : ''}`;
const idCap = (scope: SqlScope): number => Math.max(1, Math.floor(scope.maxIds));

/** One statement for one check (used for types that compare rows with each other, and as the fallback). */
export function buildCheckSql(inst: CheckInstance, scope: SqlScope): string {
  // Lazy: each derived value is computed only where this check applies, as the rule reads.
  const row = new SqlRowBuilder(true);
  const f = checkType(inst.type).sql(inst, scope, row);
  const ev = f.ev ?? `SELECT b.id, (${f.applies}) AS applies, (${f.bad}) AS bad FROM ${row.from()} ${f.joins ?? ''} WHERE ${baseWhere(inst.resourceType, scope)}`;
  return `WITH base AS (SELECT b.id, b.content, b.compartments FROM resource b WHERE ${baseWhere(inst.resourceType, scope)}),
ev AS (${ev})
SELECT (SELECT count(*) FROM base)::int AS total,
       (count(*) FILTER (WHERE applies))::int AS denominator,
       (count(*) FILTER (WHERE applies AND bad))::int AS numerator,
       (array_agg(id ORDER BY id) FILTER (WHERE applies AND bad))[1:${idCap(scope)}] AS ids
  FROM ev`;
}

/**
 * One statement for all the checks of one resource type (DQD's grouped SQL): a single scan of the
 * type's rows, each element path extracted once per row, each referenced patient or encounter
 * hash-joined once, and per check a count of applicable rows, a count of offending rows and the
 * first offending ids. Returns the SQL and, per instance, the column suffix of its counts.
 */
export function buildGroupSql(type: string, instances: CheckInstance[], scope: SqlScope): string {
  const row = new SqlRowBuilder();
  const evCols: string[] = [];
  const aggs: string[] = ['count(*)::int AS total'];
  instances.forEach((inst, k) => {
    const f = checkType(inst.type).sql(inst, scope, row);
    if (f.ev || f.joins) throw new Error(`Check ${inst.id} cannot be grouped`);
    evCols.push(`(${f.applies}) AS a${k}`, `(CASE WHEN ${f.applies} THEN (${f.bad}) END) AS b${k}`);
    aggs.push(
      `(count(*) FILTER (WHERE a${k}))::int AS d${k}`,
      `(count(*) FILTER (WHERE a${k} AND b${k}))::int AS n${k}`,
      `(array_agg(id ORDER BY id) FILTER (WHERE a${k} AND b${k}))[1:${idCap(scope)}] AS i${k}`,
    );
  });
  return `SELECT ${aggs.join(',\n  ')}
  FROM (SELECT b.id${evCols.map((c) => `, ${c}`).join('')} FROM ${row.from()} WHERE ${baseWhere(type, scope)} OFFSET 0) ev`;
}

/** Whether an instance can share its type's grouped scan (types comparing rows with each other cannot). */
export function groupable(inst: CheckInstance, scope: SqlScope): boolean {
  try {
    const f = checkType(inst.type).sql(inst, scope, new SqlRowBuilder());
    return !f.ev && !f.joins;
  } catch {
    return false;
  }
}

/** reference-exists instances that name their search parameter run as one anti-join over sp_reference. */
export function indexedReference(inst: CheckInstance): string | undefined {
  return inst.type === 'reference-exists' && typeof inst.params.param === 'string' ? inst.params.param : undefined;
}

/**
 * Referential integrity of many (resource type, reference parameter) pairs in one statement: the
 * reference index rows written at write time (sp_reference holds rows of current versions only),
 * anti-joined to the live resources. Per pair: resources with at least one relative reference
 * (denominator), resources with at least one dangling one (numerator), and their first ids.
 */
export function buildReferenceSql(pairs: Array<[string, string]>, scope: SqlScope): string {
  const want = pairs.map(([t, c]) => `(${lit(t)}, ${lit(c)})`).join(', ');
  const inScope = scope.patientId
    ? ` AND EXISTS (SELECT 1 FROM resource b WHERE b.resource_type = s.resource_type AND b.id = s.id AND NOT b.deleted AND ${lit(scope.patientId)} = ANY(b.compartments))`
    : '';
  return `WITH want(rt, code) AS (VALUES ${want}),
refs AS (SELECT s.resource_type AS rt, s.code, s.id, bool_or(t.id IS NULL) AS bad
  FROM sp_reference s JOIN want w ON w.rt = s.resource_type AND w.code = s.code
  LEFT JOIN resource t ON t.resource_type = s.target_type AND t.id = s.target_id AND NOT t.deleted
  WHERE ${isRelRef('s.url')}${inScope}
  GROUP BY s.resource_type, s.code, s.id)
SELECT rt, code, count(*)::int AS denominator, (count(*) FILTER (WHERE bad))::int AS numerator,
       (array_agg(id ORDER BY id) FILTER (WHERE bad))[1:${idCap(scope)}] AS ids
  FROM refs GROUP BY rt, code`;
}

/** Status from counts (the instance's threshold is a percentage of the denominator). */
export function toResult(inst: CheckInstance, counts: CheckCounts, millis: number): CheckResult {
  const base = { checkId: inst.id, title: inst.title, severity: inst.severity, category: inst.category, subcategory: inst.subcategory, resourceType: inst.resourceType, threshold: inst.threshold, millis, ...counts };
  if (counts.total === 0) return { ...base, percentage: null, status: 'not-applicable', reason: `No ${inst.resourceType} resources` };
  if (counts.denominator === 0) return { ...base, percentage: null, status: 'not-applicable', reason: 'No resources the check applies to' };
  const percentage = Math.round((counts.numerator / counts.denominator) * 100_000) / 1000;
  const status: CheckStatus = counts.numerator > 0 && percentage > inst.threshold ? 'failed' : 'passed';
  return { ...base, percentage, status };
}

function errorResult(inst: CheckInstance, err: unknown, millis: number): CheckResult {
  return { ...toResult(inst, { total: 0, denominator: 0, numerator: 0, ids: [] }, millis), percentage: null, status: 'error', reason: (err as Error).message ?? String(err) };
}

function cascade(inst: CheckInstance, done: Map<string, CheckResult>): CheckResult | undefined {
  for (const dep of inst.dependsOn ?? []) {
    const d = done.get(dep);
    if (d && (d.status === 'not-applicable' || d.status === 'error')) {
      return { ...toResult(inst, { total: 0, denominator: 0, numerator: 0, ids: [] }, 0), status: 'not-applicable', reason: `Depends on ${dep}, which is ${d.status}` };
    }
  }
  return undefined;
}

/** Orders instances so dependencies run first (unknown dependencies are ignored). */
export function orderByDependencies(instances: CheckInstance[]): CheckInstance[] {
  const byId = new Map(instances.map((i) => [i.id, i]));
  const out: CheckInstance[] = [];
  const seen = new Set<string>();
  const visit = (i: CheckInstance, stack: Set<string>): void => {
    if (seen.has(i.id) || stack.has(i.id)) return;
    stack.add(i.id);
    for (const d of i.dependsOn ?? []) {
      const di = byId.get(d);
      if (di) visit(di, stack);
    }
    seen.add(i.id);
    out.push(i);
  };
  for (const i of instances) visit(i, new Set());
  return out;
}

export interface RunOptions {
  patientId?: string;
  now?: Date;
  maxIds?: number;
  onProgress?: (done: number, total: number, checkId: string) => void;
}

type Num = number | string;
interface RawCounts { counts?: CheckCounts; error?: unknown; millis: number }

/**
 * Runs checks pushed down to SQL, set-based: one grouped statement per resource type (one scan
 * computing every check of that type), one anti-join over sp_reference for all referential-integrity
 * checks, and one statement per check only for types that compare rows with each other. A statement
 * that fails is retried check by check, so an error stays with the check that caused it. The DQD
 * not-applicable cascade is applied afterwards, in dependency order. `millis` of a grouped check is
 * its share of the statement's time.
 */
export async function runChecksSql(port: SqlPort, instances: CheckInstance[], opts: RunOptions = {}): Promise<CheckResult[]> {
  const scope: SqlScope = { patientId: opts.patientId, now: opts.now ?? new Date(), maxIds: opts.maxIds ?? 1000 };
  const ordered = orderByDependencies(instances);
  const raw = new Map<string, RawCounts>();
  let n = 0;
  const settle = (inst: CheckInstance, r: RawCounts): void => {
    raw.set(inst.id, r);
    opts.onProgress?.(++n, ordered.length, inst.id);
  };
  const single = async (inst: CheckInstance): Promise<void> => {
    const started = Date.now();
    try {
      const { rows } = await port.query<{ total: Num; denominator: Num; numerator: Num; ids: string[] | null }>(buildCheckSql(inst, scope));
      const row = rows[0]!;
      settle(inst, { counts: { total: Number(row.total), denominator: Number(row.denominator), numerator: Number(row.numerator), ids: row.ids ?? [] }, millis: Date.now() - started });
    } catch (err) {
      settle(inst, { error: err, millis: Date.now() - started });
    }
  };

  const byType = new Map<string, CheckInstance[]>();
  for (const inst of ordered) byType.set(inst.resourceType, [...(byType.get(inst.resourceType) ?? []), inst]);
  const totals = new Map<string, number>();

  for (const [type, list] of byType) {
    const grouped = list.filter((i) => !indexedReference(i) && groupable(i, scope));
    const started = Date.now();
    try {
      const { rows } = await port.query<Record<string, Num | string[] | null>>(buildGroupSql(type, grouped, scope));
      const row = rows[0]!;
      totals.set(type, Number(row.total));
      const share = Math.round((Date.now() - started) / Math.max(1, grouped.length));
      grouped.forEach((inst, k) => settle(inst, { counts: { total: Number(row.total), denominator: Number(row[`d${k}`]), numerator: Number(row[`n${k}`]), ids: (row[`i${k}`] as string[] | null) ?? [] }, millis: share }));
    } catch {
      for (const inst of grouped) await single(inst);
    }
    for (const inst of list) if (!raw.has(inst.id) && !indexedReference(inst)) await single(inst);
  }

  const refs = ordered.filter((i) => indexedReference(i));
  if (refs.length) {
    const started = Date.now();
    try {
      const pairs = [...new Map(refs.map((i) => [`${i.resourceType}|${indexedReference(i)}`, [i.resourceType, indexedReference(i)!] as [string, string]])).values()];
      const { rows } = await port.query<{ rt: string; code: string; denominator: Num; numerator: Num; ids: string[] | null }>(buildReferenceSql(pairs, scope));
      const share = Math.round((Date.now() - started) / refs.length);
      for (const inst of refs) {
        const row = rows.find((r) => r.rt === inst.resourceType && r.code === indexedReference(inst));
        let total = totals.get(inst.resourceType);
        if (total === undefined) {
          const t = await port.query<{ n: Num }>(`SELECT count(*)::int AS n FROM resource b WHERE ${baseWhere(inst.resourceType, scope)}`);
          total = Number(t.rows[0]!.n);
          totals.set(inst.resourceType, total);
        }
        settle(inst, { counts: { total, denominator: Number(row?.denominator ?? 0), numerator: Number(row?.numerator ?? 0), ids: row?.ids ?? [] }, millis: share });
      }
    } catch {
      for (const inst of refs) if (!raw.has(inst.id)) await single(inst);
    }
  }

  const done = new Map<string, CheckResult>();
  for (const inst of ordered) {
    const r = raw.get(inst.id)!;
    const result = cascade(inst, done) ?? (r.error !== undefined ? errorResult(inst, r.error, r.millis) : toResult(inst, r.counts!, r.millis));
    done.set(inst.id, result);
  }
  return instances.map((i) => done.get(i.id)!);
}

/** Builds an in-memory context over resources, resolving "Type/id" among them and `extra`. */
export function memoryContext(resources: Resource[], now = new Date(), extra: Resource[] = []): MemoryContext {
  const index = new Map<string, Resource>();
  for (const r of [...extra, ...resources]) if (r.id) index.set(`${r.resourceType}/${r.id}`, r);
  return { resources, now, resolve: (ref) => index.get(ref) };
}

/** Evaluates checks in memory over the resources of ctx (one resource, or one patient's record). */
export function runChecksMemory(instances: CheckInstance[], ctx: MemoryContext, opts: { maxIds?: number } = {}): CheckResult[] {
  const done = new Map<string, CheckResult>();
  for (const inst of orderByDependencies(instances)) {
    const started = Date.now();
    let result = cascade(inst, done);
    if (!result) {
      try {
        const t = checkType(inst.type);
        const rows = ctx.resources.filter((r) => r.resourceType === inst.resourceType);
        let denominator = 0;
        const ids: string[] = [];
        for (const r of rows) {
          const v = t.memory(inst, r, ctx);
          if (!v.applies) continue;
          denominator++;
          if (v.bad) ids.push(r.id ?? '');
        }
        ids.sort();
        result = toResult(inst, { total: rows.length, denominator, numerator: ids.length, ids: ids.slice(0, opts.maxIds ?? 1000) }, Date.now() - started);
      } catch (err) {
        result = errorResult(inst, err, Date.now() - started);
      }
    }
    done.set(inst.id, result);
  }
  return instances.map((i) => done.get(i.id)!);
}
