/**
 * The master patient index over the store: blocking keys per Patient, the fitted model, the
 * duplicate-detection job (review Tasks and auto-links), $match, merge and unmerge.
 */
import { createHash } from 'node:crypto';
import type { Bundle, Patient, Provenance, Resource, Task } from '@medplum/fhirtypes';
import { badRequest, conflict, issue, notFound, OperationOutcomeError, outcome } from '../fhir/outcomes.js';
import { blockingKeys, keyCap } from '../mpi/blocking.js';
import { DEFAULT_CONFIG } from '../mpi/default-config.js';
import { patientToPerson } from '../mpi/fhir-person.js';
import { clusterMatches, deduplicateWith, matchRecord } from '../mpi/matcher.js';
import { parallelComparison } from '../mpi/pair-workers.js';
import { isMergeProvenance, mergeProvenance, NOT_REPOINTED, repoint, retiredSource, survivingTarget, undoSteps, UNMERGE_ACTIVITY, type WrittenVersion } from '../mpi/merge-plan.js';
import { explainPair, type Explanation } from '../mpi/model.js';
import { detectOverlay } from '../mpi/overlay.js';
import { prepare } from '../mpi/prepare.js';
import type { MatchGrade, MatcherConfig, ModelParameters, PersonRecord } from '../mpi/types.js';
import type { Db, Queryable } from './db.js';
import { readCurrent, readMany, writeResources, type WriteRequest } from './repository.js';

export const WORK_TYPE_SYSTEM = 'http://custodian.dev/fhir/CodeSystem/work-type';
export const MATCH_GRADE_URL = 'http://hl7.org/fhir/StructureDefinition/match-grade';
/** Common practice (configurable): a possible duplicate is reviewed within 30 days. */
export const REVIEW_DAYS = 30;

const parse = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

/** A merged-away record (inactive, replaced-by) takes no part in matching. */
function isRetired(p: Patient): boolean {
  return p.active === false && !!p.link?.some((l) => l.type === 'replaced-by');
}

export async function loadPatients(q: Queryable, ids?: string[]): Promise<Patient[]> {
  const r = ids
    ? await q.query<{ content: unknown }>(`SELECT content FROM resource WHERE resource_type = 'Patient' AND NOT deleted AND id = ANY($1::text[])`, [ids])
    : await q.query<{ content: unknown }>(`SELECT content FROM resource WHERE resource_type = 'Patient' AND NOT deleted ORDER BY id`);
  return r.rows.map((row) => parse<Patient>(row.content)).filter((p) => !isRetired(p));
}

const SYNC_BATCH = 5000;
/** Writes that commit later than their last_updated says are caught by re-reading this far back. */
const SYNC_MARGIN_MS = 5 * 60_000;

/**
 * Brings mpi_key up to date with the current Patient versions. Only Patients written since the last
 * sync (a watermark on last_updated, kept in mpi_model as 'sync', less a margin for late commits) are
 * looked at: a call with nothing new costs one index probe; the first indexes every Patient, in
 * pages. A write that commits more than the margin after its last_updated is picked up only once a
 * later write moves past the watermark.
 */
