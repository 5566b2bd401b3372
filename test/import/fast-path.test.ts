/**
 * The import's fast path (files prepared in worker threads, committed by writePrepared) stores exactly
 * what the API's transaction path stores: the same resource, history and index rows, the same
 * summary and the same failures, for good files, broken ones, updates, deletes and conditional
 * entries (which the fast path hands to processTransaction).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { backends } from '../helpers/db.js';
import { DEMO_BUNDLES, demoBundleFiles } from '../helpers/fixtures.js';
import type { Db } from '../../src/store/db.js';
import { importFiles, type ImportSummary } from '../../src/records/import-files.js';
import { allResourceTypes } from '../../src/fhir/definitions.js';
import { searchParamsFor } from '../../src/fhir/search-parameters.js';
import type { LookupFn } from '../../src/terminology/warnings.js';

const TABLES: Record<string, string> = {
  resource: `resource_type, id, version_id, deleted, content_hash, compartments, content #- '{meta,lastUpdated}' AS content`,
  resource_history: `resource_type, id, version_id, deleted, method, content #- '{meta,lastUpdated}' AS content`,
  sp_token: 'resource_type, id, code, system, value, text, patient',
  sp_string: 'resource_type, id, code, value, norm',
  sp_date: 'resource_type, id, code, lo, hi',
  sp_reference: 'resource_type, id, code, target_type, target_id, url',
  sp_number: 'resource_type, id, code, value',
  sp_quantity: 'resource_type, id, code, value, system, unit',
  sp_uri: 'resource_type, id, code, value',
};

async function dump(db: Db): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [table, cols] of Object.entries(TABLES)) {
    const r = await db.query<Record<string, unknown>>(`SELECT ${cols} FROM ${table}`);
    out[table] = r.rows.map((row) => JSON.stringify(row)).sort();
  }
  return out;
}

/**
 * Asserts two stores hold the same rows in every table. The one POST without an id gets a fresh uuid
 * on each side (and so its own content hash): it is compared under a placeholder.
 */
