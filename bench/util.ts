/** Small helpers shared by the benchmarks: timing, percentiles, peak memory, a fresh PostgreSQL schema. */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { openPg } from '../src/store/pg-adapter.js';
import type { Queryable } from '../src/store/db.js';

export const BENCH_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The values the search benchmarks ask for, sampled from the loaded store the same way in each: 50
 * patient ids (a stable pseudo-random order) and 50 family names.
 */
export async function searchSamples(db: Queryable): Promise<{ patients: string[]; families: string[] }> {
  const sample = async (sql: string): Promise<string[]> => (await db.query<{ v: string }>(sql)).rows.map((r) => r.v);
  return {
    patients: await sample(`SELECT id AS v FROM resource WHERE resource_type = 'Patient' ORDER BY md5(id) LIMIT 50`),
    families: await sample(`SELECT DISTINCT norm AS v FROM sp_string WHERE resource_type = 'Patient' AND code = 'family' LIMIT 50`),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export class PeakMemory {
  private peak = 0;
  private timer: NodeJS.Timeout;
  constructor(intervalMs = 50) {
    this.timer = setInterval(() => {
      this.peak = Math.max(this.peak, process.memoryUsage().rss);
    }, intervalMs);
    this.timer.unref();
  }
  stop(): number {
    clearInterval(this.timer);
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
    return Math.round(this.peak / 1024 / 1024);
  }
}

/** A new, empty schema on the benchmark server; returns a URL selecting it and a drop function. */
export async function freshSchema(prefix: string): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await openPg(BENCH_DATABASE_URL, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const u = new URL(BENCH_DATABASE_URL);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: u.toString(),
    schema,
    async drop() {
      const a = await openPg(BENCH_DATABASE_URL, { max: 1 });
      await a.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await a.close();
    },
  };
}

/**
 * CPU seconds (user + system) used so far by the processes named "postgres" on this machine, from
 * /proc (Linux); undefined where that cannot be read. Processes that ended in between are not counted.
 */
export function localPostgresCpuSeconds(): number | undefined {
  let dirs: string[];
  try {
    dirs = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  const tick = 100; // USER_HZ: clock ticks per second in /proc/<pid>/stat on Linux
  let ticks = 0;
  let seen = 0;
  for (const d of dirs) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
    const f = stat.slice(close + 2).split(' ');
    // after the name: state is field 3, utime 14, stime 15 (1-based), so indexes 11 and 12 here
    ticks += Number(f[11]) + Number(f[12]);
    seen++;
  }
  return seen ? ticks / tick : undefined;
}
