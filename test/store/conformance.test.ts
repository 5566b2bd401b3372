/** The storage conformance suite: the same behaviour on PGlite and on PostgreSQL. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import type { Db } from '../../src/store/db.js';
import { readCurrent, readHistory, readResource, readVersion, writeResources } from '../../src/store/repository.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { searchIds } from '../../src/store/search-sql.js';
import { OperationOutcomeError } from '../../src/fhir/outcomes.js';

const patient = (id: string, extra: Record<string, unknown> = {}): Resource =>
  ({ resourceType: 'Patient', id, name: [{ family: 'Zeta', given: ['Ann'] }], gender: 'female', birthDate: '1970-05-01', ...extra }) as Resource;

for (const backend of backends()) {
  describe(`store conformance (${backend.name})`, () => {
    let db: Db;
    before(async () => {
      db = await backend.open();
    });
    after(async () => {
      await db.close();
    });

    it('versions every change and keeps the full history', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'v1', method: 'PUT', resource: patient('v1') }]));
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'v1', method: 'PUT', resource: patient('v1', { gender: 'male' }) }]));
      const cur = await readResource(db, 'Patient', 'v1');
      assert.equal(cur.versionId, 2);
      assert.equal(cur.resource.meta?.versionId, '2');
      assert.equal((await readVersion(db, 'Patient', 'v1', 1)).resource.meta?.versionId, '1');
      assert.equal(((await readVersion(db, 'Patient', 'v1', 1)).resource as { gender?: string }).gender, 'female');
      const h = await readHistory(db, { resourceType: 'Patient', id: 'v1', count: 10, offset: 0 });
      assert.deepEqual(h.entries.map((e) => e.versionId), [2, 1]);
    });

    it('does not create a version for a write that changes nothing, whatever the key order', async () => {
      const [a] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'same', method: 'PUT', resource: patient('same') }]));
      const reordered = { birthDate: '1970-05-01', gender: 'female', name: [{ given: ['Ann'], family: 'Zeta' }], id: 'same', resourceType: 'Patient' } as Resource;
      const [b] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'same', method: 'PUT', resource: reordered }]));
      assert.equal(a?.outcome, 'created');
      assert.equal(b?.outcome, 'unchanged');
      assert.equal(b?.versionId, 1);
      const h = await readHistory(db, { resourceType: 'Patient', id: 'same', count: 10, offset: 0 });
      assert.equal(h.total, 1);
    });

    it('soft-deletes: a delete is a new version, a read answers 410, and the history keeps every version', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'del', method: 'PUT', resource: patient('del') }]));
      const [d] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'del', method: 'DELETE' }]));
      assert.equal(d?.outcome, 'deleted');
      assert.equal(d?.versionId, 2);
      await assert.rejects(readResource(db, 'Patient', 'del'), (e: OperationOutcomeError) => e.status === 410);
      assert.equal((await readCurrent(db, 'Patient', 'del'))?.deleted, true);
      assert.equal((await readVersion(db, 'Patient', 'del', 1)).versionId, 1);
      // deleted resources leave searches
      const req = parseSearchRequest('Patient', { _id: 'del' });
      assert.deepEqual((await searchIds(db, req)).ids, []);
      // and can be re-created as a new version
      const [re] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'del', method: 'PUT', resource: patient('del') }]));
      assert.equal(re?.versionId, 3);
      assert.deepEqual((await searchIds(db, req)).ids, ['del']);
    });

    it('enforces If-Match with 412 and leaves the resource untouched', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'lock', method: 'PUT', resource: patient('lock') }]));
      await assert.rejects(
        db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'lock', method: 'PUT', resource: patient('lock', { gender: 'male' }), ifMatch: 7 }])),
        (e: OperationOutcomeError) => e.status === 412,
      );
      assert.equal((await readResource(db, 'Patient', 'lock')).versionId, 1);
      const [ok] = await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'lock', method: 'PUT', resource: patient('lock', { gender: 'male' }), ifMatch: 1 }]));
      assert.equal(ok?.versionId, 2);
    });

    it('rolls back every write of a transaction when one fails', async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await writeResources(tx, [{ resourceType: 'Patient', id: 'atom-1', method: 'PUT', resource: patient('atom-1') }]);
          await writeResources(tx, [{ resourceType: 'Patient', id: 'lock', method: 'PUT', resource: patient('lock', { gender: 'other' }), ifMatch: 1 }]);
        }),
      );
      assert.equal(await readCurrent(db, 'Patient', 'atom-1'), undefined);
      const idx = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sp_string WHERE id = 'atom-1'`);
      assert.equal(Number(idx.rows[0]?.n), 0);
    });

    it('indexes on write and re-indexes on update, so searches follow the current version', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'idx', method: 'PUT', resource: patient('idx', { name: [{ family: 'Oldname' }] }) }]));
      const find = async (q: Record<string, string>): Promise<string[]> => (await searchIds(db, parseSearchRequest('Patient', q))).ids;
      assert.deepEqual(await find({ family: 'oldn' }), ['idx']);
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'idx', method: 'PUT', resource: patient('idx', { name: [{ family: 'Newname' }] }) }]));
      assert.deepEqual(await find({ family: 'oldn' }), []);
      assert.deepEqual(await find({ family: 'newname' }), ['idx']);
    });

    it('keeps the patient compartment of each resource', async () => {
      await db.transaction((tx) => writeResources(tx, [
        { resourceType: 'Observation', id: 'o-comp', method: 'PUT', resource: { resourceType: 'Observation', id: 'o-comp', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/idx' } } as Resource },
      ]));
      const r = await db.query<{ compartments: string[] | string }>(`SELECT compartments FROM resource WHERE resource_type = 'Observation' AND id = 'o-comp'`);
      const comps = r.rows[0]?.compartments;
      assert.deepEqual(Array.isArray(comps) ? comps : String(comps).replace(/[{}]/g, '').split(','), ['idx']);
    });

    it('serialises concurrent writers on one resource: versions never collide', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'race', method: 'PUT', resource: patient('race') }]));
      await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'race', method: 'PUT', resource: patient('race', { birthDate: `19${50 + i}-01-01` }) }])),
        ),
      );
      const h = await readHistory(db, { resourceType: 'Patient', id: 'race', count: 50, offset: 0 });
      assert.deepEqual(h.entries.map((e) => e.versionId), [7, 6, 5, 4, 3, 2, 1]);
    });
  });
}
