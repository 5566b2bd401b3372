/**
 * Migration 046: the date-span index becomes an index of points (start, end). A store the previous
 * version left, with resources in it, is upgraded in place; one whose indexes a load had set aside
 * gets the new index when the load builds them again. Either way date windows find the same
 * encounters, through the new index, and the range functions are gone. On both engines.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { backendsUpTo } from '../helpers/db.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { deferredSearchIndexes, deferSearchIndexes, restoreSearchIndexes } from '../../src/store/deferred-indexes.js';
import { writeResources } from '../../src/store/repository.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { searchIds } from '../../src/store/search-sql.js';

const encounter = (id: string, start: string, end: string): Resource =>
  ({
    resourceType: 'Encounter', id, status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject: { reference: 'Patient/p1' }, period: { start, end },
  }) as Resource;

const ENCOUNTERS = [
  encounter('before', '2011-11-01T08:00:00Z', '2011-11-01T09:00:00Z'),
  encounter('across-new-year', '2011-12-30T22:00:00Z', '2012-01-02T10:00:00Z'),
  encounter('mid-january', '2012-01-10T08:00:00Z', '2012-01-12T17:30:00Z'),
  encounter('last-second', '2012-01-31T23:59:59Z', '2012-02-01T00:00:00Z'),
  encounter('march', '2012-03-01T09:15:00Z', '2012-03-02T11:00:00Z'),
  encounter('decade', '2005-06-01T00:00:00Z', '2015-06-01T00:00:00Z'),
];

/** Search value -> the encounters whose period it matches (FHIR R4 date search against a period). */
const WINDOWS: [Record<string, string | string[]>, string[]][] = [
  [{ date: ['ge2012-01-01', 'lt2012-02-01'] }, ['across-new-year', 'decade', 'last-second', 'mid-january']],
  [{ date: 'ge2012-03-01T10:00:00Z' }, ['decade', 'march']],
  [{ date: 'lt2011-12-01' }, ['before', 'decade']],
  [{ date: 'eq2012-01' }, ['mid-january']],
  [{ date: 'le2011-11-01T08:00:00Z' }, ['before', 'decade']],
  [{ date: 'gt2015-01-01' }, ['decade']],
];

async function answers(db: Db): Promise<string[][]> {
  const out: string[][] = [];
  for (const [query] of WINDOWS) out.push((await searchIds(db, parseSearchRequest('Encounter', query))).ids.sort());
  return out;
}

async function spanIndex(db: Db): Promise<string | undefined> {
  const r = await db.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'sp_date_span'`);
  return r.rows[0]?.indexdef;
}

async function rangeFunctions(db: Db): Promise<string[]> {
  const r = await db.query<{ proname: string }>(
    `SELECT proname FROM pg_proc WHERE pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND proname IN ('sp_date_span', 'sp_date_window', 'sp_date_band') ORDER BY proname`,
  );
  return r.rows.map((row) => row.proname);
}

/** A store as migration 045 left it, for one test. */
async function withOldStore(open: () => Promise<Db>, test: (db: Db) => Promise<void>): Promise<void> {
  const db = await open();
  try {
    await test(db);
  } finally {
    await db.close();
  }
}

const writeEncounters = (db: Db) =>
  db.transaction((tx) => writeResources(tx, ENCOUNTERS.map((r) => ({ resourceType: 'Encounter', id: r.id as string, method: 'PUT' as const, resource: r }))));

const POINT_INDEX = /gist \(sp_date_point\(resource_type, code, lo, hi\)\) INCLUDE \(resource_type, code, id, lo, hi\)/;

for (const backend of backendsUpTo(45)) {
  describe(`migration 046, date spans as points (${backend.name})`, () => {
    it('upgrades a store holding encounters: the same windows find the same encounters, through the new index', () =>
      withOldStore(backend.open, async (db) => {
        await writeEncounters(db);
        assert.match((await spanIndex(db)) ?? '', /gist \(sp_date_span\(/, 'the store starts with the range index');
        assert.deepEqual(await migrate(db), ['046_date_span_points.sql']);
        assert.match((await spanIndex(db)) ?? '', POINT_INDEX);
        assert.deepEqual(await rangeFunctions(db), []);
        assert.deepEqual(await answers(db), WINDOWS.map(([, ids]) => ids));
        // the window is answered by the index: with sequential scans priced out, the plan names it
        await db.transaction(async (tx) => {
          await tx.exec('SET LOCAL enable_seqscan = off');
          const plan = await tx.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN SELECT id FROM sp_date s WHERE sp_date_point(s.resource_type, s.code, s.lo, s.hi) <@ sp_date_area('Encounter', 'date', '2012-01-01', '2012-02-01')`,
          );
          assert.match(plan.rows.map((row) => row['QUERY PLAN']).join('\n'), /sp_date_span/);
        });
      }));

    it('leaves the index of a load that set the indexes aside to its rebuild, which builds the new one', () =>
      withOldStore(backend.open, async (db) => {
        const names = await deferSearchIndexes(db);
        assert.ok(names.includes('sp_date_span'), names.join(', '));
        await writeEncounters(db);
        assert.deepEqual(await migrate(db), ['046_date_span_points.sql']);
        assert.equal(await spanIndex(db), undefined, 'not built while the load runs');
        assert.deepEqual(await deferredSearchIndexes(db), names);
        assert.deepEqual(await answers(db), WINDOWS.map(([, ids]) => ids), 'searches answer meanwhile');
        await restoreSearchIndexes(db);
        assert.match((await spanIndex(db)) ?? '', POINT_INDEX);
        assert.deepEqual(await rangeFunctions(db), []);
        assert.deepEqual(await answers(db), WINDOWS.map(([, ids]) => ids));
      }));
  });
}
