/**
 * Import of the 100 Synthea bundles into PostgreSQL (validation + indexing + history), against a
 * baseline measured in the same run: a raw COPY of the same resources' JSON into a bare jsonb table
 * (the median of three). The import runs as `custodian import` runs it: on a thread of its own
 * (records/import-thread.ts), which opens the store; the schema is migrated before the timing.
 *
 *   node --import tsx bench/import.ts [--bundles DIR] [--workers N]
 *
 * --workers: worker threads preparing files besides the main thread (default: the import's own
 * default, one per core but one); 0 prepares every file on the main thread.
 * --defer-indexes auto|on|off: the import's ImportOptions.deferIndexes (default auto: a load this
 * size into the empty schema sets the search indexes aside and builds them again at its end; the
 * rebuild is inside the timed import).
 * --keep: leave the imported schema in place (its search_path is printed as keptSchema) for a look at
 * what the import built; drop it by hand afterwards.
 *
 *   node --import tsx bench/import.ts --commit-phase [--bundles DIR]
 *
 * Only the database's side: every file is prepared first (as the import's workers do), then the
 * prepared files are committed one after the other as the import commits them; prints that phase's
 * wall time, PostgreSQL's CPU and the importer's (this thread's) CPU for the commits. What the import would take with an importer that cost nothing.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openStore } from '../src/store/open.js';
import { importOnThread } from '../src/records/import-thread.js';
import { prepareFile } from '../src/records/import-prepare.js';
import { templateStore, writePrepared, type PreparedWrite } from '../src/store/repository.js';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { freshSchema, localPostgresCpuSeconds, PeakMemory } from './util.js';

const dirArg = process.argv.indexOf('--bundles');
const DIR = dirArg > 0 ? (process.argv[dirArg + 1] as string) : path.resolve('../shared/data/synthea/r4-bundles');
const workersArg = process.argv.indexOf('--workers');
const WORKERS = workersArg > 0 ? Number(process.argv[workersArg + 1]) : undefined;
const deferArg = process.argv.indexOf('--defer-indexes');
const DEFER = deferArg > 0 ? ({ auto: 'auto', on: true, off: false } as const)[process.argv[deferArg + 1] as 'auto' | 'on' | 'off'] : 'auto';
if (DEFER === undefined) throw new Error('--defer-indexes takes auto, on or off');

/**
 * The baseline's input, built before any timing: each file's resources as COPY text (one JSON line
 * per resource; backslashes escaped, as JSON lines hold no raw tabs or newlines), one Buffer per file
 * (outside the JS heap, and no string over V8's length limit at a million resources).
 */
function copyChunks(files: string[]): { chunks: Buffer[]; rows: number } {
  let rows = 0;
  const chunks = files.map((f) => {
    const lines = (JSON.parse(readFileSync(f, 'utf8')) as { entry: { resource: unknown }[] }).entry.map((e) => `${JSON.stringify(e.resource).replace(/\\/g, '\\\\')}\n`);
    rows += lines.length;
    return Buffer.from(lines.join(''));
  });
  return { chunks, rows };
}

/**
 * Each timed phase (every baseline COPY, the import) starts from a checkpoint, so that none pays for
 * writing out the pages the one before left dirty: without it the baseline moved by a third from run
 * to run (23,000-32,000 rows/s on one machine). Needs a superuser or pg_checkpoint; skipped otherwise.
 */
async function checkpoint(client: pg.Client): Promise<void> {
  try {
    await client.query('CHECKPOINT');
  } catch {
    // not allowed: the phases then start wherever the server's own checkpoints are
  }
}

async function rawCopy(url: string, chunks: Buffer[], rows: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE raw_json (content jsonb NOT NULL)');
  await checkpoint(client);
  const started = performance.now();
  await pipeline(Readable.from(chunks), client.query(copyFrom('COPY raw_json (content) FROM STDIN')));
  const seconds = (performance.now() - started) / 1000;
  const n = await client.query('SELECT count(*)::int AS n FROM raw_json');
  if (Number(n.rows[0].n) !== rows) throw new Error('COPY lost rows');
  await client.end();
  return seconds;
}

