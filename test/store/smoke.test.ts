import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import { writeResources, readResource } from '../../src/store/repository.js';

for (const backend of backends()) {
  describe(`store smoke (${backend.name})`, () => {
    it('writes and reads a patient', async () => {
      const db = await backend.open();
      try {
        await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id: 'p1', method: 'PUT', resource: { resourceType: 'Patient', id: 'p1', gender: 'female' } }]));
        const r = await readResource(db, 'Patient', 'p1');
        assert.equal(r.versionId, 1);
        assert.equal((r.resource as { gender?: string }).gender, 'female');
      } finally {
        await db.close();
      }
    });
  });
}
