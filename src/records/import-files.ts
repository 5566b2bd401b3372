/**
 * Imports FHIR files: transaction/batch/collection Bundles (.json) and NDJSON (.ndjson), optionally
 * gzipped, or folders of them. Each file commits as one transaction, so a failed file leaves nothing
 * behind and the others go on. Ids carried by the resources are kept, so importing the same files
 * again changes nothing.
 *
 * Fast path: worker threads read, validate and index the next files (import-prepare.ts) while this
 * thread commits the current ones, each with one locking read and set-based writes (writePrepared;
 * on PostgreSQL two files at once when they share no resource).
 * Files that need the database before validation (conditional entries, batches), and imports whose
 * writes are audited, go through processTransaction/processBatch as an HTTP transaction does.
 *
 * A load much larger than the store sets the search indexes aside and builds them again at
 * its end (store/deferred-indexes.ts), or before the first file that searches the store (conditional
 * entries); the rest of the load then keeps them up to date as usual.
 */
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { tsWorker } from '../runtime/ts-worker.js';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { terminologyWarnings } from '../terminology/warnings.js';
import { templateStore, writePrepared, type PreparedWrite } from '../store/repository.js';
import { deferSearchIndexes, restoreSearchIndexes, sharedResourceTypes } from '../store/deferred-indexes.js';
import { processBatch, processTransaction } from './bundles.js';
import type { RecordContext } from './context.js';
import { failureReason, prepareFile, prepareFileInTurns, readImportFile, type ImportFailure, type PreparedFile } from './import-prepare.js';
import type { PrepareTask, WorkerMessage } from './import-worker.js';

export type { ImportFailure } from './import-prepare.js';

export interface ImportSummary {
  files: number;
  filesFailed: number;
  resources: number;
  created: number;
  updated: number;
  unchanged: number;
  warnings: number;
  byType: Record<string, number>;
  failures: ImportFailure[];
  /** Present when the search indexes were set aside during the load: how many, and their rebuild. */
  deferredIndexes?: { indexes: number; rebuildSeconds: number; rebuiltAfterFile: number };
}

export interface ImportOptions {
  /**
   * Worker threads that prepare files ahead of the commits, besides this thread. Default: one per
   * core but one, when there are enough files to pay for starting them; 0 prepares every file here.
   */
  workers?: number;
  /**
   * Set the search indexes aside during the load and build them again at its end. 'auto' (the
   * default): when the files hold an estimated DEFER_MIN_RESOURCES resources or more, and the store
   * fewer than half as many (building an index over the whole table costs about half of keeping it
   * up to date row by row, so the store's own rows must be few for it to pay). Never for an
   * audited import. Searches meanwhile give the same answers, only without those indexes.
   */
  deferIndexes?: boolean | 'auto';
}

/** The smallest load that sets the search indexes aside on its own ('auto'). */
export const DEFER_MIN_RESOURCES = 5000;
// For the estimate of a load's size from its files' sizes: Synthea's bundles as written hold about
// 1,400 bytes per resource (34.7 MB for 24,352), NDJSON less; gzip shrinks them ten- to fifteen-fold
// (the estimate takes eight, so it errs low).
const BYTES_PER_RESOURCE = 1500;
const GZIP_RATIO = 8;

const FILE_RE = /\.(json|ndjson|jsonl)(\.gz)?$/i;

/** Expands files and folders (recursively) into the list of importable files, sorted. */
export function listImportFiles(paths: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const f of readdirSync(p).sort()) visit(path.join(p, f));
    } else if (FILE_RE.test(p)) out.push(p);
  };
  for (const p of paths) visit(p);
  return out;
}

export interface ImportProgress {
  (done: number, total: number, file: string, failed: boolean): void;
}

