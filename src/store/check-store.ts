/**
 * Check runs and results (migration 030): every run is stored so scores can be compared over time;
 * plus the reads the quality module needs (one patient's record, the encounters of the deficiency
 * worklist, the deficiency Tasks).
 */
import { randomUUID } from 'node:crypto';
import type { Encounter, Resource, Task } from '@medplum/fhirtypes';
import { DEFAULT_DEFICIENCY_CONFIG, findDeficiencies, reconcileDeficiencyTasks, type DeficiencyConfig } from '../quality/deficiencies.js';
import { delinquencyReport, type DelinquencyOptions, type DelinquencyReport } from '../quality/delinquency.js';
import { writeResources } from './repository.js';
import { memoryContext, runChecksMemory, runChecksSql } from '../checks/engine.js';
import { summarize } from '../checks/summary.js';
import type { CheckInstance, CheckResult } from '../checks/types.js';
import type { Db, Queryable } from './db.js';

export interface CheckRun {
  id: string;
  startedAt: string;
  finishedAt?: string;
  status: 'running' | 'completed' | 'failed';
  scope: { patientId?: string; checks?: string[] };
  progress: { done: number; total: number };
  summary?: RunSummary;
  error?: string;
}

export interface RunSummary {
  checks: number;
  passed: number;
  failed: number;
  notApplicable: number;
  errors: number;
  /** Percentage of applicable checks that passed (DQD's overall score). */
  score: number | null;
  byCategory: Record<string, { passed: number; failed: number; notApplicable: number; errors: number; score: number | null }>;
}

const iso = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : new Date(v as string).toISOString());

interface RunRow {
  id: string;
  started_at: string;
  finished_at: string | null;
  status: CheckRun['status'];
  scope: CheckRun['scope'];
  progress_done: number;
  progress_total: number;
  summary: RunSummary | null;
  error: string | null;
}

const toRun = (r: RunRow): CheckRun => ({
  id: r.id,
  startedAt: iso(r.started_at)!,
  finishedAt: iso(r.finished_at),
  status: r.status,
  scope: typeof r.scope === 'string' ? JSON.parse(r.scope) : r.scope,
  progress: { done: Number(r.progress_done), total: Number(r.progress_total) },
  summary: (typeof r.summary === 'string' ? JSON.parse(r.summary) : r.summary) ?? undefined,
  error: r.error ?? undefined,
});

export async function createRun(q: Queryable, scope: CheckRun['scope'], total: number, now = new Date()): Promise<CheckRun> {
  const id = randomUUID();
  await q.query(`INSERT INTO check_run (id, started_at, status, scope, progress_total) VALUES ($1, $2, 'running', $3::jsonb, $4)`, [id, now.toISOString(), JSON.stringify(scope), total]);
  return { id, startedAt: now.toISOString(), status: 'running', scope, progress: { done: 0, total } };
}

export async function updateProgress(q: Queryable, runId: string, done: number): Promise<void> {
  await q.query('UPDATE check_run SET progress_done = $2 WHERE id = $1', [runId, done]);
}

export async function failRun(q: Queryable, runId: string, error: string): Promise<void> {
  await q.query(`UPDATE check_run SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`, [runId, error]);
}

