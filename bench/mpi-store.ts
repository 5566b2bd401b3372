/**
 * The MPI over a PostgreSQL store holding N synthetic Patients (bench/mpi-population.ts: Synthea-shaped
 * demographics, 10% injected duplicates):
 *
 *   --load    create the database if needed and write the Patients set-based (resource, history and
 *             search-index rows as the repository writes them: index rows from buildIndexRows per
 *             record shape, checked against buildIndexRows on a sample; writeResources runs the
 *             FHIRPath extraction per record, ~1 ms each, too slow for 1M here), with their MPI
 *             blocking keys (keyRows, as syncKeys writes them); into an empty database the secondary
 *             indexes are dropped first and built again at the end; then syncKeys (finds nothing)
 *   --run     whole-store duplicate detection as `custodian mpi run` does it (runDuplicateDetection):
 *             wall time, pairs compared, peak RSS, precision and recall of the auto-links against truth
 *   --match   Patient/$match over HTTP, one request at a time: p50/p95/p99 latency, against a baseline
 *             measured in the same run (GET /fhir/Patient/{id})
 *
 *   node --import tsx bench/mpi-store.ts --db postgres://postgres@127.0.0.1:5432/mpi1m --n 1000000 --load
 *   flock /tmp/bench.lock node --import tsx bench/mpi-store.ts --db ... --n 1000000 --match 400
 *   flock /tmp/bench.lock node --import tsx bench/mpi-store.ts --db ... --n 1000000 --run
 */
import type { Patient } from '@medplum/fhirtypes';
import pg from 'pg';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { rng } from '../src/mpi/model.js';
import { clusterMatches } from '../src/mpi/matcher.js';
import { buildApp } from '../src/server/app.js';
import { keyRows, runDuplicateDetection, syncKeys } from '../src/store/mpi-store.js';
import { openStore } from '../src/store/open.js';
import { contentHash } from '../src/fhir/canonical.js';
import { patientCompartments } from '../src/fhir/compartments.js';
import { buildIndexRows, emptyRows, normaliseString, type IndexRows } from '../src/fhir/index-values.js';
import { syntheticPopulation, toPatient } from './mpi-population.js';
import { PeakMemory, percentile } from './util.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] as string) : def;
};
const DB = arg('--db', 'postgres://postgres@127.0.0.1:5432/mpi1m');
const N = Number(arg('--n', '1000000'));
const MATCHES = Number(arg('--match', '0'));
const out: Record<string, unknown> = { db: DB.replace(/\/\/[^@]*@/, '//'), patients: N };
const log = (msg: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function ensureDatabase(): Promise<void> {
  const u = new URL(DB);
  const name = u.pathname.slice(1);
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (r.rowCount === 0) await c.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  await c.end();
}

/**
 * The index rows of a Patient as buildIndexRows gives them, built from a template per record shape:
 * every free-text leaf (names, identifier and phone values, address parts) is replaced by a
 * placeholder, buildIndexRows runs once per shape, and each record's rows are the template's with the
 * placeholders filled in; birth-date rows come from buildIndexRows on the date alone (memoised).
 * The result is checked against buildIndexRows on the whole record for a sample before loading.
 */
class IndexRowTemplates {
  private shapes = new Map<string, IndexRows>();
  private dates = new Map<string, IndexRows['date']>();
  private static META = { versionId: '1', lastUpdated: '2026-01-01T00:00:00.000Z' };

  rows(p: Patient): IndexRows {
    // Equal values share a placeholder (buildIndexRows writes a repeated value once).
    const values: string[] = [];
    const ph = (v: string): string => {
      let i = values.indexOf(v);
      if (i < 0) i = values.push(v) - 1;
      return `Qz${i}zQ`;
    };
    const shape: Patient = {
      resourceType: 'Patient',
      id: 'x',
      meta: IndexRowTemplates.META,
      identifier: p.identifier?.map((i) => ({ ...i, value: i.value === undefined ? undefined : ph(i.value) })),
      name: p.name?.map((n) => ({ ...n, family: n.family === undefined ? undefined : ph(n.family), given: n.given?.map(ph) })),
      telecom: p.telecom?.map((t) => ({ ...t, value: t.value === undefined ? undefined : ph(t.value) })),
      gender: p.gender,
      address: p.address?.map((a) => ({ ...a, line: a.line?.map(ph), city: a.city && ph(a.city), state: a.state && ph(a.state), postalCode: a.postalCode && ph(a.postalCode) })),
    };
    const key = JSON.stringify(shape);
    let t = this.shapes.get(key);
    if (!t) this.shapes.set(key, (t = buildIndexRows(shape)));
    const fill = (v: string | null): string | null => (v === null ? null : v.replace(/Qz(\d+)zQ/g, (_, i: string) => values[Number(i)]!));
    let date: IndexRows['date'] = [];
    if (p.birthDate) {
      const d = this.dates.get(p.birthDate);
      if (d) date = d;
      else this.dates.set(p.birthDate, (date = buildIndexRows({ resourceType: 'Patient', id: 'x', meta: IndexRowTemplates.META, birthDate: p.birthDate }).date));
    }
    return {
      ...emptyRows(),
      token: t.token.map((r) => ({ ...r, value: fill(r.value), text: fill(r.text) })),
      string: t.string.map((r) => ({ ...r, value: fill(r.value)! })),
      date,
    };
  }
}

const canon = (rows: IndexRows): string =>
  JSON.stringify(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, (v as unknown[]).map((x) => JSON.stringify(x)).sort()])));

