/**
 * The check engine: runs check instances over the whole database (one SQL statement per check,
 * through a SqlPort) or over resources in memory, and turns counts into results with a status.
 * Not-applicable cascade as in OHDSI DQD: an empty table or an empty denominator is not applicable,
 * and so is a check whose dependency was not applicable or failed to run.
 */
import type { Resource } from '@medplum/fhirtypes';
import { checkType, lit } from './check-types.js';
import type { CheckCounts, CheckInstance, CheckResult, CheckStatus, MemoryContext, SqlPort, SqlScope } from './types.js';

export function buildCheckSql(inst: CheckInstance, scope: SqlScope): string {
  const f = checkType(inst.type).sql(inst, scope);
  const patient = scope.patientId ? ` AND ${lit(scope.patientId)} = ANY(r.compartments)` : '';
  const ev = f.ev ?? `SELECT b.id, (${f.applies}) AS applies, (${f.bad}) AS bad FROM base b ${f.joins ?? ''}`;
  return `WITH base AS (SELECT r.id, r.content, r.compartments FROM resource r WHERE r.resource_type = ${lit(inst.resourceType)} AND NOT r.deleted${patient}),
ev AS (${ev})
SELECT (SELECT count(*) FROM base)::int AS total,
       (count(*) FILTER (WHERE applies))::int AS denominator,
       (count(*) FILTER (WHERE applies AND bad))::int AS numerator,
       (array_agg(id ORDER BY id) FILTER (WHERE applies AND bad))[1:${Math.max(1, Math.floor(scope.maxIds))}] AS ids
  FROM ev`;
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

/** Runs checks pushed down to SQL, one statement per check. A check that throws gets status error. */
export async function runChecksSql(port: SqlPort, instances: CheckInstance[], opts: RunOptions = {}): Promise<CheckResult[]> {
  const scope: SqlScope = { patientId: opts.patientId, now: opts.now ?? new Date(), maxIds: opts.maxIds ?? 1000 };
  const done = new Map<string, CheckResult>();
  const ordered = orderByDependencies(instances);
  let n = 0;
  for (const inst of ordered) {
    const started = Date.now();
    let result = cascade(inst, done);
    if (!result) {
      try {
        const { rows } = await port.query<{ total: number | string; denominator: number | string; numerator: number | string; ids: string[] | null }>(buildCheckSql(inst, scope));
        const row = rows[0]!;
        result = toResult(inst, { total: Number(row.total), denominator: Number(row.denominator), numerator: Number(row.numerator), ids: row.ids ?? [] }, Date.now() - started);
      } catch (err) {
        result = errorResult(inst, err, Date.now() - started);
      }
    }
    done.set(inst.id, result);
    opts.onProgress?.(++n, ordered.length, inst.id);
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