/** Stores all results of a run in one statement and marks it completed. */
export async function completeRun(q: Queryable, runId: string, results: CheckResult[], summary: RunSummary, now = new Date()): Promise<void> {
  const col = <T>(f: (r: CheckResult) => T): T[] => results.map(f);
  await q.query(
    `INSERT INTO check_result (run_id, check_id, title, severity, category, subcategory, resource_type, threshold, status, numerator, denominator, total, percentage, offending_ids, reason, millis)
     SELECT $1, t.check_id, t.title, t.severity, t.category, t.subcategory, t.resource_type, t.threshold, t.status, t.numerator, t.denominator, t.total, t.percentage,
            ARRAY(SELECT jsonb_array_elements_text(t.ids)), t.reason, t.millis
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::text[], $10::int[], $11::int[], $12::int[], $13::numeric[], $14::jsonb[], $15::text[], $16::int[])
         AS t(check_id, title, severity, category, subcategory, resource_type, threshold, status, numerator, denominator, total, percentage, ids, reason, millis)`,
    [
      runId, col((r) => r.checkId), col((r) => r.title), col((r) => r.severity), col((r) => r.category), col((r) => r.subcategory), col((r) => r.resourceType),
      col((r) => r.threshold), col((r) => r.status), col((r) => r.numerator), col((r) => r.denominator), col((r) => r.total), col((r) => r.percentage),
      col((r) => JSON.stringify(r.ids)), col((r) => r.reason ?? null), col((r) => Math.round(r.millis)),
    ],
  );
  await q.query(`UPDATE check_run SET status = 'completed', finished_at = $2, summary = $3::jsonb, progress_done = progress_total WHERE id = $1`, [runId, now.toISOString(), JSON.stringify(summary)]);
}

export async function listRuns(q: Queryable, limit = 50): Promise<CheckRun[]> {
  const { rows } = await q.query<RunRow>('SELECT * FROM check_run ORDER BY started_at DESC, id LIMIT $1', [limit]);
  return rows.map(toRun);
}

export async function getRun(q: Queryable, id: string): Promise<CheckRun | undefined> {
  const { rows } = await q.query<RunRow>('SELECT * FROM check_run WHERE id = $1', [id]);
  return rows[0] ? toRun(rows[0]) : undefined;
}

/** The completed run before `run` (same scope), for trends. */
export async function previousRun(q: Queryable, run: CheckRun): Promise<CheckRun | undefined> {
  const { rows } = await q.query<RunRow>(
    `SELECT * FROM check_run WHERE status = 'completed' AND started_at < $1 AND scope = $2::jsonb ORDER BY started_at DESC LIMIT 1`,
    [run.startedAt, JSON.stringify(run.scope)],
  );
  return rows[0] ? toRun(rows[0]) : undefined;
}

export async function getResults(q: Queryable, runId: string): Promise<CheckResult[]> {
  const { rows } = await q.query<Record<string, unknown>>('SELECT * FROM check_result WHERE run_id = $1 ORDER BY check_id', [runId]);
  return rows.map((r) => ({
    checkId: String(r.check_id), title: String(r.title), severity: r.severity as CheckResult['severity'], category: r.category as CheckResult['category'],
    subcategory: r.subcategory as CheckResult['subcategory'], resourceType: String(r.resource_type), threshold: Number(r.threshold), status: r.status as CheckResult['status'],
    numerator: Number(r.numerator), denominator: Number(r.denominator), total: Number(r.total), percentage: r.percentage === null ? null : Number(r.percentage),
    ids: (r.offending_ids as string[]) ?? [], reason: (r.reason as string | null) ?? undefined, millis: Number(r.millis),
  }));
}

/** One patient's compartment (and the patient) plus every resource they reference, for in-memory checks. */
export async function loadPatientRecord(q: Queryable, patientId: string): Promise<{ resources: Resource[]; referenced: Resource[] }> {
  const own = await q.query<{ content: Resource }>(
    `SELECT content FROM resource WHERE NOT deleted AND ((resource_type = 'Patient' AND id = $1) OR $1 = ANY(compartments)) ORDER BY resource_type, id`,
    [patientId],
  );
  const referenced = await q.query<{ content: Resource }>(
    `SELECT DISTINCT t.content, t.resource_type, t.id FROM sp_reference s
       JOIN resource r ON r.resource_type = s.resource_type AND r.id = s.id AND NOT r.deleted AND ($1 = ANY(r.compartments) OR (r.resource_type = 'Patient' AND r.id = $1))
       JOIN resource t ON t.resource_type = s.target_type AND t.id = s.target_id AND NOT t.deleted`,
    [patientId],
  );
  return { resources: own.rows.map((r) => r.content), referenced: referenced.rows.map((r) => r.content) };
}