/** The commits alone: files prepared beforehand, then committed in order (what commitPrepared does). */
async function commitPhase(files: string[]): Promise<void> {
  const prepared = files.map((f) => prepareFile(f, false, false));
  const target = await freshSchema('bench_commits');
  const db = await openStore({ databaseUrl: target.url });
  const loadBefore = loadavg()[0] as number;
  const pgCpu = localPostgresCpuSeconds();
  const nodeCpu = process.cpuUsage();
  const started = performance.now();
  let resources = 0;
  for (const p of prepared) {
    if (p.kind !== 'ready') throw new Error(`a file was not prepared for the fast path: ${p.kind}`);
    resources += p.resources;
    const writes = p.writes.map((w): PreparedWrite => {
      const json = w.json;
      if (!json) return { resourceType: w.resourceType, id: w.id, method: w.method, ifMatch: w.ifMatch };
      return { resourceType: w.resourceType, id: w.id, method: w.method, ifMatch: w.ifMatch, hash: w.hash, store: templateStore(json, w.index ?? [], w.compartments ?? []) };
    });
    await db.transaction((tx) => writePrepared(tx, writes));
  }
  const seconds = (performance.now() - started) / 1000;
  const pgCpuAfter = localPostgresCpuSeconds();
  const committing = process.cpuUsage(nodeCpu);
  await db.close();
  await target.drop();
  console.log(JSON.stringify({
    files: files.length, resources, commitSeconds: +seconds.toFixed(2), resourcesPerSecond: Math.round(resources / seconds),
    postgresCpuSeconds: pgCpu === undefined || pgCpuAfter === undefined ? undefined : +(pgCpuAfter - pgCpu).toFixed(2),
    // this thread's CPU for the commits: building each write's rows and COPY text, the driver
    importerCpuMsPerResource: +((committing.user + committing.system) / 1000 / resources).toFixed(3),
    loadAverage1m: { before: +loadBefore.toFixed(2), after: +(loadavg()[0] as number).toFixed(2) },
  }, null, 2));
}

async function main(): Promise<void> {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort().map((f) => path.join(DIR, f));
  if (files.length === 0) throw new Error(`no .json bundles in ${DIR}`);
  loadDefinitions();
  if (process.argv.includes('--commit-phase')) return commitPhase(files);
  const { chunks, rows } = copyChunks(files);

  const loadBefore = loadavg()[0] as number;
  // The COPY takes about a second, so one run of it moves with whatever else the machine does at
  // that moment: the baseline is the median of three, each into a fresh table.
  const copyRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    const base = await freshSchema('bench_copy');
    copyRuns.push(await rawCopy(base.url, chunks, rows));
    await base.drop();
  }
  const copySeconds = [...copyRuns].sort((a, b) => a - b)[1] as number;

  const target = await freshSchema('bench_import');
  // the schema is migrated before the timing (the import's thread opens the store again)
  await (await openStore({ databaseUrl: target.url })).close();
  const admin = new pg.Client({ connectionString: target.url });
  await admin.connect();
  await checkpoint(admin);
  await admin.end();
  const mem = new PeakMemory();
  const cpu = process.cpuUsage();
  const pgCpu = localPostgresCpuSeconds();
  const started = performance.now();
  // as `custodian import` runs it: on a thread of its own (records/import-thread.ts)
  const summary = await importOnThread({ store: { databaseUrl: target.url }, paths: files, strict: false, codeLookup: false, options: { workers: WORKERS, deferIndexes: DEFER } });
  const importSeconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const pgCpuAfter = localPostgresCpuSeconds();
  const peak = mem.stop();
  const keep = process.argv.includes('--keep');
  if (!keep) await target.drop();
  if (summary.failures.length) throw new Error(`import failures: ${JSON.stringify(summary.failures.slice(0, 3))}`);

  const importRate = summary.resources / importSeconds;
  const copyRate = rows / copySeconds;
  const result = {
    bundles: files.length,
    resources: summary.resources,
    importSeconds: +importSeconds.toFixed(2),
    importResourcesPerSecond: Math.round(importRate),
    rawCopySeconds: +copySeconds.toFixed(2),
    rawCopyRowsPerSecond: Math.round(copyRate),
    rawCopyRowsPerSecondRuns: copyRuns.map((s) => Math.round(rows / s)),
    ratioToRawCopy: +(importRate / copyRate).toFixed(3),
    peakRssMiB: peak,
    // CPU time of the importer (all its threads; PostgreSQL's own is not counted): less sensitive to
    // other work on the machine than the wall time
    importerCpuMsPerResource: +((used.user + used.system) / 1000 / summary.resources).toFixed(3),
    // PostgreSQL's CPU time over the import (all its processes on this machine, from /proc; absent
    // when the server is elsewhere or /proc cannot be read): what the database's side costs
    postgresCpuMsPerResource: pgCpu === undefined || pgCpuAfter === undefined ? undefined : +(((pgCpuAfter - pgCpu) * 1000) / summary.resources).toFixed(3),
    workers: WORKERS ?? 'default',
    deferIndexes: DEFER,
    // the search indexes set aside and built again at the end (inside importSeconds), when they were
    deferredIndexes: summary.deferredIndexes,
    loadAverage1m: { before: +loadBefore.toFixed(2), after: +(loadavg()[0] as number).toFixed(2) },
    keptSchema: keep ? target.schema : undefined,
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