export async function importFiles(ctx: RecordContext, paths: string[], onProgress?: ImportProgress, options: ImportOptions = {}): Promise<ImportSummary> {
  const files = listImportFiles(paths);
  const summary: ImportSummary = { files: files.length, filesFailed: 0, resources: 0, created: 0, updated: 0, unchanged: 0, warnings: 0, byType: {}, failures: [] };
  const record = (i: number, failures: ImportFailure[]): void => {
    if (failures.length) {
      summary.filesFailed++;
      summary.failures.push(...failures);
    }
    onProgress?.(i + 1, files.length, files[i] as string, failures.length > 0);
  };
  // An audited import writes AuditEvents per transaction: keep it on the path the API uses.
  if (ctx.audit) {
    for (let i = 0; i < files.length; i++) record(i, await importSlow(ctx, files[i] as string, summary));
    return summary;
  }
  const deferral = (await shouldDefer(ctx, files, options.deferIndexes ?? 'auto'))
    ? { indexes: (await deferSearchIndexes(ctx.db)).length, done: false, shared: new Set(sharedResourceTypes()), recordReplaced: false }
    : undefined;
  /** Builds the indexes set aside, once (before file `i`, or at the end). */
  const endDeferral = async (i: number): Promise<void> => {
    if (!deferral || deferral.done) return;
    deferral.done = true;
    const started = performance.now();
    await restoreSearchIndexes(ctx.db);
    summary.deferredIndexes = { indexes: deferral.indexes, rebuildSeconds: +((performance.now() - started) / 1000).toFixed(2), rebuiltAfterFile: i };
  };
  const workers = options.workers ?? (files.length >= 4 ? availableParallelism() - 1 : 0);
  const pool = workers > 0 ? startPool(workers, ctx.strict, !!ctx.codeLookup) : undefined;
  const withLookups = !!ctx.codeLookup;
  // Files are taken in order. This thread prepares files too: the next one when no worker has it,
  // and another one while a commit waits on the database.
  const prepared = new Map<number, PreparedFile | Promise<PreparedFile>>();
  const window = 2 * workers + 2;
  let next = 0; // the first file nobody prepares yet
  const dispatch = (committing: number): void => {
    while (pool && next < files.length && next < committing + window && pool.hasRoom()) {
      prepared.set(next, pool.prepare(files[next] as string));
      next++;
    }
  };
  const prepareHere = (committing: number): boolean => {
    if (next >= files.length || next >= committing + window) return false;
    prepared.set(next, prepareFileInTurns(files[next] as string, ctx.strict, withLookups));
    next++;
    return true;
  };
  // On PostgreSQL two prepared files may commit at once, on two connections, when they write no
  // resource in common (a file sharing one waits for the earlier to end, so their order holds).
  // Outcomes are recorded in file order.
  const parallel = ctx.db.kind === 'pg' ? 2 : 1;
  const inFlight: { i: number; keys: Set<string>; done: Promise<ImportFailure[]> }[] = [];
  const finishOldest = async (): Promise<void> => {
    const c = inFlight.shift();
    if (c) record(c.i, await c.done);
  };
  try {
    for (let i = 0; i < files.length; i++) {
      const file = files[i] as string;
      dispatch(i);
      if (!prepared.has(i)) prepareHere(i);
      const p = await prepared.get(i);
      prepared.delete(i);
      if (!p) throw new Error(`import: ${file} was not prepared`);
      if (p.kind !== 'ready') {
        while (inFlight.length) await finishOldest();
        // conditional entries search the store, and a batch may: with the indexes
        if (p.kind === 'fallback') await endDeferral(i);
        record(i, p.kind === 'failed' ? p.failures : await importSlow(ctx, file, summary));
        continue;
      }
      const keys = new Set(p.writes.map((w) => `${w.resourceType}/${w.id}`));
      while (inFlight.length >= parallel || inFlight.some((c) => [...keys].some((k) => c.keys.has(k)))) await finishOldest();
      // a commit ended has replaced a patient's record, whose old index rows only a scan of each
      // table finds while the indexes are set aside (store/deferred-indexes.ts): with them from here
      // on (from the next file, or the one after when two commit at once)
      if (deferral?.recordReplaced && !deferral.done) {
        while (inFlight.length) await finishOldest();
        await endDeferral(i);
      }
      inFlight.push({ i, keys, done: commitPrepared(ctx, file, p, summary, deferral) });
      dispatch(i + 1);
      prepareHere(i + 1);
    }
    while (inFlight.length) await finishOldest();
    await endDeferral(files.length);
  } finally {
    await pool?.close();
    // after an unexpected error (a failed file is not one): the indexes are built again here, or
    // failing that by the next openStore
    if (deferral && !deferral.done) await restoreSearchIndexes(ctx.db).catch(() => undefined);
  }
  return summary;
}

