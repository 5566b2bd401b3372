/** Long test (CUSTODIAN_LONG_TESTS=1): all 100 Synthea bundles from ../shared import without a failure. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { backends } from '../helpers/db.js';
import { ROOT } from '../helpers/fixtures.js';
import { importFiles } from '../../src/records/import-files.js';

const SHARED_BUNDLES = path.resolve(ROOT, '../shared/data/synthea/r4-bundles');

for (const backend of backends()) {
  describe(`the full Synthea sample (${backend.name})`, () => {
    it('imports all 100 bundles without a single failure', async () => {
      const db = await backend.open();
      try {
        const files = readdirSync(SHARED_BUNDLES).map((f) => path.join(SHARED_BUNDLES, f));
        assert.equal(files.length, 100);
        const s = await importFiles({ db, strict: false }, files);
        assert.deepEqual(s.failures, []);
        assert.equal(s.resources, 24352);
      } finally {
        await db.close();
      }
    });
  });
}