async function assertSameRows(x: Db, y: Db): Promise<Record<string, string[]>> {
  const fresh = async (d: Db): Promise<string> => (await d.query<{ id: string }>(`SELECT id FROM resource WHERE content->>'gender' = 'other'`)).rows[0]?.id ?? 'none';
  const norm = (rows: string[], id: string): string[] =>
    rows.map((r) => (r.includes(id) ? r.split(id).join('<new>').replace(/"content_hash":"[^"]+"/, '"content_hash":"<h>"') : r)).sort();
  const [a, b] = [await dump(x), await dump(y)];
  const [ida, idb] = [await fresh(x), await fresh(y)];
  for (const table of Object.keys(TABLES)) assert.deepEqual(norm(a[table] as string[], ida), norm(b[table] as string[], idb), table);
  return a;
}

/** Files covering every path: Synthea bundles, NDJSON, a resource, updates, deletes, broken and invalid files, a conditional bundle, a batch. */
function fixtureFiles(): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'custodian-fast-'));
  const synthea = demoBundleFiles().slice(0, 3);
  const first = JSON.parse(gunzipSync(readFileSync(synthea[0] as string)).toString('utf8')) as { entry: { resource: { resourceType: string; id: string; gender?: string } }[] };
  const patient = first.entry.find((e) => e.resource.resourceType === 'Patient')?.resource as { resourceType: string; id: string };
  const write = (name: string, body: unknown): string => {
    const f = path.join(dir, name);
    writeFileSync(f, typeof body === 'string' ? body : JSON.stringify(body));
    return f;
  };
  return [
    ...synthea,
    path.join(DEMO_BUNDLES, '../defects/chart-deficiencies.json.gz'),
    path.join(DEMO_BUNDLES, '../duplicates/registered-twice.json.gz'),
    write('e-ndjson.ndjson', [
      JSON.stringify({ resourceType: 'Patient', id: 'fp-1', gender: 'female', birthDate: '1970-01-01' }),
      JSON.stringify({ resourceType: 'Observation', id: 'fp-obs', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/fp-1' }, valueQuantity: { value: 3, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } }),
      JSON.stringify({ resourceType: 'Encounter', id: 'fp-enc', status: 'finished', class: { code: 'AMB' }, period: { start: '2020-01-02', end: '2020-01-01' } }),
      JSON.stringify({ resourceType: 'Condition', id: 'fp-cond-icd', subject: { reference: 'Patient/fp-1' }, recordedDate: '2021-03-01', code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E11' }, { system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'ZZZ9' }] } }),
    ].join('\n')),
    // the same patient again, changed: a new version of a resource written by an earlier file
    write('f-update.json', { ...patient, gender: patient && (patient as { gender?: string }).gender === 'male' ? 'female' : 'male' }),
    write('g-broken.json', '{"resourceType": "Bundle", '),
    write('h-invalid.ndjson', [JSON.stringify({ resourceType: 'Patient', id: 'fp-2' }), JSON.stringify({ resourceType: 'Patient', id: 'fp-3', gender: 'robot' })].join('\n')),
    write('i-delete.json', { resourceType: 'Bundle', type: 'transaction', entry: [
      { request: { method: 'DELETE', url: 'Observation/fp-obs' } },
      { request: { method: 'DELETE', url: 'Observation/never-was' } },
      { fullUrl: 'urn:uuid:0b8a1c52-4a52-4c3e-9d55-1f4f8c1b0a01', resource: { resourceType: 'Patient', gender: 'other' }, request: { method: 'POST', url: 'Patient' } },
    ] }),
    write('j-conditional.json', { resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'Observation', id: 'fp-cond', status: 'final', code: { text: 'y' }, subject: { reference: 'Patient?birthdate=1970-01-01' } }, request: { method: 'PUT', url: 'Observation/fp-cond' } },
    ] }),
    write('k-batch.json', { resourceType: 'Bundle', type: 'batch', entry: [
      { resource: { resourceType: 'Patient', id: 'fp-4' }, request: { method: 'PUT', url: 'Patient/fp-4' } },
      { resource: { resourceType: 'Patient', id: 'fp-5', gender: 'robot' }, request: { method: 'PUT', url: 'Patient/fp-5' } },
    ] }),
    write('l-if-match.json', { resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'Patient', id: 'fp-1', gender: 'male' }, request: { method: 'PUT', url: 'Patient/fp-1', ifMatch: 'W/"7"' } },
    ] }),
    // COPY's special characters (backslash, tab, line breaks) in the JSON before meta, in meta and after it
    write('m-resource.json', {
      resourceType: 'Practitioner', id: 'fp-pr', meta: { tag: [{ system: 'urn:x', code: 'a\\b', display: 'tab\there' }] },
      address: [{ line: ['1\\2 Main\tSt', 'line\r\nbreak'] }], name: [{ family: 'Núñez', given: ['José'] }],
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">C:\\dir\n\tindented</div>' },
    }),
    // one resource written twice in a file (two versions, two history rows with different JSON), one
    // written and deleted, and two resources with the same content but for their ids
    write('n-twice.json', { resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'Patient', id: 'fp-6', gender: 'female' }, request: { method: 'PUT', url: 'Patient/fp-6' } },
      { resource: { resourceType: 'Patient', id: 'fp-6', gender: 'male', birthDate: '1980-02-03' }, request: { method: 'PUT', url: 'Patient/fp-6' } },
      { resource: { resourceType: 'Patient', id: 'fp-7', gender: 'female' }, request: { method: 'PUT', url: 'Patient/fp-7' } },
      { resource: { resourceType: 'Patient', id: 'fp-8', gender: 'female' }, request: { method: 'PUT', url: 'Patient/fp-8' } },
      { request: { method: 'DELETE', url: 'Patient/fp-8' } },
    ] }),
  ];
}