/** Commits a prepared file in one transaction and counts it. */
async function commitPrepared(
  ctx: RecordContext, file: string, p: Extract<PreparedFile, { kind: 'ready' }>, summary: ImportSummary,
  deferral?: { done: boolean; shared: Set<string>; recordReplaced: boolean },
): Promise<ImportFailure[]> {
  let codeWarnings = 0;
  if (ctx.codeLookup) for (const r of p.lookups) codeWarnings += terminologyWarnings(r as Resource & Record<string, unknown>, ctx.codeLookup).length;
  const writes = p.writes.map((w): PreparedWrite => {
    if (!w.json) return { resourceType: w.resourceType, id: w.id, method: w.method, ifMatch: w.ifMatch };
    return {
      resourceType: w.resourceType, id: w.id, method: w.method, ifMatch: w.ifMatch, hash: w.hash,
      store: templateStore(w.json, w.index as NonNullable<typeof w.index>, w.compartments ?? []),
    };
  });
  try {
    const results = await ctx.db.transaction((tx) => writePrepared(tx, writes));
    for (const r of results) {
      if (r.outcome === 'created') summary.created++;
      else if (r.outcome === 'updated') summary.updated++;
      else if (r.outcome === 'unchanged') summary.unchanged++;
      if (deferral && !deferral.done && (r.outcome === 'updated' || r.outcome === 'deleted') && !deferral.shared.has(r.resourceType)) deferral.recordReplaced = true;
    }
  } catch (err) {
    return [{ file, reason: failureReason(err) }];
  }
  summary.resources += p.resources;
  for (const [t, n] of Object.entries(p.byType)) summary.byType[t] = (summary.byType[t] ?? 0) + n;
  summary.warnings += p.warnings + codeWarnings;
  return [];
}

/**
 * Whether this load sets the search indexes aside (see ImportOptions.deferIndexes): its size is
 * estimated from its files' sizes; the store's rows are counted only up to the bound that matters.
 */
async function shouldDefer(ctx: RecordContext, files: string[], setting: boolean | 'auto'): Promise<boolean> {
  if (setting !== 'auto') return setting;
  let bytes = 0;
  for (const f of files) bytes += statSync(f).size * (/\.gz$/i.test(f) ? GZIP_RATIO : 1);
  const incoming = Math.floor(bytes / BYTES_PER_RESOURCE);
  if (incoming < DEFER_MIN_RESOURCES) return false;
  const bound = Math.ceil(incoming / 2);
  const r = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM resource LIMIT $1) x', [bound]);
  return Number(r.rows[0]?.n ?? 0) < bound;
}