/** The tables a load writes. */
const LOADED_TABLES = ['resource', 'resource_history', 'sp_token', 'sp_string', 'sp_date', 'mpi_key', 'mpi_indexed'];

async function load(): Promise<void> {
  await ensureDatabase();
  const db = await openStore({ databaseUrl: DB });
  const have = Number((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Patient'`)).rows[0]!.n);
  if (have >= N) log(`${have} Patients already there`);
  else {
    const pop = syntheticPopulation(N);
    const patients = pop.records.slice(have).map(toPatient);
    const templates = new IndexRowTemplates();
    // The template rows must be exactly what the store writes: checked on a sample.
    for (let i = 0; i < patients.length; i += Math.max(1, Math.floor(patients.length / 2000))) {
      const p = { ...patients[i]!, meta: { versionId: '1', lastUpdated: '2026-01-01T00:00:00.000Z' } };
      if (canon(templates.rows(p)) !== canon(buildIndexRows(p))) throw new Error(`template index rows differ from buildIndexRows for ${p.id}`);
    }
    log(`writing ${patients.length} Patients (index rows checked against buildIndexRows on a sample)`);
    const t0 = performance.now();
    // Into an empty database, the secondary indexes of the tables written are dropped and built
    // again at the end (one sort each instead of millions of random inserts); constraints stay.
    const rebuild =
      have === 0
        ? (
            await db.query<{ indexname: string; indexdef: string }>(
              `SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[])
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
              [LOADED_TABLES],
            )
          ).rows
        : [];
    for (const ix of rebuild) await db.query(`DROP INDEX "${ix.indexname}"`);
    try {
      const BATCH = 5000;
      let written = 0;
      for (let at = 0; at < patients.length; at += BATCH) {
        const lastUpdated = new Date().toISOString();
        const batch = patients.slice(at, at + BATCH);
        const res: unknown[][] = [[], [], [], [], []];
        const tok: unknown[][] = [[], [], [], [], []];
        const str: unknown[][] = [[], [], [], []];
        const dat: unknown[][] = [[], [], [], []];
        for (const p of batch) {
          const stored = { ...p, meta: { versionId: '1', lastUpdated } } as Patient;
          const rows = templates.rows(stored);
          res[0]!.push(p.id);
          res[1]!.push(contentHash({ ...p, id: p.id } as Patient));
          res[2]!.push(patientCompartments(stored, rows.reference).join(','));
          res[3]!.push(JSON.stringify(stored));
          for (const r of rows.token) [p.id, r.code, r.system, r.value, r.text].forEach((v, i) => tok[i]!.push(v));
          for (const r of rows.string) [p.id, r.code, r.value, normaliseString(r.value)].forEach((v, i) => str[i]!.push(v));
          for (const r of rows.date) [p.id, r.code, r.lo, r.hi].forEach((v, i) => dat[i]!.push(v));
        }
        await db.transaction(async (tx) => {
          await tx.query('SET LOCAL synchronous_commit = off');
          await tx.query(
            `WITH x AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(i, h, c, j)),
             r AS (INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content_hash, compartments, content)
                   SELECT 'Patient', i, 1, $5::timestamptz, false, h, string_to_array(c, ','), j::jsonb FROM x RETURNING 1)
             INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, method, content)
             SELECT 'Patient', i, 1, $5::timestamptz, false, 'PUT', j::jsonb FROM x`,
            [res[0], res[1], res[2], res[3], lastUpdated],
          );
          await tx.query(`INSERT INTO sp_token (resource_type, id, code, system, value, text) SELECT 'Patient', * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])`, tok);
          await tx.query(`INSERT INTO sp_string (resource_type, id, code, value, norm) SELECT 'Patient', * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`, str);
          await tx.query(`INSERT INTO sp_date (resource_type, id, code, lo, hi) SELECT 'Patient', * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])`, dat);
          // The MPI blocking keys of the batch, as syncKeys writes them (keyRows), in the same transaction.
          const { pids, keys } = keyRows(batch.map((p) => ({ id: p.id!, versionId: 1, deleted: false, patient: p })));
          await tx.query('INSERT INTO mpi_key (patient_id, key) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [pids, keys]);
          await tx.query('INSERT INTO mpi_indexed (patient_id, version_id) SELECT id, 1 FROM unnest($1::text[]) AS x(id) ON CONFLICT (patient_id) DO UPDATE SET version_id = 1', [batch.map((p) => p.id!)]);
        });
        written += batch.length;
        if (written % 50_000 < BATCH) log(`${written} written, ${Math.round(written / ((performance.now() - t0) / 1000))}/s`);
      }
    } finally {
      const ti = performance.now();
      for (const ix of rebuild) {
        await db.transaction(async (tx) => {
          await tx.query(`SET LOCAL maintenance_work_mem = '512MB'`);
          await tx.query(ix.indexdef);
        });
      }
      if (rebuild.length) {
        out.indexRebuildSeconds = (performance.now() - ti) / 1000;
        log(`${rebuild.length} indexes built again in ${Math.round(out.indexRebuildSeconds as number)} s`);
      }
    }
    out.loadSeconds = (performance.now() - t0) / 1000;
    await db.query('ANALYZE');
  }
  const t1 = performance.now();
  // Keys were written with the Patients: this finds nothing stale (one pass) and sets the watermark.
  out.indexed = await syncKeys(db);
  out.syncKeysSeconds = (performance.now() - t1) / 1000;
  // Statistics taken before mpi_key was filled make the planner read whole tables for $match.
  await db.query('ANALYZE mpi_key');
  await db.query('ANALYZE mpi_indexed');
  log(`mpi_key synced: ${JSON.stringify(out)}`);
  await db.close();
}

async function run(): Promise<void> {
  const db = await openStore({ databaseUrl: DB });
  await db.query('DELETE FROM mpi_pair');
  await db.query(`DELETE FROM mpi_model WHERE id = 'default'`);
  const mem = new PeakMemory(200);
  const t0 = performance.now();
  const s = await runDuplicateDetection(db);
  const seconds = (performance.now() - t0) / 1000;
  const peak = mem.stop();
  // Truth: the population is deterministic for its seed; ids are the population's.
  const pop = syntheticPopulation(N);
  const cluster = new Map(pop.records.map((r, i) => [r.id, pop.clusters[i]!]));
  const rows = (await db.query<{ left_id: string; right_id: string; classification: string }>(`SELECT left_id, right_id, classification FROM mpi_pair`)).rows;
  const idx = new Map(pop.records.map((r, i) => [r.id, i]));
  const matches = rows.filter((r) => r.classification === 'match').map((r) => ({ a: idx.get(r.left_id)!, b: idx.get(r.right_id)!, classification: 'match' as const, weight: 0, probability: 1 }));
  let tp = 0;
  let fp = 0;
  for (const members of clusterMatches(pop.records.length, matches)) {
    for (let x = 0; x < members.length; x++)
      for (let y = x + 1; y < members.length; y++) {
        if (pop.clusters[members[x]!] === pop.clusters[members[y]!]) tp++;
        else fp++;
      }
  }
  const bySize = new Map<string, number>();
  for (const c of cluster.values()) bySize.set(c, (bySize.get(c) ?? 0) + 1);
  let truePairs = 0;
  for (const k of bySize.values()) truePairs += (k * (k - 1)) / 2;
  const possibleTrue = rows.filter((r) => r.classification === 'possible' && cluster.get(r.left_id) === cluster.get(r.right_id)).length;
  out.run = {
    ...s,
    wallSeconds: seconds,
    peakRssMiB: peak,
    truePairs,
    truePositives: tp,
    falsePositives: fp,
    precision: tp / Math.max(1, tp + fp),
    recall: tp / Math.max(1, truePairs),
    possibleMatchesThatAreTrue: possibleTrue,
  };
  await db.close();
}

async function match(): Promise<void> {
  loadDefinitions();
  const db = await openStore({ databaseUrl: DB });
  await syncKeys(db);
  const app = await buildApp({ db });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const pop = syntheticPopulation(N);
  const r = rng(7);
  // Queries: half an existing record as registration would send it again (with a typo in the
  // family name half the time), half a new person (names and birth date of different records).
  const queries: Patient[] = [];
  for (let i = 0; i < MATCHES; i++) {
    const rec = structuredClone(pop.records[Math.floor(r() * pop.records.length)]!);
    if (i % 2 === 1) {
      const other = pop.records[Math.floor(r() * pop.records.length)]!;
      rec.family = other.family;
      rec.birthDate = other.birthDate;
      rec.ssn = undefined;
    } else if (r() < 0.5 && rec.family && rec.family.length > 3) rec.family = rec.family.slice(0, 2) + rec.family[3] + rec.family[2] + rec.family.slice(4);
    const p = toPatient(rec);
    delete p.id;
    p.identifier = p.identifier?.filter((x) => !x.system?.includes('mrn'));
    queries.push(p);
  }
  const ids = pop.records.map((x) => x.id);
  const time = async (f: () => Promise<Response>): Promise<number> => {
    const t = performance.now();
    const res = await f();
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return performance.now() - t;
  };
  const summary = (xs: number[]): Record<string, number> => {
    const s = [...xs].sort((a, b) => a - b);
    return { n: s.length, p50: +percentile(s, 50).toFixed(1), p95: +percentile(s, 95).toFixed(1), p99: +percentile(s, 99).toFixed(1), max: +s.at(-1)!.toFixed(1) };
  };
  // Warm-up (model cache, connections, JIT), then interleaved: a read, a $match.
  for (let i = 0; i < 20; i++) {
    await time(() => fetch(`${base}/fhir/Patient/${ids[i]}`));
    await time(() => fetch(`${base}/fhir/Patient/$match`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: queries[i % queries.length] }] }) }));
  }
  const reads: number[] = [];
  const matchesMs: number[] = [];
  let found = 0;
  for (let i = 0; i < MATCHES; i++) {
    reads.push(await time(() => fetch(`${base}/fhir/Patient/${ids[Math.floor(r() * ids.length)]}`)));
    const t = performance.now();
    const res = await fetch(`${base}/fhir/Patient/$match`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'resource', resource: queries[i] }] }) });
    const body = (await res.json()) as { total?: number };
    matchesMs.push(performance.now() - t);
    if (!res.ok) throw new Error(`$match HTTP ${res.status}`);
    if (i % 2 === 0 && (body.total ?? 0) > 0) found++;
  }
  const m = summary(matchesMs);
  const b = summary(reads);
  out.match = { queries: MATCHES, match: m, baselineReadById: b, p95RatioToBaseline: +(m.p95! / b.p95!).toFixed(1), knownPersonsFound: `${found}/${Math.ceil(MATCHES / 2)}` };
  await app.close();
  await db.close();
}

async function main(): Promise<void> {
  if (args.includes('--load')) await load();
  if (args.includes('--run')) await run();
  if (MATCHES > 0) await match();
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