export async function syncKeys(db: Db, config: MatcherConfig = DEFAULT_CONFIG): Promise<number> {
  const mark = (await db.query<{ params: unknown }>(`SELECT params FROM mpi_model WHERE id = 'sync'`)).rows[0];
  const watermark = mark ? parse<{ watermark: string }>(mark.params).watermark : undefined;
  // Both probes are ordered as the (resource_type, last_updated, id) index reads, so that the planner
  // takes it: by the last_updated index alone it walks through every newer resource of other types
  // (after a run's 100,000 Tasks at 1M Patients, 40-60 ms per $match).
  const latest = (await db.query<{ t: unknown }>(`SELECT last_updated AS t FROM resource WHERE resource_type = 'Patient' ORDER BY last_updated DESC, id DESC LIMIT 1`)).rows[0]?.t;
  if (latest === null || latest === undefined) return 0;
  const latestIso = latest instanceof Date ? latest.toISOString() : new Date(String(latest)).toISOString();
  if (watermark) {
    // Nothing written since the last sync: one index probe.
    const newer = await db.query(`SELECT 1 FROM resource WHERE resource_type = 'Patient' AND last_updated > $1::timestamptz ORDER BY last_updated, id LIMIT 1`, [watermark]);
    if (newer.rows.length === 0) return 0;
  }
  const since = watermark ? new Date(Date.parse(watermark) - SYNC_MARGIN_MS).toISOString() : '-infinity';
  let done = 0;
  // Keyset over (last_updated, id), the order of the resource_type_updated index.
  let afterTime = since;
  let afterId = '';
  for (;;) {
    const stale = await db.query<{ id: string; version_id: number; deleted: boolean; content: unknown; last_updated: unknown }>(
      `SELECT r.id, r.version_id, r.deleted, r.content, r.last_updated FROM resource r
         LEFT JOIN mpi_indexed m ON m.patient_id = r.id
        WHERE r.resource_type = 'Patient' AND (r.last_updated, r.id) > ($1::timestamptz, $2::text)
          AND (m.patient_id IS NULL OR m.version_id <> r.version_id)
        ORDER BY r.last_updated, r.id LIMIT ${SYNC_BATCH}`,
      [afterTime, afterId],
    );
    if (stale.rows.length === 0) break;
    const edge = stale.rows.at(-1)!;
    afterTime = edge.last_updated instanceof Date ? edge.last_updated.toISOString() : String(edge.last_updated);
    afterId = edge.id;
    done += stale.rows.length;
    const batch = stale.rows.map((row) => ({ id: row.id, versionId: Number(row.version_id), deleted: row.deleted, patient: parse<Patient>(row.content) }));
    await db.transaction((tx) => writeKeys(tx, batch, config));
  }
  if (watermark === latestIso) return done;
  await db.query(
    `INSERT INTO mpi_model (id, params, fitted_at) VALUES ('sync', $1::jsonb, now())
     ON CONFLICT (id) DO UPDATE SET params = excluded.params, fitted_at = excluded.fitted_at`,
    [JSON.stringify({ watermark: latestIso })],
  );
  return done;
}

export interface KeyedVersion {
  id: string;
  versionId: number;
  deleted: boolean;
  patient: Patient;
}

/** The mpi_key rows of Patient versions, as columns (patient id, key); deleted and retired ones have none. */
export function keyRows(batch: KeyedVersion[], config: MatcherConfig = DEFAULT_CONFIG): { pids: string[]; keys: string[] } {
  const pids: string[] = [];
  const keys: string[] = [];
  for (const row of batch) {
    if (row.deleted || isRetired(row.patient)) continue;
    for (const k of new Set(blockingKeys(prepare(patientToPerson(row.patient), config), config))) {
      pids.push(row.id);
      keys.push(k);
    }
  }
  return { pids, keys };
}

/**
 * Replaces the mpi_key rows of these Patient versions by their blocking keys and records them as
 * indexed (syncKeys' step per page).
 */