/** Current resources of the given types (optionally one patient's), for the deficiency engine. */
export async function loadResourcesByType(q: Queryable, types: string[], patientId?: string): Promise<Resource[]> {
  const { rows } = await q.query<{ content: Resource }>(
    `SELECT content FROM resource WHERE resource_type = ANY($1::text[]) AND NOT deleted ${patientId ? 'AND $2 = ANY(compartments)' : ''} ORDER BY resource_type, id`,
    patientId ? [types, patientId] : [types],
  );
  return rows.map((r) => r.content);
}

// ---------- running a stored check run (used by the CLI and the API job) ----------

export interface ExecuteRunOptions {
  patientId?: string;
  checkIds?: string[];
  now?: Date;
  onProgress?: (done: number, total: number, checkId: string) => void;
}

/** Creates the run row, returns it, and a promise of the finished run (results stored). */
export async function startCheckRun(db: Db, instances: CheckInstance[], opts: ExecuteRunOptions = {}): Promise<{ run: CheckRun; done: Promise<{ run: CheckRun; results: CheckResult[] }> }> {
  const scope: CheckRun['scope'] = {};
  if (opts.patientId) scope.patientId = opts.patientId;
  if (opts.checkIds?.length) scope.checks = [...opts.checkIds].sort();
  const run = await createRun(db, scope, instances.length);
  const done = (async () => {
    try {
      let results: CheckResult[];
      if (opts.patientId) {
        // One patient: evaluated in memory over the patient's record.
        const rec = await loadPatientRecord(db, opts.patientId);
        results = runChecksMemory(instances, memoryContext(rec.resources, opts.now ?? new Date(), rec.referenced));
        opts.onProgress?.(instances.length, instances.length, '');
      } else {
        let last = 0;
        results = await runChecksSql(db, instances, {
          now: opts.now,
          onProgress: (n, total, id) => {
            opts.onProgress?.(n, total, id);
            if (n - last >= 10 || n === total) {
              last = n;
              void updateProgress(db, run.id, n).catch(() => undefined);
            }
          },
        });
      }
      const s = summarize(results);
      await completeRun(db, run.id, results, { checks: s.checks, passed: s.passed, failed: s.failed, notApplicable: s.notApplicable, errors: s.errors, score: s.score, byCategory: s.byCategory });
      return { run: (await getRun(db, run.id))!, results };
    } catch (err) {
      await failRun(db, run.id, (err as Error).message).catch(() => undefined);
      throw err;
    }
  })();
  return { run, done };
}

// ---------- deficiencies: find, open and close Tasks; delinquency ----------

/** Brings the deficiency Tasks in line with the records (one patient's, or all). Returns what changed. */
export async function syncDeficiencies(db: Db, opts: { now?: Date; patientId?: string; config?: DeficiencyConfig } = {}): Promise<{ found: number; opened: number; closed: number }> {
  const now = opts.now ?? new Date();
  const config = opts.config ?? DEFAULT_DEFICIENCY_CONFIG;
  const resources = await loadDeficiencyCandidates(db, config, opts.patientId);
  const found = findDeficiencies(resources, config);
  return db.transaction(async (tx) => {
    const existing = (await loadDeficiencyTasks(tx, opts.patientId));
    const writes = reconcileDeficiencyTasks(found, existing, now, config);
    await writeResources(tx, writes.map((t) => ({ resourceType: 'Task', id: t.id!, method: 'PUT' as const, resource: t })), now);
    return { found: found.length, opened: writes.filter((t) => t.status === 'requested').length, closed: writes.filter((t) => t.status === 'completed').length };
  });
}

/**
 * Only what the deficiency rules can act on, selected in SQL rather than every encounter and document:
 * tracked encounters (finished, of a tracked class, discharged) and the encounters an unsigned note,
 * a draft order or a completed procedure points to; documents on tracked encounters and every
 * unsigned current document; the encounter reference of each Condition on a tracked encounter (all
 * the rules read of a Condition); completed procedures on tracked encounters; draft orders.
 */
