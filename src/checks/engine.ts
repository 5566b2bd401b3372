/**
 * The check engine: runs check instances over the whole database (one SQL statement per check,
 * through a SqlPort) or over resources in memory, and turns counts into results with a status.
 * Not-applicable cascade as in OHDSI DQD: an empty table or an empty denominator is not applicable,
 * and so is a check whose dependency was not applicable or failed to run.
 */
import type { Resource } from '@medplum/fhirtypes';
import { searchParam } from '../fhir/search-parameters.js';
import { checkType, isRelRef, lit, SqlRowBuilder } from './check-types.js';
import type { CheckCounts, CheckInstance, CheckResult, CheckStatus, MemoryContext, SqlPort, SqlScope } from './types.js';

const baseWhere = (type: string, scope: SqlScope): string =>
  `b.resource_type = ${lit(type)} AND NOT b.deleted${scope.patientId ? ` AND ${lit(scope.patientId)} = ANY(b.compartments)` : ''}`;
const idCap = (scope: SqlScope): number => Math.max(1, Math.floor(scope.maxIds));

/** A half-open range [lo, hi) of the ids of one resource type (an end left out is open). */
export interface IdRange {
  lo?: string;
  hi?: string;
}
const rangeWhere = (r: IdRange | undefined, col: string): string =>
  `${r?.lo !== undefined ? ` AND ${col} >= ${lit(r.lo)}` : ''}${r?.hi !== undefined ? ` AND ${col} < ${lit(r.hi)}` : ''}`;

/** One statement for one check (used for types that compare rows with each other, and as the fallback). */
export function buildCheckSql(inst: CheckInstance, scope: SqlScope): string {
  // Lazy: each derived value is computed only where this check applies, as the rule reads.
  const row = new SqlRowBuilder(true);
  const f = checkType(inst.type).sql(inst, scope, row);
  const ev = f.ev ?? `SELECT b.id, (${f.applies}) AS applies, (${f.bad}) AS bad FROM ${row.from()} ${f.joins ?? ''} WHERE ${baseWhere(inst.resourceType, scope)}`;
  // base holds ids only: it is read twice (so materialised), and copying every row's JSON into it cost more than the check.
  return `WITH base AS (SELECT b.id FROM resource b WHERE ${baseWhere(inst.resourceType, scope)}),
ev AS (${ev})
SELECT (SELECT count(*) FROM base)::int AS total,
       (count(*) FILTER (WHERE applies))::int AS denominator,
       (count(*) FILTER (WHERE applies AND bad))::int AS numerator,
       (array_agg(id ORDER BY id) FILTER (WHERE applies AND bad))[1:${idCap(scope)}] AS ids
  FROM ev`;
}

/**
 * One statement for all the checks of one resource type (DQD's grouped SQL), optionally over one
 * range of its ids: a single scan of the type's rows, each element path extracted and each derived
 * value computed once per row, each referenced patient or encounter hash-joined once, and per check
 * a count of applicable rows, a count of offending rows and the first offending ids (by id).
 */