export async function writeKeys(q: Queryable, batch: KeyedVersion[], config: MatcherConfig = DEFAULT_CONFIG): Promise<void> {
  const { pids, keys } = keyRows(batch, config);
  await q.query('DELETE FROM mpi_key WHERE patient_id = ANY($1::text[])', [batch.map((b) => b.id)]);
  if (keys.length) await q.query('INSERT INTO mpi_key (patient_id, key) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [pids, keys]);
  await q.query(
    `INSERT INTO mpi_indexed (patient_id, version_id) SELECT * FROM unnest($1::text[], $2::int[])
     ON CONFLICT (patient_id) DO UPDATE SET version_id = excluded.version_id`,
    [batch.map((b) => b.id), batch.map((b) => b.versionId)],
  );
}

interface StoredParams extends Omit<ModelParameters, 'tf'> {
  tf: Record<string, [string, number][]>;
  /** The comparisons the parameters were fitted for, in order (absent in models saved before 8 Dec 2026). */
  kinds?: string[];
}

export async function saveModel(q: Queryable, params: ModelParameters, config: MatcherConfig = DEFAULT_CONFIG): Promise<void> {
  const tf: StoredParams['tf'] = {};
  for (const [k, m] of Object.entries(params.tf)) tf[k] = [...m.entries()];
  const kinds = config.comparisons.map((c) => c.kind);
  await q.query(
    `INSERT INTO mpi_model (id, params, fitted_at) VALUES ('default', $1::jsonb, now())
     ON CONFLICT (id) DO UPDATE SET params = excluded.params, fitted_at = excluded.fitted_at`,
    [JSON.stringify({ ...params, tf, kinds })],
  );
}

/** Whether stored parameters were fitted for this configuration's comparisons (the same kinds and levels). */
function fitsConfig(s: StoredParams, config: MatcherConfig): boolean {
  const cs = config.comparisons;
  if (s.kinds && (s.kinds.length !== cs.length || s.kinds.some((k, i) => k !== cs[i]!.kind))) return false;
  return s.m.length === cs.length && s.u.length === cs.length && cs.every((c, k) => s.m[k]!.length === c.levels.length && s.u[k]!.length === c.levels.length);
}

/** The last model read per database, by the time it was fitted (its term-frequency tables are large to parse). */
const modelCache = new WeakMap<Queryable, { key: string; config: MatcherConfig; params: ModelParameters }>();

/** The fitted model, or the configured defaults before any run. */
export async function loadModel(q: Queryable, config: MatcherConfig = DEFAULT_CONFIG): Promise<ModelParameters> {
  const stamp = (await q.query<{ fitted_at: unknown }>(`SELECT fitted_at FROM mpi_model WHERE id = 'default'`)).rows[0];
  const cacheKey = stamp ? String(stamp.fitted_at instanceof Date ? stamp.fitted_at.toISOString() : stamp.fitted_at) : '';
  const cached = modelCache.get(q);
  if (stamp && cached?.key === cacheKey && cached.config === config) return cached.params;
  const r = stamp ? await q.query<{ params: unknown }>(`SELECT params FROM mpi_model WHERE id = 'default'`) : { rows: [] };
  const row = r.rows[0];
  const s = row ? parse<StoredParams>(row.params) : undefined;
  // Before any run, or after the comparisons were configured differently: the configured defaults
  // until the next run fits the model again.
  if (!s || !fitsConfig(s, config)) {
    return {
      m: config.comparisons.map((c) => c.m.slice()),
      u: config.comparisons.map((c) => c.u.slice()),
      lambda: 1e-4,
      tf: {},
      source: { m: 'default', u: 'default', iterations: 0, pairs: 0 },
    };
  }
  const tf: ModelParameters['tf'] = {};
  for (const [k, entries] of Object.entries(s.tf)) tf[Number(k)] = new Map(entries);
  const { kinds: _kinds, ...fitted } = s;
  const params = { ...fitted, tf };
  modelCache.set(q, { key: cacheKey, config, params });
  return params;
}

export function grade(probability: number, config: MatcherConfig = DEFAULT_CONFIG): MatchGrade {
  const { match, possible } = config.thresholds;
  if (probability >= match) return 'certain';
  if (probability >= (match + possible) / 2) return 'probable';
  if (probability >= possible) return 'possible';
  return 'certainly-not';
}

/**
 * A candidate's grade as the whole-store run would treat the pair: a pair the matcher never links
 * on its own (an impossible birth date, an SSN conflict read as a wrong number) is 'possible' at
 * best, and one it reads as two people (an SSN conflict the rest of the identity does not explain)
 * is 'certainly-not', however high its probability.
 */
export function candidateGrade(ex: Explanation, config: MatcherConfig = DEFAULT_CONFIG): MatchGrade {
  if (ex.reviewReason && ex.classification === 'non-match') return 'certainly-not';
  const g = grade(ex.probability, config);
  return ex.reviewReason && (g === 'certain' || g === 'probable') ? 'possible' : g;
}

/** On a $match entry's search: why the pair is graded 'possible' at best (Explanation.reviewReason). */
export const MATCH_REVIEW_REASON_URL = 'http://custodian.dev/fhir/StructureDefinition/match-review-reason';

export interface MatchOptions {
  count?: number;
  onlyCertainMatches?: boolean;
}

/** Patient/$match: candidates by blocking key, scored, best first, as a searchset Bundle. */
export async function matchPatient(db: Db, patient: Patient, opts: MatchOptions = {}, config: MatcherConfig = DEFAULT_CONFIG): Promise<Bundle> {
  await syncKeys(db, config);
  const query = patientToPerson({ ...patient, id: patient.id ?? '' });
  const keys = blockingKeys(prepare(query, config), config);
  // The blocks the whole-store run would compare: a key shared by more records than its rule's cap
  // is left out here as it is there.
  const sizes = keys.length ? (await db.query<{ key: string; n: number }>('SELECT key, count(*)::int AS n FROM mpi_key WHERE key = ANY($1::text[]) GROUP BY key', [keys])).rows : [];
  const usable = sizes.filter((r) => Number(r.n) < keyCap(r.key, config)).map((r) => r.key);
  const ids = usable.length
    ? (await db.query<{ patient_id: string }>('SELECT DISTINCT patient_id FROM mpi_key WHERE key = ANY($1::text[]) LIMIT 5000', [usable])).rows.map((r) => r.patient_id)
    : [];
  const patients = await loadPatients(db, ids);
  const byId = new Map(patients.map((p) => [p.id!, p]));
  const params = await loadModel(db, config);
  let results = matchRecord(query, patients.map(patientToPerson), params, config)
    .map((c) => ({ patient: byId.get(c.record.id)!, explanation: c.explanation, grade: candidateGrade(c.explanation, config) }))
    .filter((c) => c.grade !== 'certainly-not');
  if (opts.onlyCertainMatches) results = results.filter((c) => c.grade === 'certain');
  results = results.slice(0, opts.count ?? 10);
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: results.length,
    entry: results.map((c) => ({
      fullUrl: `Patient/${c.patient.id}`,
      resource: c.patient,
      search: {
        mode: 'match',
        score: Math.round(c.explanation.probability * 10000) / 10000,
        extension: [{ url: MATCH_GRADE_URL, valueCode: c.grade }, ...(c.explanation.reviewReason ? [{ url: MATCH_REVIEW_REASON_URL, valueString: c.explanation.reviewReason }] : [])],
      },
    })),
  };
}

