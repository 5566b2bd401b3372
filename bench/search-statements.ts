/**
 * One search, in process (no HTTP), statement by statement: where its time goes. Runs the search's
 * own code (`searchIds`) against the loaded benchmark database, timing every statement it issues,
 * and prints the median and p95 of the whole and of each statement (by position), against a read by
 * id timed in the same run. The diagnosis behind the figures of bench/search.ts, which time the same
 * searches over HTTP.
 *
 *   BENCH_DATABASE_URL='postgres://postgres@127.0.0.1:5432/bench1m?options=-c%20search_path%3Dbench_1m' \
 *     node --import tsx bench/search-statements.ts --type Observation \
 *       --query 'subject:Patient.family={family}&code=http://loinc.org|8302-2&_count=20' [--rounds 50]
 *
 * `{family}` is replaced, round by round, by one of 50 family names sampled from the store, and
 * `{year}` by one of 2010-2018 (as bench/search.ts does): `--type Encounter --query
 * 'date=ge{year}-01-01&date=lt{year}-04-01&class=AMB&_count=20'` is a quarter's ambulatory encounters.
 */
import type { Db, Queryable } from '../src/store/db.js';
import { openStore } from '../src/store/open.js';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { parseSearchRequest, type Query } from '../src/fhir/search-request.js';
import { searchIds } from '../src/store/search-sql.js';
import { readResource } from '../src/store/repository.js';
import { BENCH_DATABASE_URL, percentile, searchSamples } from './util.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const type = arg('--type') ?? 'Observation';
const template = arg('--query') ?? 'subject:Patient.family={family}&code=http://loinc.org|8302-2&_count=20';
const rounds = Number(arg('--rounds') ?? 50);

/** The query string as the server reads it: a repeated parameter (date=ge..&date=lt..) keeps every value. */
function queryOf(qs: string): Query {
  const query: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(qs)) (query[k] ??= []).push(v);
  return query;
}

/** A Queryable that records how long each statement took, and its first words. */
function timed(db: Db, log: { ms: number; sql: string }[]): Queryable {
  return {
    kind: db.kind,
    async query(sql, params) {
      const t = performance.now();
      try {
        return await db.query(sql, params);
      } finally {
        log.push({ ms: performance.now() - t, sql: sql.replace(/\s+/g, ' ').slice(0, 40) });
      }
    },
    exec: (sql) => db.exec(sql),
    copyIn: (table, columns, data) => db.copyIn(table, columns, data),
  } as Queryable;
}

async function main(): Promise<void> {
  loadDefinitions();
  const db = await openStore({ databaseUrl: BENCH_DATABASE_URL });
  const { patients, families } = await searchSamples(db);
  if (!families.length || !patients.length) throw new Error('the database holds no patients: load it first (bench/dataset-checks.ts)');
  const log: { ms: number; sql: string }[] = [];
  const q = timed(db, log);
  const reads: number[] = [];
  const totals: number[] = [];
  const byStatement: { sql: string; ms: number[] }[] = [];
  for (let i = 0; i < rounds + 5; i++) {
    let t = performance.now();
    await readResource(db, 'Patient', patients[i % patients.length] as string);
    const read = performance.now() - t;
    const query = queryOf(template.replaceAll('{family}', families[i % families.length] as string).replaceAll('{year}', String(2010 + (i % 9))));
    const req = parseSearchRequest(type, query, {});
    log.length = 0;
    t = performance.now();
    await searchIds(q, req);
    const total = performance.now() - t;
    if (i < 5) continue; // warm-up
    reads.push(read);
    totals.push(total);
    log.forEach((l, k) => {
      const s = (byStatement[k] ??= { sql: l.sql, ms: [] });
      s.ms.push(l.ms);
    });
  }
  await db.close();
  const r1 = (x: number): number => +x.toFixed(1);
  const at = (xs: number[], p: number): number => r1(percentile([...xs].sort((a, b) => a - b), p));
  console.log(JSON.stringify({
    type, query: template, rounds,
    readById: { p50: at(reads, 50), p95: at(reads, 95) },
    search: { p50: at(totals, 50), p95: at(totals, 95), ratioToReadP95: r1(at(totals, 95) / at(reads, 95)) },
    // by position: a search whose statements differ from round to round shows the first round's words
    statements: byStatement.map((s) => ({ sql: s.sql, runs: s.ms.length, p50: at(s.ms, 50), p95: at(s.ms, 95) })),
  }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
