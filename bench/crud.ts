/**
 * Single-resource create and read over HTTP on PostgreSQL: requests/s and latency percentiles with
 * autocannon, against a baseline measured in the same run: GET /fhir/metadata-free Fastify route
 * returning a constant (the HTTP stack alone).
 *
 *   node --import tsx bench/crud.ts [--seconds 10] [--connections 16]
 */
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { openStore } from '../src/store/open.js';
import { buildApp } from '../src/server/app.js';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { freshSchema, PeakMemory } from './util.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('--seconds', 10);
const CONNECTIONS = arg('--connections', 16);

const patient = JSON.stringify({
  resourceType: 'Patient', name: [{ family: 'Bench', given: ['Mark'] }], gender: 'female', birthDate: '1980-02-03',
  identifier: [{ system: 'urn:mrn', value: 'B-1' }], address: [{ line: ['1 Main St'], city: 'Boston', state: 'MA', postalCode: '02118' }],
});

async function run(url: string, opts: Partial<autocannon.Options>): Promise<{ rps: number; p50: number; p97_5: number; p99: number; errors: number }> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS, ...opts });
  return { rps: Math.round(r.requests.average), p50: r.latency.p50, p97_5: (r.latency as unknown as Record<string, number>).p97_5 ?? r.latency.p99, p99: r.latency.p99, errors: r.errors + r.non2xx }; // autocannon reports no p95
}

async function main(): Promise<void> {
  loadDefinitions();
  const schema = await freshSchema('bench_crud');
  const db = await openStore({ databaseUrl: schema.url });
  const app: FastifyInstance = await buildApp({ db });
  app.get('/bench/constant', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const mem = new PeakMemory();

  const baseline = await run(`${base}/bench/constant`, {});
  const create = await run(`${base}/fhir/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: patient });
  const ids = (await db.query<{ id: string }>(`SELECT id FROM resource WHERE resource_type = 'Patient' LIMIT 1000`)).rows.map((r) => r.id);
  let i = 0;
  const read = await run(`${base}/fhir/Patient/${ids[0]}`, {
    requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: `/fhir/Patient/${ids[i++ % ids.length]}` }) } as autocannon.Request],
  });
  const mixed = await run(`${base}/fhir/Patient`, {
    requests: [
      { method: 'POST', path: '/fhir/Patient', headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' }, body: patient },
      { method: 'GET', setupRequest: (req: autocannon.Request) => ({ ...req, path: `/fhir/Patient/${ids[i++ % ids.length]}` }) } as autocannon.Request,
    ],
  });
  const peak = mem.stop();
  await app.close();
  await db.close();
  await schema.drop();
  console.log(JSON.stringify({
    seconds: SECONDS, connections: CONNECTIONS,
    baselineConstantRoute: baseline,
    create, read, mixedCreateRead: mixed,
    createRatioToBaseline: +(create.rps / baseline.rps).toFixed(3),
    readRatioToBaseline: +(read.rps / baseline.rps).toFixed(3),
    peakRssMiB: peak,
  }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
