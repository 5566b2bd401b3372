/** FHIR Bulk Data export: kick-off, status, manifest and files, at system, Patient and Group level. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { backends } from '../helpers/db.js';
import { testApp } from '../helpers/app.js';
import { demoBundleFiles } from '../helpers/fixtures.js';
import { importFiles } from '../../src/records/import-files.js';
import { waitForExport } from '../../src/records/bulk-export.js';
import { countResources } from '../../src/store/repository.js';
import type { Db } from '../../src/store/db.js';

interface Manifest { transactionTime: string; request: string; output: { type: string; url: string; count: number }[]; error: unknown[] }

for (const backend of backends()) {
  describe(`bulk export (${backend.name})`, () => {
    let app: FastifyInstance;
    let db: Db;
    let close: () => Promise<void>;
    let patients: string[];
    before(async () => {
      const t = await testApp(backend, { exportDir: mkdtempSync(path.join(tmpdir(), 'custodian-export-')) });
      app = t.app;
      db = t.db;
      close = t.close;
      const s = await importFiles({ db, strict: false }, demoBundleFiles().slice(0, 3));
      assert.deepEqual(s.failures, []);
      patients = (await db.query<{ id: string }>(`SELECT id FROM resource WHERE resource_type = 'Patient' ORDER BY id`)).rows.map((r) => r.id);
    });
    after(async () => close());

    const runExport = async (url: string): Promise<Manifest> => {
      const kick = await app.inject({ method: 'GET', url, headers: { prefer: 'respond-async' } });
      assert.equal(kick.statusCode, 202, kick.body);
      const status = (kick.headers['content-location'] as string).replace(/^https?:\/\/[^/]+/, '');
      await waitForExport(status.split('/').pop() as string);
      const done = await app.inject({ method: 'GET', url: status });
      assert.equal(done.statusCode, 200, done.body);
      return done.json() as Manifest;
    };
    const lines = async (fileUrl: string): Promise<{ resourceType: string; id: string; subject?: { reference: string } }[]> => {
      const r = await app.inject({ method: 'GET', url: fileUrl.replace(/^https?:\/\/[^/]+/, '') });
      assert.equal(r.statusCode, 200);
      assert.match(r.headers['content-type'] as string, /ndjson/);
      return r.body.trim().split('\n').map((l) => JSON.parse(l));
    };

    it('exports the whole system as NDJSON files, one per type, with counts that match the store', async () => {
      const m = await runExport('/fhir/$export');
      const counts = await countResources(db);
      assert.deepEqual(Object.fromEntries(m.output.map((o) => [o.type, o.count]).sort()), counts);
      const obs = m.output.find((o) => o.type === 'Observation') as Manifest['output'][number];
      const rows = await lines(obs.url);
      assert.equal(rows.length, obs.count);
      assert.ok(rows.every((r) => r.resourceType === 'Observation'));
      assert.ok(Date.parse(m.transactionTime) > 0);
    });

    it('writes every resource exactly as stored, whatever characters its text holds', async () => {
      const tricky = 'line one\nline two, "quoted", back\\slash, tab\there, carriage\rreturn, ünïcödé, emoji \u{1F489}, $x$ dollar, \'apostrophe\'';
      const put = await app.inject({
        method: 'PUT', url: '/fhir/Basic/tricky-text', headers: { 'content-type': 'application/fhir+json' },
        payload: JSON.stringify({ resourceType: 'Basic', id: 'tricky-text', code: { text: tricky } }),
      });
      assert.ok(put.statusCode < 300, put.body);
      const m = await runExport('/fhir/$export?_type=Basic,Condition');
      const basic = await lines(m.output.find((o) => o.type === 'Basic')?.url as string);
      assert.deepEqual(basic.map((b) => (b as unknown as { code: { text: string } }).code.text), [tricky]);
      const conditions = await lines(m.output.find((o) => o.type === 'Condition')?.url as string);
      const stored = await db.query<{ content: unknown }>(`SELECT content FROM resource WHERE resource_type = 'Condition' AND NOT deleted ORDER BY id`);
      const asObject = (c: unknown): unknown => (typeof c === 'string' ? JSON.parse(c) : c);
      assert.deepEqual([...conditions].sort((a, b) => a.id.localeCompare(b.id)), stored.rows.map((r) => asObject(r.content)).sort((a, b) => (a as { id: string }).id.localeCompare((b as { id: string }).id)));
    });

    it('filters by _type and _since, and exports a Group\'s patients only', async () => {
      const typed = await runExport('/fhir/Patient/$export?_type=Patient,Condition');
      assert.deepEqual(typed.output.map((o) => o.type).sort(), ['Condition', 'Patient']);
      const none = await runExport('/fhir/$export?_since=2999-01-01T00:00:00Z');
      assert.deepEqual(none.output, []);
      const group = await app.inject({
        method: 'PUT', url: '/fhir/Group/cohort', headers: { 'content-type': 'application/fhir+json' },
        payload: JSON.stringify({ resourceType: 'Group', id: 'cohort', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${patients[0]}` } }] }),
      });
      assert.equal(group.statusCode, 201);
      const g = await runExport('/fhir/Group/cohort/$export?_type=Patient,Encounter');
      const ps = await lines(g.output.find((o) => o.type === 'Patient')?.url as string);
      assert.deepEqual(ps.map((p) => p.id), [patients[0]]);
      const encs = await lines(g.output.find((o) => o.type === 'Encounter')?.url as string);
      assert.ok(encs.length > 0 && encs.every((e) => e.subject?.reference === `Patient/${patients[0]}`));
    });

    it('asks for Prefer: respond-async and rejects unknown types and formats with an OperationOutcome', async () => {
      const sync = await app.inject({ method: 'GET', url: '/fhir/$export' });
      assert.equal(sync.statusCode, 400);
      assert.match(sync.body, /respond-async/);
      const bad = await app.inject({ method: 'GET', url: '/fhir/$export?_type=Nope', headers: { prefer: 'respond-async' } });
      assert.equal(bad.statusCode, 400);
      const fmt = await app.inject({ method: 'GET', url: '/fhir/$export?_outputFormat=text/csv', headers: { prefer: 'respond-async' } });
      assert.equal(fmt.statusCode, 400);
      assert.equal((await app.inject({ method: 'GET', url: '/fhir/$export-status/00000000-0000-0000-0000-000000000000' })).statusCode, 404);
    });
  });
}
