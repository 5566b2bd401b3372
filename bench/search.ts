/**
 * Search at scale: a fixed mix of 20 typical HIM searches over HTTP against the loaded benchmark
 * database, p50/p95 per query and requests/s for the mix, against a baseline measured in the same
 * run (a read by id); then $export of everything, against a raw COPY of the same rows. Peak RSS of
 * the server process (VmHWM).
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench1m node --import tsx bench/search.ts [--rounds 30]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { openStore } from '../src/store/open.js';
import { buildApp } from '../src/server/app.js';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { waitForExport } from '../src/records/bulk-export.js';
import { BENCH_DATABASE_URL, percentile, searchSamples } from './util.js';

const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 30);

function vmHwmMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function main(): Promise<void> {
  loadDefinitions();
  const db = await openStore({ databaseUrl: BENCH_DATABASE_URL });
  const exportDir = mkdtempSync(path.join(tmpdir(), 'custodian-bench-export-'));
  const app = await buildApp({ db, exportDir });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const total = Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resource')).rows[0]?.n);

  // sample real values to search for
  const sample = async (sql: string): Promise<string[]> => (await db.query<{ v: string }>(sql)).rows.map((r) => r.v);
  const { patients, families } = await searchSamples(db);
  const births = await sample(`SELECT to_char(lo, 'YYYY-MM-DD') AS v FROM sp_date WHERE resource_type = 'Patient' AND code = 'birthdate' LIMIT 50`);
  const mrns = await sample(`SELECT system || '|' || value AS v FROM sp_token WHERE resource_type = 'Patient' AND code = 'identifier' AND system = 'http://hospital.smarthealthit.org' LIMIT 50`);
  const owners = await sample(`SELECT DISTINCT target_type || '/' || target_id AS v FROM sp_reference WHERE resource_type = 'Task' AND code = 'owner' LIMIT 50`);
  const pick = (a: string[], i: number): string => a[i % a.length] as string;

  const mix: [string, (i: number) => string][] = [
    ['patient by name', (i) => `/fhir/Patient?name=${pick(families, i).slice(0, 4)}`],
    ['patient by family and birth date', (i) => `/fhir/Patient?family=${pick(families, i)}&birthdate=${pick(births, i)}`],
    ['patient by MRN', (i) => `/fhir/Patient?identifier=${encodeURIComponent(pick(mrns, i))}`],
    ['encounters by date range and class', (i) => `/fhir/Encounter?date=ge${2010 + (i % 9)}-01-01&date=lt${2010 + (i % 9)}-02-01&class=AMB&_count=20`],
    ['encounters of a patient', (i) => `/fhir/Encounter?patient=Patient/${pick(patients, i)}`],
    ['conditions by code', () => `/fhir/Condition?code=http://snomed.info/sct|44054006&_count=20`],
    ['active conditions of a patient', (i) => `/fhir/Condition?patient=${pick(patients, i)}&clinical-status=active`],
    ['HbA1c above 9', () => `/fhir/Observation?code=http://loinc.org|4548-4&value-quantity=gt9&_count=20`],
    ['latest vital signs of a patient', (i) => `/fhir/Observation?patient=${pick(patients, i)}&category=vital-signs&_sort=-date&_count=20`],
    ['unsigned documents', () => `/fhir/DocumentReference?status=current&authenticator:missing=true&_count=20`],
    ['active claims', () => `/fhir/Claim?status=active&_count=20`],
    ['claims of a patient', (i) => `/fhir/Claim?patient=${pick(patients, i)}&_count=50`],
    ['tasks by owner and status', (i) => `/fhir/Task?owner=${pick(owners, i)}&status=requested`],
    ['open deficiency tasks by due date', () => `/fhir/Task?status=requested&code=http://custodian.dev/fhir/CodeSystem/work-type|deficiency&_sort=-authored-on&_count=20`],
    ['chained: observations of patients named', (i) => `/fhir/Observation?subject:Patient.family=${pick(families, i)}&code=http://loinc.org|8302-2&_count=20`],
    ['encounters with their practitioners included', (i) => `/fhir/Encounter?patient=${pick(patients, i)}&_include=Encounter:participant&_count=20`],
    ['reverse chain: patients with a diabetes condition', () => `/fhir/Patient?_has:Condition:patient:code=44054006&_count=20`],
    ['patient $everything, first page', (i) => `/fhir/Patient/${pick(patients, i)}/$everything?_count=100`],
    ['immunizations of a patient since 2015', (i) => `/fhir/Immunization?patient=${pick(patients, i)}&date=ge2015-01-01`],
    ['EOBs of a patient, newest first', (i) => `/fhir/ExplanationOfBenefit?patient=${pick(patients, i)}&_sort=-created&_count=20`],
  ];

  const time = async (url: string): Promise<number> => {
    const t = performance.now();
    const r = await fetch(base + url);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
    return performance.now() - t;
  };

  // warm-up, then the baseline: read by id
  for (let i = 0; i < 20; i++) await time(`/fhir/Patient/${pick(patients, i)}`);
  const readTimes: number[] = [];
  for (let i = 0; i < ROUNDS * 2; i++) readTimes.push(await time(`/fhir/Patient/${pick(patients, i)}`));
  readTimes.sort((a, b) => a - b);
  const baselineP95 = percentile(readTimes, 95);

  const perQuery: Record<string, { p50: number; p95: number; ratioToReadP95: number }> = {};
  for (const [name, make] of mix) {
    await time(make(999));
    const ts: number[] = [];
    for (let i = 0; i < ROUNDS; i++) ts.push(await time(make(i)));
    ts.sort((a, b) => a - b);
    perQuery[name] = { p50: +percentile(ts, 50).toFixed(1), p95: +percentile(ts, 95).toFixed(1), ratioToReadP95: +(percentile(ts, 95) / baselineP95).toFixed(1) };
  }

  // throughput of the whole mix with 8 concurrent clients
  const started = performance.now();
  let done = 0;
  await Promise.all(Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; i < ROUNDS; i++) {
      const [, make] = mix[(i + w) % mix.length] as [string, (i: number) => string];
      await time(make(i * 8 + w));
      done++;
    }
  }));
  const mixRps = done / ((performance.now() - started) / 1000);

  // $export of everything vs raw COPY of the same rows
  const exportStart = performance.now();
  const kick = await fetch(`${base}/fhir/$export`, { headers: { prefer: 'respond-async' } });
  const jobId = (kick.headers.get('content-location') as string).split('/').pop() as string;
  await waitForExport(jobId);
  const exportSeconds = (performance.now() - exportStart) / 1000;
  const manifest = (await (await fetch(`${base}/fhir/$export-status/${jobId}`)).json()) as { output: { count: number }[] };
  const exported = manifest.output.reduce((a, o) => a + o.count, 0);
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  const copyStart = performance.now();
  let bytes = 0;
  await pipeline(client.query(copyTo('COPY (SELECT content FROM resource WHERE NOT deleted) TO STDOUT')), new Writable({ write(chunk, _e, cb) { bytes += chunk.length; cb(); } }));
  const copySeconds = (performance.now() - copyStart) / 1000;
  await client.end();

  const peak = vmHwmMiB();
  await app.close();
  await db.close();
  rmSync(exportDir, { recursive: true, force: true });
  const worstP95 = Math.max(...Object.values(perQuery).map((q) => q.p95));
  console.log(JSON.stringify({
    resources: total,
    rounds: ROUNDS,
    baselineReadById: { p50: +percentile(readTimes, 50).toFixed(1), p95: +baselineP95.toFixed(1) },
    perQuery,
    worstP95,
    mixRequestsPerSecond8Clients: Math.round(mixRps),
    export: { resources: exported, seconds: +exportSeconds.toFixed(1), resourcesPerSecond: Math.round(exported / exportSeconds), rawCopySeconds: +copySeconds.toFixed(1), rawCopyRowsPerSecond: Math.round(exported / copySeconds), ratioToRawCopy: +(copySeconds / exportSeconds).toFixed(2), rawCopyMiB: Math.round(bytes / 1048576) },
    peakRssMiB: peak,
  }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
