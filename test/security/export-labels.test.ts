/** Bulk export leaves sensitive records out for a requester who may not see them. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import { secureApp, type SecureApp } from './helpers.js';
import { waitForExport } from '../../src/records/bulk-export.js';
import { writeResources } from '../../src/store/repository.js';
import type { Resource } from '@medplum/fhirtypes';

for (const backend of backends()) {
  describe(`bulk export and sensitivity labels (${backend.name})`, () => {
    let s: SecureApp;
    before(async () => {
      s = await secureApp(backend, {});
      const r = (x: Record<string, unknown>) => x as unknown as Resource;
      await s.db.transaction((tx) => writeResources(tx, [
        { resourceType: 'Patient', id: 'open', method: 'PUT', resource: r({ resourceType: 'Patient', id: 'open' }) },
        { resourceType: 'Patient', id: 'part2', method: 'PUT', resource: r({ resourceType: 'Patient', id: 'part2', meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'ETH' }] } }) },
        { resourceType: 'Condition', id: 'c-open', method: 'PUT', resource: r({ resourceType: 'Condition', id: 'c-open', subject: { reference: 'Patient/open' } }) },
        { resourceType: 'Condition', id: 'c-part2', method: 'PUT', resource: r({ resourceType: 'Condition', id: 'c-part2', subject: { reference: 'Patient/part2' } }) },
        { resourceType: 'Condition', id: 'c-psy', method: 'PUT', resource: r({ resourceType: 'Condition', id: 'c-psy', subject: { reference: 'Patient/open' }, meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }] } }) },
      ]));
    });
    after(async () => s.close());

    it('an HIM technician\'s export leaves out labelled records and labelled patients\' compartments', async () => {
      const kick = await s.app.inject({ method: 'GET', url: '/fhir/$export', headers: { ...s.as('him-technician'), prefer: 'respond-async' } });
      assert.equal(kick.statusCode, 202, kick.body);
      const status = (kick.headers['content-location'] as string).replace(/^https?:\/\/[^/]+/, '');
      await waitForExport(status.split('/').pop() as string);
      const manifest = (await s.app.inject({ method: 'GET', url: status, headers: s.as('him-technician') })).json() as { output: { type: string; url: string }[] };
      const ids: string[] = [];
      for (const o of manifest.output) {
        const f = await s.app.inject({ method: 'GET', url: o.url.replace(/^https?:\/\/[^/]+/, ''), headers: s.as('him-technician') });
        ids.push(...f.body.trim().split('\n').map((l) => `${o.type}/${(JSON.parse(l) as { id: string }).id}`));
      }
      assert.ok(ids.includes('Patient/open') && ids.includes('Condition/c-open'));
      assert.ok(!ids.includes('Patient/part2') && !ids.includes('Condition/c-part2'), 'a 42 CFR Part 2 patient and their record stay out');
      assert.ok(!ids.includes('Condition/c-psy'), 'a mental-health record stays out');
    });
  });
}