const pairTaskId = (a: string, b: string): string => `dup-${createHash('sha256').update(`${a}|${b}`).digest('hex').slice(0, 32)}`;

export function possibleDuplicateTask(a: string, b: string, probability: number, weight: number, now: Date, linked = false): Task {
  const due = new Date(now.getTime() + REVIEW_DAYS * 86400000).toISOString();
  return {
    resourceType: 'Task',
    id: pairTaskId(a, b),
    status: 'requested',
    intent: 'order',
    priority: probability >= 0.9 ? 'urgent' : 'routine',
    code: { coding: [{ system: WORK_TYPE_SYSTEM, code: 'possible-duplicate', display: 'Possible duplicate patient' }], text: 'Possible duplicate patient' },
    // above the upper threshold the records are auto-linked as one person; the duplicate record
    // still has to be merged by HIM staff, so it is queued all the same
    businessStatus: { text: linked ? 'auto-linked: merge pending' : 'awaiting review' },
    focus: { reference: `Patient/${a}` },
    for: { reference: `Patient/${a}` },
    authoredOn: now.toISOString(),
    requester: { display: 'custodian mpi run' },
    restriction: { period: { end: due } },
    note: [{ text: `Clock: review possible duplicates within ${REVIEW_DAYS} days (common practice, configurable).` }],
    input: [
      { type: { text: 'other-patient' }, valueReference: { reference: `Patient/${b}` } },
      { type: { text: 'match-probability' }, valueDecimal: Math.round(probability * 10000) / 10000 },
      { type: { text: 'match-weight' }, valueDecimal: Math.round(weight * 100) / 100 },
    ],
  };
}

export function possibleOverlayTask(patientId: string, fromVersion: number, toVersion: number, changed: string[], now: Date): Task {
  return {
    resourceType: 'Task',
    id: `overlay-${createHash('sha256').update(`${patientId}|${toVersion}`).digest('hex').slice(0, 32)}`,
    status: 'requested',
    intent: 'order',
    priority: 'urgent',
    code: { coding: [{ system: WORK_TYPE_SYSTEM, code: 'possible-overlay', display: 'Possible overlaid patient record' }], text: 'Possible overlaid patient record' },
    businessStatus: { text: 'awaiting review' },
    focus: { reference: `Patient/${patientId}/_history/${toVersion}` },
    for: { reference: `Patient/${patientId}` },
    authoredOn: now.toISOString(),
    requester: { display: 'custodian mpi run' },
    restriction: { period: { end: new Date(now.getTime() + REVIEW_DAYS * 86400000).toISOString() } },
    input: [
      { type: { text: 'changed-between-versions' }, valueString: `${changed.join(', ')} changed between versions ${fromVersion} and ${toVersion}` },
      { type: { text: 'earlier-version' }, valueReference: { reference: `Patient/${patientId}/_history/${fromVersion}` } },
    ],
  };
}

