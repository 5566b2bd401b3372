/**
 * Migrations 046, 047 and 048: the date-span index became an index of points (start, end), then GiST
 * ranges again (the planner cannot estimate a point-in-box condition), then SP-GiST ranges (built in
 * a third of the time, with the span computed inline). A store an older version left, with
 * resources in it, is upgraded in place, whether it holds GiST ranges (045, 047) or points (046); one
 * whose indexes a load had set aside gets the SP-GiST index when the load builds them again. Either
 * way date windows find the same encounters, through the range index, and the point functions are
 * gone. On both engines.
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

async function spanFunctions(db: Db): Promise<string[]> {
  const r = await db.query<{ proname: string }>(
    `SELECT proname FROM pg_proc WHERE pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND proname LIKE 'sp\\_date\\_%' ORDER BY proname`,
  );
  return r.rows.map((row) => row.proname);
}

/** A store as an older migration left it, for one test. */
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

const GIST_RANGES = /USING gist \(sp_date_span\(resource_type, code, lo, hi\)\) INCLUDE \(resource_type, code, id, lo, hi\)/;
const RANGE_INDEX = /USING spgist \(sp_date_span\(resource_type, code, lo, hi\)\) INCLUDE \(resource_type, code, id, lo, hi\)/;
const RANGE_FUNCTIONS = ['sp_date_band', 'sp_date_offset', 'sp_date_span', 'sp_date_window'];

/** The store each starting version leaves: its span index and the migrations an upgrade applies. */
const FROM = [
  { version: 45, index: GIST_RANGES, pending: ['046_date_span_points.sql', '047_date_span_ranges.sql', '048_date_span_spgist.sql', '049_mpi_street_keys.sql'] },
  { version: 46, index: /USING gist \(sp_date_point\(resource_type, code, lo, hi\)\)/, pending: ['047_date_span_ranges.sql', '048_date_span_spgist.sql', '049_mpi_street_keys.sql'] },
  { version: 47, index: GIST_RANGES, pending: ['048_date_span_spgist.sql', '049_mpi_street_keys.sql'] },
];

for (const from of FROM) {
  for (const backend of backendsUpTo(from.version)) {
    describe(`migration 048 from a store at ${from.version}, date spans as SP-GiST ranges (${backend.name})`, () => {
      it('upgrades a store holding encounters: the same windows find the same encounters, through the range index', () =>
        withOldStore(backend.open, async (db) => {
          await writeEncounters(db);
          assert.match((await spanIndex(db)) ?? '', from.index, 'the store starts with its version\'s index');
          assert.deepEqual(await migrate(db), from.pending);
          assert.match((await spanIndex(db)) ?? '', RANGE_INDEX);
          assert.deepEqual(await spanFunctions(db), RANGE_FUNCTIONS);
          assert.deepEqual(await answers(db), WINDOWS.map(([, ids]) => ids));
          // the window is answered by the index: with sequential scans priced out, the plan names it
          await db.transaction(async (tx) => {
            await tx.exec('SET LOCAL enable_seqscan = off');
            const plan = await tx.query<{ 'QUERY PLAN': string }>(
              `EXPLAIN SELECT id FROM sp_date s WHERE sp_date_span(s.resource_type, s.code, s.lo, s.hi) && sp_date_window('Encounter', 'date', '2012-01-01', '2012-02-01')`,
            );
            assert.match(plan.rows.map((row) => row['QUERY PLAN']).join('\n'), /sp_date_span/);
          });
        }));

      it('leaves the index of a load that set the indexes aside to its rebuild, which builds the range index', () =>
        withOldStore(backend.open, async (db) => {
          const names = await deferSearchIndexes(db);
          assert.ok(names.includes('sp_date_span'), names.join(', '));
          await writeEncounters(db);
          assert.deepEqual(await migrate(db), from.pending);
          assert.equal(await spanIndex(db), undefined, 'not built while the load runs');
          assert.deepEqual(await deferredSearchIndexes(db), names);
          assert.deepEqual(await answers(db), WINDOWS.map(([, ids]) => ids), 'searches answer meanwhile');
          await restoreSearchIndexes(db);
          assert.match((await spanIndex(db)) ?? '', RANGE_INDEX);
          assert.deepEqual(await spanFunctions(db), RANGE_FUNCTIONS);
          assert.deepEqual(await answers(db), WINDOWS.map(([, ids]) => ids));
        }));
    });
  }
}

// Migration 048 gave sp_date_offset an IMMUTABLE body. An index built with the old body stays valid
// only if both give the same number for every instant: checked here against the old expression, in a
// session whose time zone is not UTC, over microseconds either side of the epoch and of a second,
// the clamp's ends and the infinities a period's open end is stored as.
const OLD_OFFSET = (t: string, upper: string) =>
  `(least(greatest(CASE WHEN ${upper} THEN ceil(extract(epoch FROM ${t})) ELSE floor(extract(epoch FROM ${t})) END, -8589934592), 8589934591)::int8 + 8589934592)`;
const INSTANTS = [
  'infinity', '-infinity', '1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000001Z', '1969-12-31T23:59:59.999999Z',
  '2012-01-31T23:59:59.5+05:30', '1899-12-31T23:59:59.999999-03:00', '1697-03-04T10:00:00Z', '2242-03-16T12:56:31Z',
  '2242-03-16T12:56:32.000001Z', '2500-01-01T00:00:00Z', '4713-01-01T00:00:00Z BC', '2024-02-29T12:00:00.25Z',
];
for (const backend of backendsUpTo(48)) {
  describe(`sp_date_offset after migration 048 (${backend.name})`, () => {
    it('gives every instant the number the old body gave, and is inlined into the index key', () =>
      withOldStore(backend.open, async (db) => {
        await db.transaction(async (tx) => {
          await tx.exec(`SET LOCAL TimeZone = 'America/St_Johns'`);
          const r = await tx.query<{ t: string; upper: boolean; now: string; old: string }>(
            `SELECT t::text, upper, sp_date_offset(t, upper)::text AS now, ${OLD_OFFSET('t', 'upper')}::text AS old
               FROM unnest($1::timestamptz[]) t, (VALUES (true), (false)) u(upper)`,
            [INSTANTS],
          );
          assert.equal(r.rows.length, INSTANTS.length * 2);
          for (const row of r.rows) assert.equal(row.now, row.old, `${row.t} ${row.upper ? 'upper' : 'lower'}`);
          const plan = await tx.query<{ 'QUERY PLAN': string }>(
            `EXPLAIN VERBOSE SELECT sp_date_span(resource_type, code, lo, hi) FROM sp_date`,
          );
          const text = plan.rows.map((row) => row['QUERY PLAN']).join('\n');
          assert.doesNotMatch(text, /sp_date_offset|sp_date_span/, text);
        });
      }));
  });
}