export function buildGroupSql(type: string, instances: CheckInstance[], scope: SqlScope, range?: IdRange): string {
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
  FROM (SELECT b.id${evCols.map((c) => `, ${c}`).join('')} FROM ${row.from()} WHERE ${baseWhere(type, scope)}${rangeWhere(range, 'b.id')} OFFSET 0) ev`;
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
  if (inst.type !== 'reference-exists' || typeof inst.params.param !== 'string') return undefined;
  // a parameter stored as another's rows (Observation `patient`) has no rows of its own: checked by path
  return searchParam(inst.resourceType, inst.params.param)?.storedAs ? undefined : inst.params.param;
}

/**
 * Referential integrity of many (resource type, reference parameter) pairs in one statement: the
 * reference index rows written at write time (sp_reference holds rows of current versions only),
 * anti-joined to the live resources. Per pair: resources with at least one relative reference
 * (denominator), resources with at least one dangling one (numerator), and their first ids. With a
 * range, every pair must be of one resource type, and only its ids in the range are counted.
 */
export function buildReferenceSql(pairs: Array<[string, string]>, scope: SqlScope, range?: IdRange): string {
  const want = pairs.map(([t, c]) => `(${lit(t)}, ${lit(c)})`).join(', ');
  const inScope = scope.patientId
    ? ` AND EXISTS (SELECT 1 FROM resource b WHERE b.resource_type = s.resource_type AND b.id = s.id AND NOT b.deleted AND ${lit(scope.patientId)} = ANY(b.compartments))`
    : '';
  const types = [...new Set(pairs.map(([t]) => t))];
  if (range && types.length !== 1) throw new Error('An id range needs the pairs of one resource type');
  // Naming the type(s) lets the scan use sp_reference's (resource_type, id) index, and the range.
  const typeWhere = ` AND s.resource_type IN (${types.map(lit).join(', ')})${rangeWhere(range, 's.id')}`;
  // Each distinct target is probed once (not once per reference: a patient has hundreds), and the
  // few dangling ones are then looked up per reference in a hashed set.
  return `WITH want(rt, code) AS (VALUES ${want}),
r AS MATERIALIZED (SELECT s.resource_type AS rt, s.code, s.id, s.target_type, s.target_id
  FROM sp_reference s JOIN want w ON w.rt = s.resource_type AND w.code = s.code
  WHERE ${isRelRef('s.url')}${typeWhere}${inScope}),
dead AS (SELECT g.target_type, g.target_id
  FROM (SELECT DISTINCT target_type, target_id FROM r WHERE target_type IS NOT NULL AND target_id IS NOT NULL) g
  WHERE NOT EXISTS (SELECT 1 FROM resource t WHERE t.resource_type = g.target_type AND t.id = g.target_id AND NOT t.deleted)),
refs AS (SELECT rt, code, id,
    bool_or(target_type IS NULL OR target_id IS NULL OR (target_type, target_id) IN (SELECT target_type, target_id FROM dead)) AS bad
  FROM r GROUP BY rt, code, id)
SELECT rt, code, count(*)::int AS denominator, (count(*) FILTER (WHERE bad))::int AS numerator,
       (array_agg(id ORDER BY id) FILTER (WHERE bad))[1:${idCap(scope)}] AS ids
  FROM refs GROUP BY rt, code`;
}

/**
 * Splits the larger resource types into id ranges of about `chunkRows` rows, from a sample of the
 * table's pages (TABLESAMPLE SYSTEM): quantiles of the sampled ids, in the database's own order, so
 * the ranges partition the ids exactly whatever the sample (only their balance depends on it).
 * Returns the estimated row count and the ranges of each sampled type.
 */
export function buildSampleSql(types: string[], percent: number): string {
  const fractions = Array.from({ length: SAMPLE_QUANTILES - 1 }, (_, j) => (j + 1) / SAMPLE_QUANTILES);
  return `SELECT resource_type AS rt, count(*)::int AS n, percentile_disc(ARRAY[${fractions.join(', ')}]::float8[]) WITHIN GROUP (ORDER BY id) AS bounds
  FROM resource TABLESAMPLE SYSTEM (${percent}) WHERE resource_type IN (${types.map(lit).join(', ')}) AND NOT deleted GROUP BY resource_type`;
}
const SAMPLE_QUANTILES = 64;

/** Id ranges for a type of about `rows` rows, from its sampled quantiles (ordered as the database orders ids). */
export function chunkRanges(rows: number, bounds: string[], chunkRows: number): IdRange[] {
  const k = Math.min(bounds.length + 1, Math.ceil(rows / Math.max(1, chunkRows)));
  if (k <= 1) return [{}];
  const cuts: string[] = [];
  for (let j = 1; j < k; j++) {
    const b = bounds[Math.round((j * (bounds.length + 1)) / k) - 1]!;
    if (cuts[cuts.length - 1] !== b) cuts.push(b);
  }
  return [{ hi: cuts[0] }, ...cuts.slice(1).map((hi, j) => ({ lo: cuts[j], hi })), { lo: cuts[cuts.length - 1] }];
}

/** Status from counts (the instance's threshold is a percentage of the denominator). */
export function toResult(inst: CheckInstance, counts: CheckCounts, millis: number): CheckResult {
  // one literal per outcome, the counts' members written out (a spread in the middle of a literal is slow)
  const { total, denominator, numerator, ids } = counts;
  const { id: checkId, title, severity, category, subcategory, resourceType, threshold } = inst;
  if (total === 0) {
    return { checkId, title, severity, category, subcategory, resourceType, threshold, millis, total, denominator, numerator, ids, percentage: null, status: 'not-applicable', reason: `No ${resourceType} resources` };
  }
  if (denominator === 0) {
    return { checkId, title, severity, category, subcategory, resourceType, threshold, millis, total, denominator, numerator, ids, percentage: null, status: 'not-applicable', reason: 'No resources the check applies to' };
  }
  const percentage = Math.round((numerator / denominator) * 100_000) / 1000;
  const status: CheckStatus = numerator > 0 && percentage > threshold ? 'failed' : 'passed';
  return { checkId, title, severity, category, subcategory, resourceType, threshold, millis, total, denominator, numerator, ids, percentage, status };
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
  /** Statements in flight at once, on as many connections (default 2; PGlite runs them in turn). */
  concurrency?: number;
  /** Whole-database runs split a resource type into id ranges of about this many rows (default 200,000). */
  chunkRows?: number;
}

type Num = number | string;
interface RawCounts { counts?: CheckCounts; error?: unknown; millis: number }

/** A statement of the run: its estimated cost (for longest-first scheduling) and what to do with it. */
interface Work {
  cost: number;
  run(): Promise<void>;
}

/**
 * Runs one statement with JIT compilation off, in its own transaction when the port has them: the
 * grouped statements are large expressions, which LLVM takes seconds to compile, per statement.
 * work_mem is raised so the sorts of the reference anti-join (a row per reference) stay in memory.
 */
async function runStatement<R>(port: SqlPort, sql: string): Promise<R[]> {
  if (!port.transaction) return (await port.query<R>(sql)).rows;
  return port.transaction(async (tx) => {
    await tx.query(`SET LOCAL jit = off`);
    await tx.query(`SET LOCAL work_mem = '64MB'`);
    return (await tx.query<R>(sql)).rows;
  });
}

/** Runs the work longest first on `concurrency` workers. */
async function runPool(items: Work[], concurrency: number): Promise<void> {
  const queue = [...items].sort((a, b) => b.cost - a.cost);
  const worker = async (): Promise<void> => {
    for (let w = queue.shift(); w; w = queue.shift()) await w.run();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, queue.length)) }, worker));
}

/** Sums the counts of the id ranges of one type (in range order, so the ids stay ordered by id). */
function mergeCounts(parts: CheckCounts[], cap: number): CheckCounts {
  return {
    total: parts.reduce((n, p) => n + p.total, 0),
    denominator: parts.reduce((n, p) => n + p.denominator, 0),
    numerator: parts.reduce((n, p) => n + p.numerator, 0),
    ids: parts.flatMap((p) => p.ids).slice(0, cap),
  };
}

/**
 * Runs checks pushed down to SQL, set-based: one grouped statement per resource type (one scan
 * computing every check of that type), one anti-join over sp_reference per type for the
 * referential-integrity checks, and one statement per check only for types that compare rows with
 * each other. Over the whole database, the larger types are split into id ranges (chunkRows), and
 * the statements run longest first on `concurrency` connections; the counts of the ranges add up
 * and their ids, in range order, stay ordered by id, so the results equal those of one statement.
 * A statement that fails is retried check by check over the whole type, so an error stays with the
 * check that caused it. The DQD not-applicable cascade is applied afterwards, in dependency order.
 * `millis` of a grouped check is its share of its statements' time.
 */
export async function runChecksSql(port: SqlPort, instances: CheckInstance[], opts: RunOptions = {}): Promise<CheckResult[]> {
  const scope: SqlScope = { patientId: opts.patientId, now: opts.now ?? new Date(), maxIds: opts.maxIds ?? 1000 };
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 2));
  const chunkRows = opts.chunkRows ?? 200_000;
  const cap = idCap(scope);
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
      const rows = await runStatement<{ total: Num; denominator: Num; numerator: Num; ids: string[] | null }>(port, buildCheckSql(inst, scope));
      const row = rows[0]!;
      settle(inst, { counts: { total: Number(row.total), denominator: Number(row.denominator), numerator: Number(row.numerator), ids: row.ids ?? [] }, millis: Date.now() - started });
    } catch (err) {
      settle(inst, { error: err, millis: Date.now() - started });
    }
  };

  const byType = new Map<string, CheckInstance[]>();
  for (const inst of ordered) byType.set(inst.resourceType, [...(byType.get(inst.resourceType) ?? []), inst]);

  // Id ranges and row estimates of the larger types (whole database, several connections only).
  const ranges = new Map<string, IdRange[]>();
  const estimate = new Map<string, number>();
  if (!scope.patientId && concurrency > 1 && byType.size) {
    const percent = 1;
    try {
      const rows = await runStatement<{ rt: string; n: Num; bounds: string[] | null }>(port, buildSampleSql([...byType.keys()], percent));
      for (const r of rows) {
        const est = (Number(r.n) * 100) / percent;
        estimate.set(r.rt, est);
        ranges.set(r.rt, chunkRanges(est, r.bounds ?? [], chunkRows));
      }
    } catch {
      // No sample: every type in one piece.
    }
  }
  const rangesOf = (type: string): IdRange[] => ranges.get(type) ?? [{}];
  const rowsOf = (type: string): number => estimate.get(type) ?? 0;

  const totals = new Map<string, number>();
  const work: Work[] = [];
  const groupFailed = new Set<string>();
  const refFailed = new Set<string>();
  const refCounts = new Map<string, RawCounts>();

  for (const [type, list] of byType) {
    const grouped = list.filter((i) => !indexedReference(i) && groupable(i, scope));
    const parts = rangesOf(type);
    const results: Array<Record<string, Num | string[] | null> | undefined> = parts.map(() => undefined);
    let millis = 0;
    let left = parts.length;
    parts.forEach((range, p) => {
      work.push({
        cost: (rowsOf(type) / parts.length) * (1 + grouped.length),
        run: async () => {
          const started = Date.now();
          try {
            results[p] = (await runStatement<Record<string, Num | string[] | null>>(port, buildGroupSql(type, grouped, scope, range)))[0]!;
          } catch {
            groupFailed.add(type);
          }
          millis += Date.now() - started;
          if (--left > 0 || groupFailed.has(type)) return;
          const rows = results as Array<Record<string, Num | string[] | null>>;
          totals.set(type, rows.reduce((t, r) => t + Number(r.total), 0));
          const share = Math.round(millis / Math.max(1, grouped.length));
          grouped.forEach((inst, k) => {
            const counts = mergeCounts(rows.map((r) => ({ total: Number(r.total), denominator: Number(r[`d${k}`]), numerator: Number(r[`n${k}`]), ids: (r[`i${k}`] as string[] | null) ?? [] })), cap);
            settle(inst, { counts, millis: share });
          });
        },
      });
    });
    // Types that compare rows with each other: one statement per check, over the whole type.
    for (const inst of list) {
      if (!indexedReference(inst) && !grouped.includes(inst)) work.push({ cost: rowsOf(type) * 4, run: () => single(inst) });
    }

    const refs = list.filter((i) => indexedReference(i));
    if (refs.length) {
      const pairs = [...new Map(refs.map((i) => [indexedReference(i)!, [type, indexedReference(i)!] as [string, string]])).values()];
      const refResults: Array<Array<{ code: string; denominator: Num; numerator: Num; ids: string[] | null }>> = [];
      let refMillis = 0;
      let refLeft = parts.length;
      parts.forEach((range, p) => {
        work.push({
          cost: (rowsOf(type) / parts.length) * pairs.length * 2,
          run: async () => {
            const started = Date.now();
            try {
              refResults[p] = await runStatement(port, buildReferenceSql(pairs, scope, range));
            } catch {
              refFailed.add(type);
            }
            refMillis += Date.now() - started;
            if (--refLeft > 0 || refFailed.has(type)) return;
            const share = Math.round(refMillis / refs.length);
            for (const inst of refs) {
              const code = indexedReference(inst);
              const counts = mergeCounts(refResults.map((rows) => {
                const row = rows.find((r) => r.code === code);
                return { total: 0, denominator: Number(row?.denominator ?? 0), numerator: Number(row?.numerator ?? 0), ids: row?.ids ?? [] };
              }), cap);
              refCounts.set(inst.id, { counts, millis: share });
            }
          },
        });
      });
    }
  }

  await runPool(work, concurrency);

  // Retries, check by check over the whole type, of the statements that failed.
  const retry: Work[] = [];
  for (const [type, list] of byType) {
    for (const inst of list) {
      if (raw.has(inst.id)) continue;
      if (indexedReference(inst) ? refFailed.has(type) : groupFailed.has(type)) retry.push({ cost: 0, run: () => single(inst) });
    }
  }
  await runPool(retry, concurrency);

  // Referential integrity: the total is the type's row count (from its grouped statement, or counted).
  for (const [type, list] of byType) {
    for (const inst of list) {
      const r = refCounts.get(inst.id);
      if (!r || raw.has(inst.id)) continue;
      let total = totals.get(type);
      if (total === undefined) {
        const t = await port.query<{ n: Num }>(`SELECT count(*)::int AS n FROM resource b WHERE ${baseWhere(type, scope)}`);
        total = Number(t.rows[0]!.n);
        totals.set(type, total);
      }
      settle(inst, { counts: { ...r.counts!, total }, millis: r.millis });
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