/** Patients whose history looks like two people, as review Tasks (existing ones are kept). */
async function overlayTasks(q: Queryable, now: Date): Promise<WriteRequest[]> {
  const r = await q.query<{ id: string; version_id: number; content: unknown }>(
    `SELECT h.id, h.version_id, h.content FROM resource_version h
      WHERE h.resource_type = 'Patient' AND h.content IS NOT NULL
        AND h.id IN (SELECT id FROM resource WHERE resource_type = 'Patient' AND version_id > 1 AND NOT deleted)
      ORDER BY h.id, h.version_id`,
  );
  const byId = new Map<string, [number, Patient][]>();
  for (const row of r.rows) byId.set(row.id, [...(byId.get(row.id) ?? []), [Number(row.version_id), parse<Patient>(row.content)]]);
  const out: WriteRequest[] = [];
  for (const [id, versions] of byId) {
    if (isRetired(versions.at(-1)![1])) continue;
    const s = detectOverlay(versions);
    if (!s) continue;
    const task = possibleOverlayTask(id, s.fromVersion, s.toVersion, s.changed, now);
    if (await readCurrent(q, 'Task', task.id!)) continue;
    out.push({ resourceType: 'Task', id: task.id!, method: 'PUT', resource: task });
  }
  return out;
}

export interface RunSummary {
  overlaysFlagged: number;
  patients: number;
  pairsCompared: number;
  matches: number;
  possibleMatches: number;
  persons: number;
  tasksCreated: number;
  parameters: ModelParameters['source'] & { lambda: number };
  seconds: number;
}

/** The whole-store duplicate detection job: fit by EM, score, record auto-links, raise review Tasks. */
export async function runDuplicateDetection(db: Db, config: MatcherConfig = DEFAULT_CONFIG, now = new Date()): Promise<RunSummary> {
  const t0 = Date.now();
  const patients = await loadPatients(db);
  const records: PersonRecord[] = patients.map(patientToPerson);
  const result = await deduplicateWith(parallelComparison(), records, config);
  await saveModel(db, result.params, config);
  await syncKeys(db, config);
  const existing = new Set((await db.query<{ left_id: string; right_id: string }>('SELECT left_id, right_id FROM mpi_pair')).rows.map((r) => `${r.left_id}|${r.right_id}`));
  const pairs = result.scores.filter((s) => s.classification !== 'non-match');
  const tasks: WriteRequest[] = [];
  const rows: { l: string; r: string; p: number; w: number; c: string; t: string | null }[] = [];
  for (const s of pairs) {
    const [l, r] = [records[s.a]!.id, records[s.b]!.id].sort() as [string, string];
    if (existing.has(`${l}|${r}`)) continue;
    let taskId: string | null = null;
    if (s.classification === 'possible' || s.classification === 'match') {
      const task = possibleDuplicateTask(l, r, s.probability, s.weight, now, s.classification === 'match');
      taskId = task.id!;
      tasks.push({ resourceType: 'Task', id: task.id!, method: 'PUT', resource: task });
    }
    rows.push({ l, r, p: s.probability, w: s.weight, c: s.classification, t: taskId });
  }
  const overlays = await overlayTasks(db, now);
  await db.transaction(async (tx) => {
    for (let i = 0; i < tasks.length; i += 500) await writeResources(tx, tasks.slice(i, i + 500), now);
    if (overlays.length) await writeResources(tx, overlays, now);
    for (let i = 0; i < rows.length; i += 5000) {
      const b = rows.slice(i, i + 5000);
      await tx.query(
        `INSERT INTO mpi_pair (left_id, right_id, probability, weight, classification, task_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[]) ON CONFLICT DO NOTHING`,
        [b.map((x) => x.l), b.map((x) => x.r), b.map((x) => x.p), b.map((x) => x.w), b.map((x) => x.c), b.map((x) => x.t)],
      );
    }
  });
  return {
    overlaysFlagged: overlays.length,
    patients: records.length,
    pairsCompared: result.pairsCompared,
    matches: pairs.filter((s) => s.classification === 'match').length,
    possibleMatches: pairs.filter((s) => s.classification === 'possible').length,
    persons: clusterMatches(records.length, result.scores).length,
    tasksCreated: tasks.length,
    parameters: { ...result.params.source, lambda: result.params.lambda },
    seconds: (Date.now() - t0) / 1000,
  };
}

