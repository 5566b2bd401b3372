/**
 * The import on a thread of its own (what `custodian import` runs): what it stores is what its summary
 * says, progress comes for each file in order, and the error that stops it arrives as the caller
 * would have seen it on its own thread.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { demoBundleFiles } from '../helpers/fixtures.js';
import { importOnThread, rebuildError, threadError } from '../../src/records/import-thread.js';
import { openStore } from '../../src/store/open.js';
import { countResources } from '../../src/store/repository.js';
import { OperationOutcomeError } from '../../src/fhir/outcomes.js';

describe('import on its own thread', () => {
  it('imports into the store it opens, reports each file as it commits, and answers the summary', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custodian-thread-'));
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"resourceType": "Bundle", ');
    const files = [...demoBundleFiles().slice(0, 3), bad];
    const progress: { done: number; total: number; file: string; failed: boolean }[] = [];
    const summary = await importOnThread(
      { store: { dataDir: path.join(dir, 'db') }, paths: files, strict: false, codeLookup: true },
      (done, total, file, failed) => progress.push({ done, total, file, failed }),
    );
    assert.deepEqual(progress.map((p) => [p.done, p.total, p.file, p.failed]), files.map((f, i) => [i + 1, files.length, f, f === bad]));
    assert.equal(summary.files, 4);
    assert.equal(summary.filesFailed, 1);
    assert.match(summary.failures[0]?.reason ?? '', /Malformed JSON/);
    assert.ok(summary.created > 0);
    const db = await openStore({ dataDir: path.join(dir, 'db') });
    try {
      const counts = await countResources(db);
      assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), summary.created, 'what the summary says was created is in the store');
      assert.equal(counts.Patient, 3);
    } finally {
      await db.close();
    }
  });

  it('rejects with the error that stopped it: a database it cannot reach keeps its code', async () => {
    await assert.rejects(
      importOnThread({ store: { databaseUrl: 'postgres://nobody@127.0.0.1:1/none' }, paths: demoBundleFiles().slice(0, 1), strict: false, codeLookup: false }),
      (err: Error & { code?: string }) => err.code === 'ECONNREFUSED' && /ECONNREFUSED/.test(err.message),
    );
  });

  it('rejects with the error that stopped it: a missing path keeps its code', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custodian-thread-'));
    await assert.rejects(
      importOnThread({ store: { dataDir: path.join(dir, 'db') }, paths: [path.join(dir, 'missing.json')], strict: false, codeLookup: false }),
      (err: Error & { code?: string }) => err.code === 'ENOENT' && /missing\.json/.test(err.message),
    );
  });

  it('an OperationOutcome error crosses the thread as one, with its status', () => {
    const outcome = { resourceType: 'OperationOutcome' as const, issue: [{ severity: 'error' as const, code: 'invalid' as const, diagnostics: 'bad thing', expression: ['Bundle.entry[0]'] }] };
    const back = rebuildError(structuredClone(threadError(new OperationOutcomeError(outcome, 422))));
    assert.ok(back instanceof OperationOutcomeError);
    assert.equal(back.status, 422);
    assert.deepEqual(back.outcome, outcome);
    const plain = rebuildError(structuredClone(threadError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))));
    assert.ok(!(plain instanceof OperationOutcomeError));
    assert.equal((plain as Error & { code?: string }).code, 'ECONNREFUSED');
  });
});
