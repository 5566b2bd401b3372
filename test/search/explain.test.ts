/**
 * Query plans on PostgreSQL: searches on indexed parameters can use an index. The tables are small
 * in a test, where a sequential scan is cheaper, so sequential scans are disabled for the EXPLAIN:
 * the plan must then find an index for every table it reads.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgresTest } from '../helpers/db.js';
import type { Db, Queryable } from '../../src/store/db.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { Params, searchIds, searchTuning, whereClause } from '../../src/store/search-sql.js';

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
  ['Observation', { 'code-value-quantity': 'http://loinc.org|4548-4$gt9' }],
  ['Observation', { 'component-code-value-quantity': '8480-6$gt140' }],
];

/** A Queryable over `db` that explains every statement a search runs (plans, in order) before running it. */
function explained(db: Db): { traced: Queryable; plans: string[] } {
  const plans: string[] = [];
  const traced: Queryable = {
    query: async <R>(sql: string, params?: unknown[]) => {
      if (!sql.startsWith('EXPLAIN')) plans.push((await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params)).rows.map((x) => x['QUERY PLAN']).join('\n'));
      return db.query<R>(sql, params);
    },
    exec: (sql) => db.exec(sql),
    copyIn: (table, columns, data) => db.copyIn(table, columns, data),
  };
  return { traced, plans };
}

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
// A month of encounters out of fifty years' worth: the window is read from the span index (migration
// 005), not by a B-tree range over everything before its end or after its start.
for (const pgUrl of url ? [url] : []) describe('a date window reads the span index (PostgreSQL)', () => {
  let db: Db;
  before(async () => {
    db = await openPostgresTest(pgUrl);
    await db.exec(`INSERT INTO sp_date (resource_type, id, code, lo, hi)
      SELECT 'Encounter', 'e' || g, 'date', t, t + interval '2 hours'
        FROM generate_series(1, 20000) g, LATERAL (SELECT timestamptz '1970-01-01' + (g * interval '1 day') AS t) x;
      ANALYZE sp_date`);
  });
  after(async () => db.close());

  it('Encounter?date=ge2012-01-01&date=lt2012-02-01', async () => {
    const req = parseSearchRequest('Encounter', { date: ['ge2012-01-01', 'lt2012-02-01'] });
    const { traced, plans } = explained(db);
    const page = await searchIds(traced, req);
    assert.equal(page.total, 31);
    const pageStatement = plans.find((x) => /Limit/.test(x)) ?? '';
    assert.match(pageStatement, /sp_date_span/, plans.join('\n----\n'));
  });
});
// Date windows on one parameter among many (the rows repeat fifteen times, as the copies of a
// benchmark's population do). The planner estimates a window's set from the span index's band as if
// the type and parameter were independent of it, far too few rows.
for (const pgUrl of url ? [url] : []) describe('a date window among many parameters (PostgreSQL)', () => {
  let db: Db;
  before(async () => {
    db = await openPostgresTest(pgUrl);
    await db.exec(`INSERT INTO sp_date (resource_type, id, code, lo, hi)
      SELECT 'Encounter', 'e' || g || '-' || k, 'date', t, t + interval '2 hours'
        FROM generate_series(1, 2000) g, generate_series(1, 15) k, LATERAL (SELECT timestamptz '1940-01-01' + (g * interval '13 days') AS t) x;
      INSERT INTO sp_token (resource_type, id, code, system, value)
      SELECT 'Encounter', 'e' || g || '-' || k, 'class', 'http://terminology.hl7.org/CodeSystem/v3-ActCode', CASE WHEN g % 5 = 0 THEN 'IMP' ELSE 'AMB' END
        FROM generate_series(1, 2000) g, generate_series(1, 15) k;
      INSERT INTO sp_date (resource_type, id, code, lo, hi)
      SELECT rt, rt || c || g || '-' || k, c, t, t
        FROM generate_series(1, 1000) g, generate_series(1, 10) k,
             unnest(ARRAY['Observation', 'Condition', 'Procedure', 'Immunization', 'DiagnosticReport', 'MedicationRequest']) rt,
             unnest(ARRAY['date', 'onset-date', 'recorded-date', 'issued']) c,
             LATERAL (SELECT timestamptz '1940-01-01' + (g * interval '27 days') AS t) x`);
    await db.exec('VACUUM ANALYZE sp_date, sp_token');
  });
  after(async () => db.close());

  // A closed window: the span index already keeps to the parameter's band, and is read alone, its
  // rows filtered by type and parameter. Were those conditions open to an index, the planner, with its
  // estimate, would read the parameter's every row through the (type, id, code) B-tree, in id order
  // or ANDed with the span index (84,084 Encounter.date rows for a quarter's 1,890 on a million-
  // resource store, twice as slow).
  const windows: [string, Record<string, string | string[]>, number][] = [
    ['twenty years', { date: ['ge1970-01-01', 'lt1990-01-01'] }, 8430],
    ['sixty years', { date: ['ge1950-01-01', 'lt2010-01-01'] }, 25290],
    ['eq a year', { date: 'eq1980' }, 420],
  ];
  for (const [label, query, total] of windows) {
    it(`Encounter?date= ${label}: the span index alone`, async () => {
      const { traced, plans } = explained(db);
      const page = await searchIds(traced, parseSearchRequest('Encounter', query));
      assert.equal(page.total, total);
      const all = plans.join('\n----\n');
      assert.match(all, /sp_date_span/, all);
      assert.doesNotMatch(all, /sp_date_res|BitmapAnd/, all);
    });
  }

  // Every set past the count limit (25,290 encounters in the window, 24,000 ambulatory): the sets are
  // joined by hashing or merging, not by a nested loop probing one set per id of the other, which the
  // planner's estimate of the window (hundreds of rows) would choose.
  it('Encounter?date=ge1950-01-01&date=lt2010-01-01&class=AMB: large sets are joined whole', async () => {
    const { traced, plans } = explained(db);
    const page = await searchIds(traced, parseSearchRequest('Encounter', { date: ['ge1950-01-01', 'lt2010-01-01'], class: 'AMB' }));
    assert.equal(page.total, 20235);
    assert.equal(searchTuning.driverLimit, 20_000);
    const all = plans.join('\n----\n');
    assert.match(all, /Hash Full Join|Merge Full Join/, all);
    assert.doesNotMatch(all, /Nested Loop/, all);
  });
});
// A search by system|code is estimated from the token rows' combined statistics (migration 044), not
// as if the system were independent of the code: one row in seven has the LOINC system here, as in
// Synthea, and the estimate of the LOINC body heights must not come out seven times too small (the
// searches that intersect sets choose which to read whole from it).
for (const pgUrl of url ? [url] : []) describe('a system|code token set is estimated with its system (PostgreSQL)', () => {
  let db: Db;
  before(async () => {
    db = await openPostgresTest(pgUrl);
    await db.exec(`INSERT INTO sp_token (resource_type, id, code, system, value, text)
      SELECT 'Observation', 'o' || g, 'code', 'http://loinc.org', '8302-2', NULL FROM generate_series(1, 10000) g;
      INSERT INTO sp_token (resource_type, id, code, system, value, text)
      SELECT 'Observation', 'o' || g, 'category', 'http://terminology.hl7.org/CodeSystem/observation-category', 'vital-signs', NULL FROM generate_series(1, 10000) g;
      INSERT INTO sp_token (resource_type, id, code, system, value, text)
      SELECT 'Condition', 'c' || g, 'code', 'http://snomed.info/sct', (g % 500)::text, NULL FROM generate_series(1, 50000) g;
      ANALYZE sp_token`);
  });
  after(async () => db.close());

  it('Observation?code=http://loinc.org|8302-2', async () => {
    const r = await db.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT s.id FROM sp_token s WHERE s.resource_type = 'Observation' AND s.code = 'code' AND s.value = '8302-2' AND s.system = 'http://loinc.org'`,
    );
    const plan = r.rows.map((x) => x['QUERY PLAN']).join('\n');
    const rows = Number(/rows=(\d+)/.exec(plan)?.[1]);
    assert.ok(rows >= 5000 && rows <= 20000, plan);
  });
});
// A code among a family's patients (Observation?subject:Patient.family=X&code=Y) reads the token rows
// filed under those patients (migration 045): one descent of sp_token_patient per patient, not every
// resource with the code intersected with every resource of the patients.
for (const pgUrl of url ? [url] : []) describe('a code among a chained family reads the token rows by patient (PostgreSQL)', () => {
  let db: Db;
  before(async () => {
    db = await openPostgresTest(pgUrl);
    await db.exec(`INSERT INTO sp_string (resource_type, id, code, value, norm)
      SELECT 'Patient', 'p' || g, 'family', 'Fam' || (g % 400), 'fam' || (g % 400) FROM generate_series(1, 4000) g;
      INSERT INTO sp_reference (resource_type, id, code, target_type, target_id, url)
      SELECT 'Observation', 'o' || g, 'subject', 'Patient', 'p' || (g % 4000 + 1), 'Patient/p' || (g % 4000 + 1) FROM generate_series(1, 60000) g;
      INSERT INTO sp_token (resource_type, id, code, system, value, text, patient)
      SELECT 'Observation', 'o' || g, 'code', 'http://loinc.org', CASE WHEN g % 3 = 0 THEN '8302-2' ELSE '29463-7' END, NULL, 'p' || (g % 4000 + 1)
        FROM generate_series(1, 60000) g;
      ANALYZE sp_string; ANALYZE sp_reference; ANALYZE sp_token`);
  });
  after(async () => db.close());

  it('Observation?subject:Patient.family=fam7&code=http://loinc.org|8302-2', async () => {
    const req = parseSearchRequest('Observation', { 'subject:Patient.family': 'fam7', code: 'http://loinc.org|8302-2' });
    const { traced, plans } = explained(db);
    const page = await searchIds(traced, req);
    // the same set joined the long way: the family's patients' observations that have the code
    const expected = await db.query<{ n: number }>(`SELECT count(DISTINCT r.id)::int AS n FROM sp_reference r
      JOIN sp_string f ON f.resource_type = 'Patient' AND f.code = 'family' AND f.norm LIKE 'fam7%' AND f.id = r.target_id
      JOIN sp_token t ON t.resource_type = 'Observation' AND t.id = r.id AND t.code = 'code' AND t.value = '8302-2'
      WHERE r.resource_type = 'Observation' AND r.code = 'subject' AND r.target_type = 'Patient'`);
    assert.ok(Number(expected.rows[0]?.n) > 50, `the family has body heights (${expected.rows[0]?.n})`);
    assert.equal(page.total, expected.rows[0]?.n);
    const pageStatement = plans.find((x) => /Limit/.test(x)) ?? '';
    assert.match(pageStatement, /sp_token_patient/, plans.join('\n----\n'));
    assert.doesNotMatch(pageStatement, /sp_token_value|sp_reference_target/, pageStatement);
  });
});
// The number of resources with a value (Claim?status=active, the total of a worklist) is counted
// from sp_token_patient (migration 045), whose entries share one key for many rows, rather than
// from sp_token_value, which has an entry per row. The store holds other types' tokens too, as any
// does: with Claim's statuses alone, counting most of the table, a sequential scan is as good.
for (const pgUrl of url ? [url] : []) describe('the resources with a value are counted from the deduplicated index (PostgreSQL)', () => {
  let db: Db;
  before(async () => {
    db = await openPostgresTest(pgUrl);
    await db.exec(`INSERT INTO sp_token (resource_type, id, code, system, value, text, patient)
      SELECT 'Claim', 'c' || g, 'status', 'http://hl7.org/fhir/fm-status', CASE WHEN g % 10 = 0 THEN 'cancelled' ELSE 'active' END, NULL,
             CASE WHEN g % 7 = 0 THEN NULL ELSE 'p' || (g % 3000) END
        FROM generate_series(1, 60000) g;
      INSERT INTO sp_token (resource_type, id, code, system, value, text, patient)
      SELECT 'Observation', 'o' || g, 'code', 'http://loinc.org', '8302-' || (g % 50), NULL, 'p' || (g % 3000)
        FROM generate_series(1, 150000) g`);
    // (visible to every transaction, as a loaded store's rows are once vacuumed: an index-only scan)
    await db.exec('VACUUM ANALYZE sp_token');
  });
  after(async () => db.close());

  it('Claim?status=active&_summary=count', async () => {
    const req = parseSearchRequest('Claim', { status: 'active', _summary: 'count' });
    const { traced, plans } = explained(db);
    const page = await searchIds(traced, req);
    assert.equal(page.total, 54000);
    const count = plans.find((x) => /Aggregate/.test(x) && !/LIMIT|Limit/.test(x)) ?? plans.join('\n----\n');
    // (an index-only scan once the rows are all visible; while an older snapshot is open elsewhere, as
    // another test's or a reader's, VACUUM cannot mark them so, and the index is read for a bitmap)
    assert.match(count, /(Index Only Scan using|Bitmap Index Scan on) sp_token_patient/, plans.join('\n----\n'));
    assert.doesNotMatch(count, /sp_token_value|Seq Scan/, count);
  });
});