/** The explanation behind a possible-duplicate Task, for the review screen. */
export async function pairExplanation(db: Db, taskId: string, config: MatcherConfig = DEFAULT_CONFIG): Promise<{ task: Task; left: Patient; right: Patient; explanation: Explanation }> {
  const cur = await readCurrent(db, 'Task', taskId);
  if (!cur || cur.deleted) throw notFound(`Task/${taskId} not found`);
  const task = cur.resource as Task;
  if (!task.code?.coding?.some((c) => c.system === WORK_TYPE_SYSTEM && c.code === 'possible-duplicate')) throw badRequest(`Task/${taskId} is not a possible-duplicate review`);
  const leftId = task.focus?.reference?.replace(/^Patient\//, '');
  const rightId = task.input?.find((i) => i.type.text === 'other-patient')?.valueReference?.reference?.replace(/^Patient\//, '');
  if (!leftId || !rightId) throw badRequest(`Task/${taskId} does not name two patients`);
  const [l, r] = await Promise.all([readCurrent(db, 'Patient', leftId), readCurrent(db, 'Patient', rightId)]);
  if (!l || !r) throw notFound('A patient of this pair no longer exists');
  const params = await loadModel(db, config);
  const explanation = explainPair(prepare(patientToPerson(l.resource as Patient), config), prepare(patientToPerson(r.resource as Patient), config), params, config);
  return { task, left: l.resource as Patient, right: r.resource as Patient, explanation };
}

export interface MergeRequest {
  sourceId: string;
  targetId: string;
  resultPatient?: Patient;
  preview: boolean;
  who?: string;
}

export interface MergeResult {
  preview: boolean;
  /** Referencing resources that move, by type. */
  references: Record<string, number>;
  source: Patient;
  target: Patient;
  provenance?: Provenance;
}

async function referencingResources(q: Queryable, patientId: string): Promise<{ resourceType: string; id: string }[]> {
  const r = await q.query<{ resource_type: string; id: string }>(
    `SELECT DISTINCT resource_type, id FROM sp_reference WHERE target_type = 'Patient' AND target_id = $1 ORDER BY resource_type, id`,
    [patientId],
  );
  return r.rows.filter((x) => !NOT_REPOINTED.has(x.resource_type)).map((x) => ({ resourceType: x.resource_type, id: x.id }));
}

/** Patient/$merge: preview (what would move, the resulting target) or execute in one transaction. */
export async function mergePatients(db: Db, req: MergeRequest, now = new Date()): Promise<MergeResult> {
  if (req.sourceId === req.targetId) throw badRequest('Source and target are the same patient');
  return db.transaction(async (tx) => {
    const [src, tgt] = [await readCurrent(tx, 'Patient', req.sourceId), await readCurrent(tx, 'Patient', req.targetId)];
    if (!src || src.deleted) throw notFound(`Patient/${req.sourceId} not found`);
    if (!tgt || tgt.deleted) throw notFound(`Patient/${req.targetId} not found`);
    const source = src.resource as Patient;
    if (isRetired(source)) throw conflict(`Patient/${req.sourceId} is already merged`);
    if (isRetired(tgt.resource as Patient)) throw conflict(`Patient/${req.targetId} is merged into another record; merge into that one`);
    const refs = await referencingResources(tx, req.sourceId);
    const stored = await readMany(tx, refs);
    const references: Record<string, number> = {};
    const writes: WriteRequest[] = [];
    for (const s of stored) {
      const { resource, changed } = repoint(s.resource, req.sourceId, req.targetId);
      if (!changed) continue;
      references[s.resourceType] = (references[s.resourceType] ?? 0) + 1;
      writes.push({ resourceType: s.resourceType, id: s.id, method: 'PUT', resource: resource as Resource, ifMatch: s.versionId });
    }
    const newSource = retiredSource(source, req.targetId);
    const newTarget = survivingTarget(tgt.resource as Patient, req.sourceId, req.resultPatient);
    if (req.preview) return { preview: true, references, source: newSource, target: newTarget };
    writes.push({ resourceType: 'Patient', id: req.sourceId, method: 'PUT', resource: newSource, ifMatch: src.versionId });
    writes.push({ resourceType: 'Patient', id: req.targetId, method: 'PUT', resource: newTarget, ifMatch: tgt.versionId });
    const written: WrittenVersion[] = [];
    for (let i = 0; i < writes.length; i += 500) {
      for (const w of await writeResources(tx, writes.slice(i, i + 500), now)) {
        if (w.outcome === 'updated') written.push({ resourceType: w.resourceType, id: w.id, versionId: w.versionId });
      }
    }
    const provId = `merge-${createHash('sha256').update(`${req.sourceId}|${req.targetId}|${now.toISOString()}`).digest('hex').slice(0, 24)}`;
    const provenance = mergeProvenance(provId, req.sourceId, src.versionId, req.targetId, written, now.toISOString(), req.who ?? 'custodian');
    await writeResources(tx, [{ resourceType: 'Provenance', id: provId, method: 'PUT', resource: provenance, mustBeNew: true }], now);
    await tx.query(`UPDATE mpi_pair SET classification = 'merged' WHERE (left_id = $1 AND right_id = $2) OR (left_id = $2 AND right_id = $1)`, [req.sourceId, req.targetId]);
    const finalSource = (await readCurrent(tx, 'Patient', req.sourceId))!.resource as Patient;
    const finalTarget = (await readCurrent(tx, 'Patient', req.targetId))!.resource as Patient;
    return { preview: false, references, source: finalSource, target: finalTarget, provenance };
  });
}

export interface UnmergeResult {
  restored: number;
  provenance: Provenance;
}

/**
 * Undoes a merge recorded in a Provenance: every resource the merge wrote goes back to the version
 * before it, provided nothing changed it since (otherwise 409 naming the conflicts).
 */
export async function unmergePatients(db: Db, provenanceId: string, who = 'custodian', now = new Date()): Promise<UnmergeResult> {
  return db.transaction(async (tx) => {
    const cur = await readCurrent(tx, 'Provenance', provenanceId);
    if (!cur || cur.deleted) throw notFound(`Provenance/${provenanceId} not found`);
    const merge = cur.resource as Provenance;
    if (!isMergeProvenance(merge)) throw badRequest(`Provenance/${provenanceId} does not record a merge`);
    const undone = await tx.query<{ id: string }>(
      `SELECT id FROM sp_reference WHERE resource_type = 'Provenance' AND target_type = 'Provenance' AND target_id = $1`,
      [provenanceId],
    );
    if (undone.rows.length) throw conflict(`The merge in Provenance/${provenanceId} was already undone (Provenance/${undone.rows[0]!.id})`);
    const steps = undoSteps(merge);
    const current = await tx.query<{ resource_type: string; id: string; version_id: number; deleted: boolean }>(
      `SELECT r.resource_type, r.id, r.version_id, r.deleted FROM resource r
         JOIN unnest($1::text[], $2::text[]) AS k(t, i) ON r.resource_type = k.t AND r.id = k.i`,
      [steps.map((s) => s.resourceType), steps.map((s) => s.id)],
    );
    const now2 = new Map(current.rows.map((r) => [`${r.resource_type}/${r.id}`, r]));
    const conflicts = steps.filter((s) => {
      const c = now2.get(`${s.resourceType}/${s.id}`);
      return !c || c.deleted || Number(c.version_id) !== s.mergedVersion;
    });
    if (conflicts.length) {
      throw new OperationOutcomeError(
        outcome(...conflicts.slice(0, 100).map((s) => issue('error', 'conflict', `${s.resourceType}/${s.id} changed after the merge (merge wrote version ${s.mergedVersion}, now ${now2.get(`${s.resourceType}/${s.id}`)?.version_id ?? 'gone'})`))),
        409,
      );
    }
    const before = await tx.query<{ resource_type: string; id: string; content: unknown }>(
      `SELECT h.resource_type, h.id, h.content FROM resource_version h
         JOIN unnest($1::text[], $2::text[], $3::int[]) AS k(t, i, v) ON h.resource_type = k.t AND h.id = k.i AND h.version_id = k.v`,
      [steps.map((s) => s.resourceType), steps.map((s) => s.id), steps.map((s) => s.mergedVersion - 1)],
    );
    const writes: WriteRequest[] = before.rows.map((r) => {
      const s = steps.find((x) => x.resourceType === r.resource_type && x.id === r.id)!;
      return { resourceType: r.resource_type, id: r.id, method: 'PUT', resource: parse<Resource>(r.content), ifMatch: s.mergedVersion };
    });
    if (writes.length !== steps.length) throw conflict('Some versions before the merge are missing from history');
    for (let i = 0; i < writes.length; i += 500) await writeResources(tx, writes.slice(i, i + 500), now);
    const provId = `unmerge-${createHash('sha256').update(`${provenanceId}|${now.toISOString()}`).digest('hex').slice(0, 24)}`;
    const provenance: Provenance = {
      resourceType: 'Provenance',
      id: provId,
      target: merge.target,
      recorded: now.toISOString(),
      activity: { coding: [UNMERGE_ACTIVITY], text: 'unmerge' },
      agent: [{ who: { display: who } }],
      entity: [{ role: 'removal', what: { reference: `Provenance/${provenanceId}` } }],
    };
    await writeResources(tx, [{ resourceType: 'Provenance', id: provId, method: 'PUT', resource: provenance, mustBeNew: true }], now);
    return { restored: writes.length, provenance };
  });
}

export interface MpiMetrics {
  patients: number;
  possibleDuplicates: number;
  /** AHIMA: possible duplicates / all records in the index. */
  duplicateErrorRate: number;
  period: { start: string; end: string };
  registrations: number;
  confirmedDuplicates: number;
  /** AHIMA: confirmed duplicates created / registrations in the period. */
  duplicateCreationRate: number;
}

/** The HIM figures over a period (default: the last 30 days). */
export async function mpiMetrics(q: Queryable, start?: string, end?: string): Promise<MpiMetrics> {
  const e = end ?? new Date().toISOString();
  const s = start ?? new Date(Date.parse(e) - 30 * 86400000).toISOString();
  const n = async (sql: string, p: unknown[] = []): Promise<number> => Number((await q.query<{ n: number }>(sql, p)).rows[0]?.n ?? 0);
  const patients = await n(`SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Patient' AND NOT deleted`);
  const possible = await n(
    `SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Task' AND NOT deleted
       AND content->>'status' IN ('requested', 'ready', 'in-progress')
       AND content->'code'->'coding' @> $1::jsonb`,
    [JSON.stringify([{ system: WORK_TYPE_SYSTEM, code: 'possible-duplicate' }])],
  );
  const registrations = await n(
    `SELECT count(*)::int AS n FROM resource_history WHERE resource_type = 'Patient' AND version_id = 1 AND last_updated >= $1::timestamptz AND last_updated < $2::timestamptz`,
    [s, e],
  );
  // Confirmed duplicates created in the period: merged-away records registered in the period.
  const confirmed = await n(
    `SELECT count(DISTINCT r.id)::int AS n FROM resource r JOIN resource_history h ON h.resource_type = 'Patient' AND h.id = r.id AND h.version_id = 1
      WHERE r.resource_type = 'Patient' AND NOT r.deleted AND r.content->>'active' = 'false'
        AND r.content->'link' @> '[{"type":"replaced-by"}]'::jsonb
        AND h.last_updated >= $1::timestamptz AND h.last_updated < $2::timestamptz`,
    [s, e],
  );
  return {
    patients,
    possibleDuplicates: possible,
    duplicateErrorRate: patients ? possible / patients : 0,
    period: { start: s, end: e },
    registrations,
    confirmedDuplicates: confirmed,
    duplicateCreationRate: registrations ? confirmed / registrations : 0,
  };
}