/** A code lookup that knows E11 (not billable) and nothing else, for the on-write code warnings. */
const codeLookup: LookupFn = (system, code) => ({
  system, systemName: 'ICD-10-CM', code, found: code === 'E11', billable: false, header: true, parents: [],
  release: { version: 'test', effectiveFrom: '2020-10-01' },
});

const strip = (s: ImportSummary): ImportSummary => ({ ...s, failures: s.failures.map((f) => ({ ...f, reason: f.reason.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>') })) });

describe('import fast path', () => {
  it('no indexed search parameter reads meta.versionId or meta.lastUpdated (index rows are built before the version is known)', () => {
    for (const t of allResourceTypes()) {
      for (const sp of searchParamsFor(t).values()) assert.doesNotMatch(sp.expression, /versionId|lastUpdated/, `${t}.${sp.code}`);
    }
  });

  for (const backend of backends()) {
    describe(backend.name, () => {
      let fast: Db;
      let slow: Db;
      before(async () => {
        fast = await backend.open();
        slow = await backend.open();
      });
      after(async () => {
        await fast.close();
        await slow.close();
      });

      it('stores the same rows and reports the same summary as the transaction path, with and without workers', async () => {
        const files = fixtureFiles();
        // an audited import takes the API's transaction path for every file
        const reference = await importFiles({ db: slow, strict: false, codeLookup, audit: async () => undefined }, files);
        const viaWorkers = await importFiles({ db: fast, strict: false, codeLookup }, files, undefined, { workers: 2 });
        assert.deepEqual(strip(viaWorkers), strip(reference));
        assert.equal(reference.filesFailed, 4, JSON.stringify(reference.failures));
        assert.ok(reference.created > 500 && reference.updated >= 1 && reference.warnings > 0, JSON.stringify({ ...reference, failures: undefined }));
        const a = await assertSameRows(fast, slow);
        // the resource written twice in one file has both versions in its history, each with its own JSON
        const twice = await fast.query<{ version_id: number; gender: string }>(`SELECT version_id, content->>'gender' AS gender FROM resource_version WHERE resource_type = 'Patient' AND id = 'fp-6' ORDER BY version_id`);
        assert.deepEqual(twice.rows.map((r) => [Number(r.version_id), r.gender]), [[1, 'female'], [2, 'male']]);
        // the special characters came through COPY as they were
        const pr = await fast.query<{ line: string; code: string; div: string }>(`SELECT content->'address'->0->>'line' AS line, content->'meta'->'tag'->0->>'code' AS code, content->'text'->>'div' AS div FROM resource WHERE resource_type = 'Practitioner' AND id = 'fp-pr'`);
        assert.deepEqual(pr.rows[0], { line: JSON.stringify(['1\\2 Main\tSt', 'line\r\nbreak']).replace(/,/g, ', '), code: 'a\\b', div: '<div xmlns="http://www.w3.org/1999/xhtml">C:\\dir\n\tindented</div>' });
        // a re-import (prepared on this thread) of files the update did not touch changes nothing
        const again = await importFiles({ db: fast, strict: false }, files.slice(1, 3), undefined, { workers: 0 });
        assert.equal(again.created + again.updated, 0);
        assert.deepEqual(await dump(fast), a);
        // the code lookup's warnings (E11 not billable, ZZZ9 unknown) are counted on the fast path too
        const ndjson = files.filter((f) => f.endsWith('e-ndjson.ndjson'));
        const withCodes = await importFiles({ db: fast, strict: false, codeLookup }, ndjson, undefined, { workers: 0 });
        const without = await importFiles({ db: fast, strict: false }, ndjson, undefined, { workers: 0 });
        assert.equal(withCodes.warnings - without.warnings, 2);
      });

      it('with the search indexes set aside, stores the same rows, and builds them before the first file that searches', async () => {
        const files = fixtureFiles();
        const [deferred, kept] = [await backend.open(), await backend.open()];
        try {
          const indexes = async (db: Db): Promise<string[]> =>
            (await db.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND (tablename LIKE 'sp\\_%' OR tablename IN ('resource', 'resource_history')) ORDER BY 1`)).rows.map((r) => r.indexname);
          const all = await indexes(kept);
          const a = await importFiles({ db: deferred, strict: false }, files, undefined, { workers: 0, deferIndexes: true });
          const b = await importFiles({ db: kept, strict: false }, files, undefined, { workers: 0, deferIndexes: false });
          // the conditional file (j-...) is the first that searches the store: the indexes come back before it
          const conditional = files.findIndex((f) => f.endsWith('j-conditional.json'));
          assert.deepEqual(a.deferredIndexes && { indexes: a.deferredIndexes.indexes, rebuiltAfterFile: a.deferredIndexes.rebuiltAfterFile }, { indexes: all.filter((n) => !n.endsWith('_pkey')).length, rebuiltAfterFile: conditional });
          assert.equal(b.deferredIndexes, undefined);
          const { deferredIndexes: _, ...rest } = a;
          assert.deepEqual(strip(rest), strip(b));
          assert.deepEqual(await indexes(deferred), all);
          await assertSameRows(deferred, kept);
        } finally {
          await deferred.close();
          await kept.close();
        }
      });

      it('with the search indexes set aside, builds them after the first file that replaces a patient\'s record, not one that repeats an Organization', async () => {
        const dir = mkdtempSync(path.join(tmpdir(), 'custodian-replaces-'));
        const ndjson = (name: string, ...resources: object[]): string => {
          const f = path.join(dir, name);
          writeFileSync(f, resources.map((r) => JSON.stringify(r)).join('\n'));
          return f;
        };
        const org = (name: string): object => ({ resourceType: 'Organization', id: 'rp-org', name });
        const obs = (value: number): object => ({
          resourceType: 'Observation', id: 'rp-obs', status: 'final', code: { text: 'weight' }, subject: { reference: 'Patient/rp-pat' },
          valueQuantity: { value, unit: 'kg', system: 'http://unitsofmeasure.org', code: 'kg' },
        });
        const pat = { resourceType: 'Patient', id: 'rp-pat', gender: 'female', managingOrganization: { reference: 'Organization/rp-org' } };
        const files = [
          ndjson('a.ndjson', org('General Hospital'), pat, obs(70)),
          ndjson('b.ndjson', org('General Hospital West')), // an Organization repeated with a change: the load goes on without the indexes
          ndjson('c.ndjson', obs(71)), // a patient's Observation replaced: the indexes come back before the next file
          ...[2, 3, 4].map((n) => ndjson(`d${n}.ndjson`, { resourceType: 'Observation', id: `rp-obs-${n}`, status: 'final', code: { text: 'height' }, subject: { reference: 'Patient/rp-pat' } })),
        ];
        const db = await backend.open();
        try {
          const summary = await importFiles({ db, strict: false }, files, undefined, { workers: 0, deferIndexes: true });
          assert.equal(summary.filesFailed, 0, JSON.stringify(summary.failures));
          assert.deepEqual([summary.created, summary.updated], [6, 2]);
          // before the file after c (PGlite commits one file at a time), or the one after that (on
          // PostgreSQL the next file may be committing beside c); not after b
          const after = summary.deferredIndexes?.rebuiltAfterFile ?? -1;
          assert.ok(backend.name === 'pglite' ? after === 3 : after === 3 || after === 4, `rebuilt before file ${after}`);
          // the replaced versions left no index rows behind
          const rows = await db.query<{ code: string; value: string }>(
            `SELECT s.code, s.value FROM sp_string s WHERE s.resource_type = 'Organization' AND s.id = 'rp-org' AND s.code = 'name'
             UNION ALL SELECT q.code, q.value::text FROM sp_quantity q WHERE q.resource_type = 'Observation' AND q.id = 'rp-obs' AND q.code = 'value-quantity'`,
          );
          assert.deepEqual(rows.rows.map((r) => [r.code, r.value]), [['name', 'General Hospital West'], ['value-quantity', '71']]);
        } finally {
          await db.close();
        }
      });
    });
  }
});
