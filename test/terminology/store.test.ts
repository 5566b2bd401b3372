import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { registerTerminologyRoutes } from '../../src/server/terminology-routes.js';
import { listStoredReleases, loadStoredReleases, saveRelease } from '../../src/store/terminology-store.js';
import { readReleases } from '../../src/store/terminology-files.js';
import { CARC } from '../../src/terminology/systems.js';
import { backends } from '../helpers/db.js';

for (const backend of backends()) {
  test(`${backend.name}: imported releases persist with their dates and are served`, async () => {
    const db = await backend.open();
    try {
      const r = readReleases(path.join(import.meta.dirname, 'fixtures/carc-excerpt.csv'), { version: '2026-01', effectiveFrom: '2026-01-01', effectiveTo: '2026-06-30' }).files[0]!.release;
      assert.equal(r.system, CARC);
      await saveRelease(db, r);
      await saveRelease(db, r); // re-import replaces
      const list = await listStoredReleases(db);
      assert.equal(list.length, 1);
      assert.deepEqual({ ...list[0], importedAt: undefined }, { system: CARC, kind: 'codes', version: '2026-01', effectiveFrom: '2026-01-01', effectiveTo: '2026-06-30', source: 'carc-excerpt.csv', count: 3, billable: 3, importedAt: undefined });
      const loaded = await loadStoredReleases(db);
      assert.equal(loaded[0]!.concepts![2]!.display, 'Co-pay Amount');

      const app = Fastify();
      await registerTerminologyRoutes(app, { db });
      const res = (await app.inject({ url: '/api/terminology/lookup?system=carc&code=3&date=2026-03-01' })).json();
      assert.equal(res.found, true);
      assert.equal(res.release.version, '2026-01');
      // the shipped releases are still there
      assert.equal((await app.inject({ url: '/api/terminology/lookup?system=icd-10-cm&code=E11.9&date=2022-01-01' })).json().billable, true);
      await app.close();
    } finally {
      await db.close();
    }
  });
}
