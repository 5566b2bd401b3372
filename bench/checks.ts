/**
 * The full shipped check suite pushed down to PostgreSQL: wall time and peak memory (of this process).
 *
 *   node --import tsx bench/checks.ts [--bundles DIR]          import DIR into a fresh schema, then run
 *   node --import tsx bench/checks.ts --existing URL           run over an already-loaded database (e.g. the 1M-resource set)
 *   [--concurrency N]                                          statements in flight at once (default 2, the engine's default)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openStore } from '../src/store/open.js';
import { importFiles } from '../src/records/import-files.js';
import { runChecksSql } from '../src/checks/engine.js';
import { QUALITY_CHECKS } from '../src/quality/instances.js';
import { freshSchema, PeakMemory } from './util.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

const existing = arg('--existing');
const schema = existing ? undefined : await freshSchema('bench_checks');
const db = await openStore({ databaseUrl: existing ?? schema!.url });
try {
  if (!existing) {
    const dir = arg('--bundles') ?? path.resolve('data/demo/synthea');
    const s = await importFiles({ db, strict: false }, [dir]);
    console.log(`imported ${s.resources} resources from ${dir}`);
  }
  const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resource WHERE NOT deleted');
  // Baseline in the same run: one plain scan of every resource's JSON (what any full pass must pay).
  const b0 = performance.now();
  await db.query(`SELECT count(*) FROM resource WHERE content IS NOT NULL AND NOT deleted`);
  const scanSeconds = Math.round((performance.now() - b0) / 10) / 100;
  const concurrency = Number(arg('--concurrency') ?? 2);
  // The pool's connections, opened before the run (the run reuses them): their pids, and their CPU
  // time before and after, a figure the load of other jobs on the machine changes little (the CPU of
  // parallel workers a statement may start is not in it).
  const cpuSeconds = (pid: number): number => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      return NaN;
    }
  };
  const pids = [...new Set((await Promise.all(Array.from({ length: concurrency + 1 }, () => db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.2)')))).map((r) => r.rows[0]!.pid))];
  const cpuBefore = pids.map(cpuSeconds);
  const mem = new PeakMemory();
  const started = performance.now();
  const results = await runChecksSql(db, QUALITY_CHECKS, { concurrency });
  const seconds = (performance.now() - started) / 1000;
  const peak = mem.stop();
  const slow = [...results].sort((a, b) => b.millis - a.millis).slice(0, 5).map((r) => `${r.checkId} ${(r.millis / 1000).toFixed(2)} s`);
  // A connection the pool closed while idle (it ran nothing of the run) has no /proc entry left: skipped.
  const postgresCpuSeconds = Math.round(pids.reduce((t, pid, k) => t + (cpuSeconds(pid) - cpuBefore[k]! || 0), 0) * 10) / 10;
  // Peak RSS (VmHWM) of the PostgreSQL backends serving this pool, when the server is local.
  const pgPeakMb = pids.map((pid) => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Math.round(Number(m[1]) / 1024) : undefined;
    } catch {
      return undefined;
    }
  });
  console.log(JSON.stringify({ resources: Number(n.rows[0]!.n), checks: results.length, seconds: Math.round(seconds * 100) / 100, baselineScanSeconds: scanSeconds, concurrency, postgresCpuSeconds, peakRssMb: peak, postgresBackendPeakMb: pgPeakMb, failed: results.filter((r) => r.status === 'failed').length, errors: results.filter((r) => r.status === 'error').length, slowest: slow }, null, 2));
} finally {
  await db.close();
  await schema?.drop();
}
