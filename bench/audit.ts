/**
 * The cost of the audit trail: CRUD requests/s over HTTP with auditing on, as a ratio to the same run
 * with it off (AuthOptions.audit = false, a benchmark-only switch), authenticated in both; then
 * `audit verify` throughput over a chain of synthetic events (linear, so 10 million is extrapolated
 * unless --events 10000000 is given).
 *
 *   node --import tsx bench/audit.ts [--seconds 5] [--connections 16] [--events 200000] [--rounds 2]
 *
 * The load average is printed with the figures: on a shared machine the ratio is the figure to read.
 */
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { loadDefinitions } from '../src/fhir/definitions.js';
import { buildAuditEvent } from '../src/audit/balp.js';
import { hashPassword } from '../src/security/password.js';
import { buildApp } from '../src/server/app.js';
import { auditInTransaction, verifyAuditChain } from '../src/store/audit-store.js';
import { openStore } from '../src/store/open.js';
import { insertUser } from '../src/store/security-store.js';
import { freshSchema } from './util.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SECONDS = arg('--seconds', 5);
const CONNECTIONS = arg('--connections', 16);
const EVENTS = arg('--events', 200_000);
const ROUNDS = arg('--rounds', 2);
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

const patient = JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench', given: ['Audit'] }], gender: 'female', birthDate: '1980-02-03' });

async function crud(audit: boolean, url: string): Promise<number> {
  const db = await openStore({ databaseUrl: url });
  const app = await buildApp({ db, auth: { audit, apiPerMinute: 10_000_000, jwtSecret: new TextEncoder().encode('bench-secret-bench-secret-bench-secret') } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'bench', password: 'bench-password-1234' } });
  const auth = `Bearer ${login.json().access_token}`;
  const seed = await app.inject({ method: 'POST', url: '/fhir/Patient', headers: { authorization: auth }, payload: JSON.parse(patient) });
  const id = seed.json().id as string;
  const headers = { authorization: auth, 'content-type': 'application/fhir+json' };
  const r = await autocannon({
    url: base, connections: CONNECTIONS, duration: SECONDS,
    requests: [
      { method: 'POST', path: '/fhir/Patient', headers: { ...headers, prefer: 'return=minimal' }, body: patient },
      { method: 'GET', path: `/fhir/Patient/${id}`, headers },
      { method: 'PUT', path: `/fhir/Patient/${id}`, headers, body: JSON.stringify({ ...JSON.parse(patient), id, gender: 'male' }) },
      { method: 'GET', path: '/fhir/Patient?family=Bench&_count=10', headers },
    ],
  });
  await app.close();
  await db.close();
  if (r.non2xx > r.requests.total * 0.01) throw new Error(`${r.non2xx} non-2xx responses`);
  return r.requests.average;
}

async function main(): Promise<void> {
  loadDefinitions();
  const schema = await freshSchema('bench_audit');
  const db = await openStore({ databaseUrl: schema.url });
  await insertUser(db, { username: 'bench', roles: ['integration'], passwordHash: await hashPassword('bench-password-1234') });
  await db.close();

  // alternate off/on so drift on a shared machine hits both sides
  const off: number[] = [];
  const on: number[] = [];
  const loadBefore = load();
  for (let round = 0; round < ROUNDS; round++) {
    off.push(await crud(false, schema.url));
    on.push(await crud(true, schema.url));
  }
  const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const loadAfterCrud = load();

  // verify: a chain of EVENTS synthetic events in batches of 5,000
  const db2 = await openStore({ databaseUrl: schema.url });
  const before = Number((await db2.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event')).rows[0]?.n ?? 0);
  const t0 = Date.now();
  for (let done = 0; done < EVENTS; done += 5000) {
    const batch = Array.from({ length: Math.min(5000, EVENTS - done) }, (_, i) =>
      buildAuditEvent({ kind: { type: 'rest', interaction: 'read' }, success: true, user: { username: `user${i % 50}` }, patientIds: [`p${(done + i) % 10_000}`], references: [`Observation/o${done + i}`], clientAddress: '10.0.0.1', purposeOfUse: 'TREAT' }));
    await db2.transaction((tx) => auditInTransaction(tx, ...batch));
  }
  const appendSeconds = (Date.now() - t0) / 1000;
  const t1 = Date.now();
  const v = await verifyAuditChain(db2);
  const verifySeconds = (Date.now() - t1) / 1000;
  await db2.close();
  await schema.drop();
  const perSecond = v.checked / verifySeconds;
  console.log(JSON.stringify({
    seconds: SECONDS, connections: CONNECTIONS, loadAverage: { before: loadBefore, afterCrud: loadAfterCrud, end: load() },
    crudRpsAuditOff: off.map(Math.round), crudRpsAuditOn: on.map(Math.round),
    auditOnToOffRatio: +(avg(on) / avg(off)).toFixed(3),
    perRoundRatio: on.map((x, i) => +(x / (off[i] as number)).toFixed(3)),
    chain: { events: v.checked, fromCrudRuns: before, ok: v.ok, appendSeconds, appendPerSecond: Math.round(EVENTS / appendSeconds), verifySeconds, verifyPerSecond: Math.round(perSecond),
      verify10MillionSecondsExtrapolated: Math.round(10_000_000 / perSecond) },
  }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
