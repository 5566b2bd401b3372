/**
 * Query plans on PostgreSQL: searches on indexed parameters can use an index. The tables are small
 * in a test, where a sequential scan is cheaper, so sequential scans are disabled for the EXPLAIN:
 * the plan must then find an index for every table it reads.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresTest } from '../helpers/db.js';
import type { Db } from '../../src/store/db.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { Params, whereClause } from '../../src/store/search-sql.js';

const url = process.env.TEST_DATABASE_URL;

const QUERIES: [string, Record<string, string>][] = [
  ['Patient', { name: 'smi' }],
  ['Patient', { family: 'smith', birthdate: '1970-01-01' }],
  ['Patient', { identifier: 'urn:mrn|123' }],
  ['Encounter', { date: 'ge2020-01-01', class: 'IMP' }],
  ['Encounter', { patient: 'Patient/123' }],
  ['Condition', { code: 'http://hl7.org/fhir/sid/icd-10-cm|E11.9' }],
  ['Observation', { 'value-quantity': 'gt100' }],
  ['DocumentReference', { status: 'current' }],
  ['Task', { owner: 'Practitioner/1', status: 'requested' }],
  ['Observation', { 'subject:Patient.name': 'smith' }],
  ['Patient', { '_has:Observation:patient:code': '1234-5' }],
  ['Patient', { _id: 'abc' }],
];

// Runs where a PostgreSQL server is configured (CI); PGlite has no planner statistics worth asserting on.
for (const pgUrl of url ? [url] : []) describe('query plans use indexes (PostgreSQL)', () => {
  let db: Db;
  before(async () => {
    db = await openPostgresTest(pgUrl);
  });
  after(async () => db.close());

  for (const [type, query] of QUERIES) {
    it(`${type}?${new URLSearchParams(query).toString()}`, async () => {
      const req = parseSearchRequest(type, query);
      const p = new Params();
      const where = whereClause(type, req.filters, p);
      const plan = await db.transaction(async (tx) => {
        await tx.exec('SET LOCAL enable_seqscan = off');
        const r = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT r.id FROM resource r WHERE ${where} LIMIT 20`, p.values);
        return r.rows.map((x) => x['QUERY PLAN']).join('\n');
      });
      assert.doesNotMatch(plan, /Seq Scan/, plan);
      assert.match(plan, /Index/, plan);
    });
  }
});