/** A file through processTransaction/processBatch, as the API runs a Bundle. */
async function importSlow(ctx: RecordContext, file: string, summary: ImportSummary): Promise<ImportFailure[]> {
  const read = readImportFile(file);
  if ('failure' in read) return [read.failure];
  const bundle: Bundle = read.bundle;
  try {
    const outcomes: string[] = [];
    const onResults = (results: { outcome: string }[]): void => {
      outcomes.push(...results.map((r) => r.outcome));
    };
    const response = bundle.type === 'batch' ? await processBatch(ctx, bundle, { preserveIds: true }) : await processTransaction(ctx, bundle, { preserveIds: true, onResults });
    for (const o of outcomes) {
      if (o === 'created') summary.created++;
      else if (o === 'updated') summary.updated++;
      else if (o === 'unchanged') summary.unchanged++;
    }
    const failures: ImportFailure[] = [];
    (response.entry ?? []).forEach((e, i) => {
      const status = e.response?.status ?? '';
      const requested = bundle.entry?.[i];
      const rt = (requested?.resource as Resource | undefined)?.resourceType ?? requested?.request?.url?.split(/[/?]/)[0] ?? 'unknown';
      if (/^(4|5)/.test(status)) {
        failures.push({ file, reason: e.response?.outcome?.issue?.map((x) => x.diagnostics).join('; ') ?? status, location: `Bundle.entry[${i}]` });
        return;
      }
      if (!requested?.resource) return;
      summary.resources++;
      summary.byType[rt] = (summary.byType[rt] ?? 0) + 1;
      summary.warnings += e.response?.outcome?.issue?.length ?? 0;
    });
    return failures;
  } catch (err) {
    return [{ file, reason: failureReason(err) }];
  }
}

/** The pool, or none when workers cannot start here (the main thread then prepares every file). */
function startPool(n: number, strict: boolean, withLookups: boolean): PreparePool | undefined {
  try {
    return new PreparePool(n, strict, withLookups);
  } catch {
    return undefined;
  }
}

/**
 * The preparing workers' heap: a young generation of 384 MiB (128 MiB semi-spaces) rather than
 * V8's default (16 MiB semi-spaces). Preparing a file allocates much that dies young while the
 * parsed file lives on; fewer scavenges, each copying it, save a quarter of the preparing's CPU
 * (bench/prepare.ts, BENCHMARKS.md), for up to a few hundred MiB more memory per worker.
 */
export const PREPARE_WORKER_LIMITS = { maxYoungGenerationSizeMb: 384 };

/**
 * Worker threads preparing files. The workers run the TypeScript sources through tsx, as the CLI
 * does; a file whose worker dies is prepared on this thread instead.
 */
class PreparePool {
  private readonly workers: { worker: Worker; ready: boolean; busy: number; dead: boolean }[] = [];
  private readonly pending = new Map<number, { resolve: (p: PreparedFile) => void; worker: number; file: string }>();
  private nextId = 0;

  constructor(n: number, private readonly strict: boolean, private readonly withLookups: boolean) {
    for (let i = 0; i < n; i++) {
      const worker = tsWorker(new URL('./import-worker.ts', import.meta.url), { workerData: { strict, withLookups }, resourceLimits: PREPARE_WORKER_LIMITS });
      const slot = { worker, ready: false, busy: 0, dead: false };
      this.workers.push(slot);
      worker.on('message', (m: WorkerMessage) => {
        if ('ready' in m) {
          slot.ready = true;
          return;
        }
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        slot.busy--;
        p?.resolve(m.prepared);
      });
      const die = (): void => {
        if (slot.dead) return;
        slot.dead = true;
        for (const [id, p] of this.pending) {
          if (p.worker !== i) continue;
          this.pending.delete(id);
          p.resolve(this.local(p.file));
        }
      };
      worker.on('error', die);
      worker.on('exit', die);
    }
  }

  /** A ready worker has room for another file (at most two each: one working, one queued). */
  hasRoom(): boolean {
    return this.workers.some((w) => w.ready && !w.dead && w.busy < 2);
  }

  prepare(file: string): Promise<PreparedFile> {
    const candidates = this.workers.map((w, i) => ({ w, i })).filter(({ w }) => w.ready && !w.dead);
    const best = candidates.sort((a, b) => a.w.busy - b.w.busy)[0];
    if (!best) return Promise.resolve(this.local(file));
    const id = this.nextId++;
    best.w.busy++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, worker: best.i, file });
      best.w.worker.postMessage({ id, file } satisfies PrepareTask);
    });
  }

  private local(file: string): PreparedFile {
    return prepareFile(file, this.strict, this.withLookups);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
