/** Import of real Synthea bundles and NDJSON, through the library and through the CLI. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backends } from '../helpers/db.js';
import { demoBundleFiles, readJsonFile, ROOT } from '../helpers/fixtures.js';
import type { Db } from '../../src/store/db.js';
import { importFiles } from '../../src/records/import-files.js';
import { countResources } from '../../src/store/repository.js';

for (const backend of backends()) {
  describe(`import (${backend.name})`, () => {
    let db: Db;
    before(async () => {
      db = await backend.open();
    });
    after(async () => db.close());

    it('imports the Synthea demo bundles without a single failure, and a re-import changes nothing', async () => {
      const files = demoBundleFiles().slice(0, backend.name === 'pglite' ? 8 : 12);
      const expected: Record<string, number> = {};
      const ids = new Set<string>();
      for (const f of files) {
        for (const e of readJsonFile<{ entry: { resource: { resourceType: string; id: string } }[] }>(f).entry) {
          const k = `${e.resource.resourceType}/${e.resource.id}`;
          if (ids.has(k)) continue;
          ids.add(k);
          expected[e.resource.resourceType] = (expected[e.resource.resourceType] ?? 0) + 1;
        }
      }
      const first = await importFiles({ db, strict: false }, files);
      assert.deepEqual(first.failures, []);
      assert.equal(first.filesFailed, 0);
      assert.deepEqual(await countResources(db), Object.fromEntries(Object.entries(expected).sort()));
      const history = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resource_history');
      const again = await importFiles({ db, strict: false }, files);
      assert.deepEqual(again.failures, []);
      assert.equal(again.created + again.updated, 0);
      const history2 = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resource_history');
      assert.equal(Number(history2.rows[0]?.n), Number(history.rows[0]?.n), 're-import adds no versions');
      // references were rewritten from urn:uuid to Type/id and resolve
      const dangling = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sp_reference s WHERE s.url LIKE 'urn:uuid:%'`);
      assert.equal(Number(dangling.rows[0]?.n), 0);
      const unresolved = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM sp_reference s LEFT JOIN resource r ON r.resource_type = s.target_type AND r.id = s.target_id
          WHERE s.target_id IS NOT NULL AND r.id IS NULL`,
      );
      assert.equal(Number(unresolved.rows[0]?.n), 0, 'every reference points at an imported resource');
    });

    it('reports a bad file with its reason, leaves nothing of it behind, and goes on with the rest', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'custodian-import-'));
      writeFileSync(path.join(dir, 'a-good.ndjson'), [
        JSON.stringify({ resourceType: 'Patient', id: 'nd-1', gender: 'female' }),
        JSON.stringify({ resourceType: 'Patient', id: 'nd-2', gender: 'male' }),
      ].join('\n'));
      writeFileSync(path.join(dir, 'b-broken.json'), '{"resourceType": "Bundle", ');
      writeFileSync(path.join(dir, 'c-invalid.ndjson'), [
        JSON.stringify({ resourceType: 'Patient', id: 'nd-3' }),
        JSON.stringify({ resourceType: 'Patient', id: 'nd-4', gender: 'robot' }),
      ].join('\n'));
      writeFileSync(path.join(dir, 'd-good.json'), JSON.stringify({ resourceType: 'Patient', id: 'nd-5' }));
      const s = await importFiles({ db, strict: false }, [dir]);
      assert.equal(s.files, 4);
      assert.equal(s.filesFailed, 2);
      assert.deepEqual(s.failures.map((f) => path.basename(f.file)).sort(), ['b-broken.json', 'c-invalid.ndjson']);
      assert.match(s.failures.find((f) => f.file.endsWith('b-broken.json'))?.reason ?? '', /Malformed JSON/);
      assert.match(s.failures.find((f) => f.file.endsWith('c-invalid.ndjson'))?.reason ?? '', /robot/);
      const present = await db.query<{ id: string }>(`SELECT id FROM resource WHERE id LIKE 'nd-%' ORDER BY id`);
      assert.deepEqual(present.rows.map((r) => r.id), ['nd-1', 'nd-2', 'nd-5'], 'nd-3 shares a file with the invalid nd-4 and is rolled back');
    });
  });
}

describe('custodian import and export (CLI)', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [path.join(ROOT, 'bin/custodian.js'), ...args], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '', ...env }, cwd: ROOT });

  it('prints a JSON summary, exits non-zero when a file failed, and exports NDJSON per type', () => {
    const data = mkdtempSync(path.join(tmpdir(), 'custodian-cli-'));
    const bad = path.join(data, 'bad.json');
    writeFileSync(bad, 'not json');
    const files = demoBundleFiles().slice(0, 2);
    const r = cli(['import', '--data', path.join(data, 'db'), '--json', ...files, bad]);
    assert.equal(r.status, 1, r.stderr);
    const summary = JSON.parse(r.stdout) as { files: number; filesFailed: number; byType: Record<string, number>; failures: { file: string; reason: string }[] };
    assert.equal(summary.files, 3);
    assert.equal(summary.filesFailed, 1);
    assert.equal(summary.failures[0]?.file, bad);
    assert.ok((summary.byType.Patient ?? 0) >= 2);

    const out = path.join(data, 'export');
    const e = cli(['export', '--data', path.join(data, 'db'), '--out', out, '--type', 'Patient,Encounter']);
    assert.equal(e.status, 0, e.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['Encounter.ndjson', 'Patient.ndjson']);
    const patients = readFileSync(path.join(out, 'Patient.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { resourceType: string });
    assert.equal(patients.length, 2);
    assert.ok(patients.every((p) => p.resourceType === 'Patient'));

    const unknown = cli(['export', '--data', path.join(data, 'db'), '--out', out, '--type', 'Nope']);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /Unknown resource type "Nope"/);
    const missing = cli(['import', '--data', path.join(data, 'db'), path.join(data, 'missing.json')]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /missing\.json/);
  });
});
