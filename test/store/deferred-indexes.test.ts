/**
 * Search indexes set aside for a bulk load (store/deferred-indexes.ts), on both engines: what is
 * dropped and what stays, searches meanwhile, the rebuild giving back exactly the indexes there were,
 * and recovery by openStore after a load that never finished.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import type { Db } from '../../src/store/db.js';
import { DEFERRED_TABLES, deferredSearchIndexes, deferSearchIndexes, duringLoadIndex, restoreSearchIndexes, sharedResourceTypes } from '../../src/store/deferred-indexes.js';
import { openStore } from '../../src/store/open.js';
import { SEARCH_INDEX_TABLES, writeResources } from '../../src/store/repository.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { searchIds } from '../../src/store/search-sql.js';

/** Every index of the search, resource and history tables, name -> definition. */
async function searchIndexes(db: Db): Promise<Map<string, string>> {
  const r = await db.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ANY($1::text[])`,
    [DEFERRED_TABLES],
  );
  return new Map(r.rows.map((row) => [row.indexname, row.indexdef]));
}

const observation = (id: string, code: string, value: number, date: string): Resource =>
  ({
    resourceType: 'Observation', id, status: 'final', effectiveDateTime: date,
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: 'Patient/p1' }, valueQuantity: { value, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
  }) as Resource;

for (const backend of backends()) {
  describe(`deferred search indexes (${backend.name})`, () => {
    let db: Db;
    before(async () => {
      db = await backend.open();
    });
    after(async () => {
      await db.close();
    });

    it('sets every search index aside but the keys, finds the rows of the resources a load repeats meanwhile, and builds exactly the same indexes again', async () => {
      const before = await searchIndexes(db);
      assert.ok(before.size >= 23, `expected the migrations' indexes, got ${[...before.keys()].join(', ')}`);
      await db.transaction((tx) => writeResources(tx, [
        { resourceType: 'Organization', id: 'org1', method: 'PUT', resource: { resourceType: 'Organization', id: 'org1', name: 'General Hospital' } as Resource },
      ]));
      const names = await deferSearchIndexes(db);
      const during = await searchIndexes(db);
      // the primary keys stay, and each search table has its load-time index of the shared types' rows
      const kept = ['resource_pkey', 'resource_history_pkey'];
      const loadTime = SEARCH_INDEX_TABLES.map(duringLoadIndex);
      assert.deepEqual([...during.keys()].sort(), [...kept, ...loadTime].sort());
      assert.deepEqual(names, [...before.keys()].filter((n) => !kept.includes(n)).sort());
      assert.ok(names.includes('resource_compartments') && names.includes('sp_token_value') && names.includes('sp_token_res') && names.includes('sp_date_span'), names.join(', '));
      assert.deepEqual(await deferredSearchIndexes(db), names);
      // deferring again changes nothing
      assert.deepEqual(await deferSearchIndexes(db), names);
      assert.deepEqual([...(await searchIndexes(db)).keys()].sort(), [...during.keys()].sort());
      const shared = sharedResourceTypes();
      assert.ok(shared.includes('Organization') && shared.includes('Practitioner') && shared.includes('Patient') && !shared.includes('Observation'), shared.join(', '));
      assert.ok(shared.length <= 100, `${shared.length} shared types: PostgreSQL proves a partial index's IN list of at most 100`);

      // the delete of a repeated Organization's old rows can use its table's load-time index; a
      // patient's Observation's cannot (it scans)
      const plan = async (type: string): Promise<string> => db.transaction(async (tx) => {
        await tx.exec('SET LOCAL enable_seqscan = off');
        const r = await tx.query<Record<string, string>>(`EXPLAIN DELETE FROM sp_string s WHERE s.resource_type = $1 AND s.id = ANY($2::text[])`, [type, ['x']]);
        return r.rows.map((row) => Object.values(row)[0]).join('\n');
      });
      assert.match(await plan('Organization'), /sp_string_shared_during_load/);
      assert.doesNotMatch(await plan('Observation'), /sp_string_shared_during_load/);

      // writes (new resources, then updates replacing index rows) and searches go on meanwhile
      await db.transaction((tx) => writeResources(tx, [
        { resourceType: 'Observation', id: 'o1', method: 'PUT', resource: observation('o1', '2345-7', 5.4, '2021-03-04') },
        { resourceType: 'Observation', id: 'o2', method: 'PUT', resource: observation('o2', '4548-4', 7.1, '2022-01-01') },
      ]));
      await db.transaction((tx) => writeResources(tx, [
        { resourceType: 'Observation', id: 'o1', method: 'PUT', resource: observation('o1', '2345-7', 9.9, '2021-03-04') },
        { resourceType: 'Organization', id: 'org1', method: 'PUT', resource: { resourceType: 'Organization', id: 'org1', name: 'Riverside Clinic' } as Resource },
      ]));
      const queries: [string, Record<string, string>][] = [
        ['Observation', { code: 'http://loinc.org|2345-7' }],
        ['Observation', { 'value-quantity': 'gt9' }],
        ['Observation', { 'value-quantity': 'lt6' }],
        ['Observation', { date: 'ge2022' }],
        ['Observation', { subject: 'Patient/p1', _sort: '-date' }],
        ['Organization', { name: 'general' }],
        ['Organization', { name: 'riverside' }],
      ];
      const answers = async (): Promise<string[][]> => {
        const out: string[][] = [];
        for (const [type, q] of queries) out.push((await searchIds(db, parseSearchRequest(type, q))).ids);
        return out;
      };
      const meanwhile = await answers();
      assert.deepEqual(meanwhile, [['o1'], ['o1'], [], ['o2'], ['o2', 'o1'], [], ['org1']]);

      assert.deepEqual(await restoreSearchIndexes(db), names);
      assert.deepEqual(await searchIndexes(db), before);
      assert.deepEqual(await deferredSearchIndexes(db), []);
      assert.equal((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM search_index_deferred')).rows[0]?.n, 0, 'the load-time indexes are gone too');
      assert.deepEqual(await answers(), meanwhile);
      assert.deepEqual(await restoreSearchIndexes(db), [], 'nothing left to build');
    });
  });
}

describe('deferred search indexes: a load that never finished', () => {
  it('leaves its indexes to the next openStore, which builds them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custodian-deferred-'));
    const first = await openStore({ dataDir: dir });
    const before = await searchIndexes(first);
    const names = await deferSearchIndexes(first);
    assert.ok(names.length > 0);
    await first.close(); // as if the import had been killed here
    const again = await openStore({ dataDir: dir });
    try {
      assert.deepEqual(await deferredSearchIndexes(again), []);
      assert.deepEqual(await searchIndexes(again), before);
    } finally {
      await again.close();
    }
  });
});