export async function loadDeficiencyCandidates(q: Queryable, config: DeficiencyConfig, patientId?: string): Promise<Resource[]> {
  const scope = patientId ? 'AND $2 = ANY(r.compartments)' : '';
  const params: unknown[] = patientId ? [config.encounterClasses, patientId] : [config.encounterClasses];
  const { rows } = await q.query<{ content: Resource }>(
    `WITH tracked AS (
       SELECT 'Encounter/' || r.id AS ref FROM resource r
        WHERE r.resource_type = 'Encounter' AND NOT r.deleted ${scope} AND r.content ->> 'status' = 'finished'
          AND r.content #>> '{class,code}' = ANY($1::text[]) AND (r.content #>> '{period,end}') IS NOT NULL),
     docs AS (
       SELECT r.content FROM resource r
        WHERE r.resource_type = 'DocumentReference' AND NOT r.deleted ${scope}
          AND ((r.content ->> 'status' = 'current' AND COALESCE(r.content ->> 'docStatus', '') <> 'entered-in-error'
                AND NOT (COALESCE(r.content ->> 'docStatus', '') IN ('final', 'amended') AND COALESCE(r.content #>> '{authenticator,reference}', '') <> ''))
            OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.content #> '{context,encounter}') = 'array' THEN r.content #> '{context,encounter}' ELSE '[]' END) e
                        WHERE e ->> 'reference' IN (SELECT ref FROM tracked)))),
     orders AS (
       SELECT r.content FROM resource r
        WHERE r.resource_type IN ('MedicationRequest', 'ServiceRequest') AND NOT r.deleted ${scope} AND r.content ->> 'status' = 'draft'),
     procs AS (
       SELECT r.content FROM resource r
        WHERE r.resource_type = 'Procedure' AND NOT r.deleted ${scope} AND r.content ->> 'status' = 'completed'
          AND r.content #>> '{encounter,reference}' IN (SELECT ref FROM tracked)),
     dx AS (
       SELECT DISTINCT jsonb_build_object('resourceType', 'Condition', 'id', 'dx', 'encounter', jsonb_build_object('reference', r.content #>> '{encounter,reference}')) AS content
         FROM resource r
        WHERE r.resource_type = 'Condition' AND NOT r.deleted ${scope} AND r.content #>> '{encounter,reference}' IN (SELECT ref FROM tracked)),
     encs AS (
       SELECT r.content FROM resource r
        WHERE r.resource_type = 'Encounter' AND NOT r.deleted ${scope}
          AND ('Encounter/' || r.id IN (SELECT ref FROM tracked)
            OR 'Encounter/' || r.id IN (SELECT content #>> '{context,encounter,0,reference}' FROM docs)
            OR 'Encounter/' || r.id IN (SELECT content #>> '{encounter,reference}' FROM orders)))
     SELECT content FROM encs UNION ALL SELECT content FROM docs UNION ALL SELECT content FROM orders
     UNION ALL SELECT content FROM procs UNION ALL SELECT content FROM dx`,
    params,
  );
  return rows.map((r) => r.content);
}

export async function loadDeficiencyTasks(q: Queryable, patientId?: string): Promise<Task[]> {
  const { rows } = await q.query<{ content: Task }>(
    `SELECT content FROM resource WHERE resource_type = 'Task' AND NOT deleted AND id LIKE 'def-%'
        AND content @> '{"code":{"coding":[{"system":"http://custodian.dev/fhir/CodeSystem/work-type","code":"deficiency"}]}}'::jsonb
        ${patientId ? `AND content #>> '{for,reference}' = $1` : ''} ORDER BY id`,
    patientId ? [`Patient/${patientId}`] : [],
  );
  return rows.map((r) => r.content);
}

export async function deficiencyReport(db: Db, opts: DelinquencyOptions): Promise<DelinquencyReport> {
  const tasks = await loadDeficiencyTasks(db);
  const encounters = (await loadResourcesByType(db, ['Encounter'])) as Encounter[];
  return delinquencyReport(tasks, encounters, opts);
}
