/**
 * Sensitive records are left out by the search itself: a page holds _count records the viewer may
 * see, the total counts only those, and break-the-glass opens one patient's records to the search.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import { secureApp, type SecureApp } from '../security/helpers.js';

const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

type Page = { entry?: { resource: { id: string } }[]; total?: number; link?: { relation: string; url: string }[] };

for (const backend of backends()) {
  describe(`searches leave out what the viewer may not see (${backend.name})`, () => {
    let s: SecureApp;
    before(async () => {
      s = await secureApp(backend);
      const put = async (r: Record<string, unknown>): Promise<void> => {
        const res = await s.app.inject({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, headers: s.as('integration'), payload: r });
        assert.ok(res.statusCode < 300, res.body);
      };
      await put({ resourceType: 'Patient', id: 'vip', meta: { security: [{ system: CONF, code: 'R' }] }, name: [{ family: 'Hidden' }] });
      await put({ resourceType: 'Patient', id: 'plain', name: [{ family: 'Plain' }] });
      const obs = (id: string, patient: string, security?: unknown): Record<string, unknown> => ({
        resourceType: 'Observation', id, status: 'final', code: { text: 'pulse' }, subject: { reference: `Patient/${patient}` }, ...(security ? { meta: { security } } : {}),
      });
      // in id order the hidden records come first: a filter applied after the page would empty it
      for (const id of ['a-vip-1', 'a-vip-2']) await put(obs(id, 'vip'));
      for (const id of ['a-psy-1', 'a-psy-2', 'a-psy-3']) await put(obs(id, 'plain', [{ system: ACT, code: 'PSY' }]));
      for (const id of ['b-1', 'b-2', 'b-3', 'b-4', 'b-5']) await put(obs(id, 'plain'));
    });
    after(async () => s.close());

    const page = async (url: string): Promise<Page> => {
      const r = await s.app.inject({ method: 'GET', url, headers: s.as('provider') });
      assert.equal(r.statusCode, 200, r.body);
      return r.json() as Page;
    };
    const ids = (p: Page): string[] => (p.entry ?? []).map((e) => e.resource.id);

    for (const [what, url] of [
      ['a search by the resource table', '/fhir/Observation?_count=3'],
      ['a search by index sets', '/fhir/Observation?code:text=pulse&_count=3'],
      ['a compartment search', '/fhir/Patient/plain/Observation?_count=3'],
    ] as const) {
      it(`fills the page and counts only visible records: ${what}`, async () => {
        const first = await page(url);
        assert.deepEqual(ids(first), ['b-1', 'b-2', 'b-3']);
        assert.equal(first.total, 5);
        const next = first.link?.find((l) => l.relation === 'next')?.url;
        assert.ok(next, 'a next page');
        assert.deepEqual(ids(await page(next.replace(/^https?:\/\/[^/]+/, ''))), ['b-4', 'b-5']);
      });
    }

    it('shows a patient opened by break-the-glass, and only that patient', async () => {
      const res = await s.app.inject({ method: 'POST', url: '/api/break-the-glass', headers: s.as('provider'), payload: { patient: 'vip', reason: 'Unconscious in the ED, medication history needed' } });
      assert.equal(res.statusCode, 201, res.body);
      const all = await page('/fhir/Observation?code:text=pulse&_count=20');
      assert.deepEqual(ids(all), ['a-vip-1', 'a-vip-2', 'b-1', 'b-2', 'b-3', 'b-4', 'b-5']);
      assert.equal(all.total, 7);
    });
  });
}
