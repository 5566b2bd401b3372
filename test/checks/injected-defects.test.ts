/**
 * Acceptance: real Synthea patients with injected defects (test/fixtures/checks/defects-manifest.json).
 * Every injected defect is reported by a failed check listing the resource's id, and the clean
 * patients raise no error-severity finding except those justified below.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { DEMO_BUNDLES, FIXTURES, readJsonFile } from '../helpers/fixtures.js';
import { importFiles } from '../../src/records/import-files.js';
import { readResource, writeResources } from '../../src/store/repository.js';
import { runChecksSql } from '../../src/checks/engine.js';
import { QUALITY_CHECKS } from '../../src/quality/instances.js';

interface Defect { check: string; resourceType: string; id: string; op: 'set' | 'remove' | 'copy' | 'add' | 'none'; pointer?: string; value?: unknown; from?: string; resource?: Resource; note: string }
const manifest = readJsonFile<{ defectFiles: string[]; cleanFiles: string[]; defects: Defect[] }>(path.join(FIXTURES, 'checks/defects-manifest.json'));

/** Error-severity findings that real (clean) Synthea data raises, and why they are right to. */
const JUSTIFIED: Record<string, string> = {
  'practitioner-npi-format': 'Synthea (2019) gives practitioners placeholder NPIs such as "500", which are not 10-digit NPIs',
  'medreq-within-life': 'Synthea can write a medication order dated after the patient died',
};

function applyPointer(doc: Record<string, unknown>, pointer: string, op: 'set' | 'remove', value?: unknown): void {
  const parts = pointer.split('/').slice(1);
  let cur = doc as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  const last = parts[parts.length - 1]!;
  if (op === 'remove') delete cur[last];
  else if (Array.isArray(cur) && last === '-') cur.push(value);
  else cur[last] = value;
}

for (const backend of backends()) {
  describe(`injected defects over Synthea patients (${backend.name})`, () => {
    it('reports every injected defect with its resource id, and nothing unjustified on clean patients', async () => {
      const db = await backend.open();
      try {
        const summary = await importFiles({ db, strict: false }, [...manifest.defectFiles, ...manifest.cleanFiles].map((f) => path.join(DEMO_BUNDLES, f)));
        assert.equal(summary.failures.length, 0);
        const writes: Resource[] = [];
        for (const d of manifest.defects) {
          if (d.op === 'none') continue;
          if (d.op === 'add') writes.push(d.resource!);
          else if (d.op === 'copy') writes.push({ ...(await readResource(db, d.resourceType, d.from!)).resource, id: d.id } as Resource);
          else {
            const cur = writes.find((w) => w.resourceType === d.resourceType && w.id === d.id) ?? structuredClone((await readResource(db, d.resourceType, d.id)).resource);
            applyPointer(cur as unknown as Record<string, unknown>, d.pointer!, d.op, d.value);
            if (!writes.includes(cur)) writes.push(cur);
          }
        }
        await db.transaction((tx) => writeResources(tx, writes.map((r) => ({ resourceType: r.resourceType, id: r.id!, method: 'PUT' as const, resource: r }))));

        const results = await runChecksSql(db, QUALITY_CHECKS, { now: new Date('2024-01-01T00:00:00Z') });
        assert.deepEqual(results.filter((r) => r.status === 'error').map((r) => `${r.checkId}: ${r.reason}`), []);
        for (const d of manifest.defects) {
          const r = results.find((x) => x.checkId === d.check);
          assert.ok(r, `no check ${d.check}`);
          assert.equal(r.status, 'failed', `${d.check} should fail for ${d.resourceType}/${d.id} (${d.note})`);
          assert.ok(r.ids.includes(d.id), `${d.check} should list ${d.resourceType}/${d.id} (${d.note}); got ${r.ids.join(', ')}`);
        }

        const clean = new Set<string>();
        for (const f of manifest.cleanFiles) {
          for (const e of readJsonFile<{ entry: Array<{ resource: Resource }> }>(path.join(DEMO_BUNDLES, f)).entry) clean.add(e.resource.id!);
        }
        const unjustified = results
          .filter((r) => r.status === 'failed' && r.severity === 'error' && !JUSTIFIED[r.checkId])
          .flatMap((r) => r.ids.filter((id) => clean.has(id)).map((id) => `${r.checkId}: ${r.resourceType}/${id}`));
        assert.deepEqual(unjustified, []);
      } finally {
        await db.close();
      }
    });
  });
}
