/** Search features a user sees through the API: paging that survives writes, compartments, $everything, includes. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Bundle } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { testApp } from '../helpers/app.js';
import { demoBundleFiles, readJsonFile } from '../helpers/fixtures.js';
import { importFiles } from '../../src/records/import-files.js';
import type { Db } from '../../src/store/db.js';

const rel = (url: string): string => url.replace(/^https?:\/\/[^/]+/, '');

for (const backend of backends()) {
  describe(`search through the API (${backend.name})`, () => {
    let app: FastifyInstance;
    let close: () => Promise<void>;
    let db: Db;
    let patientId: string;
    let patientResources: number;
    before(async () => {
      const t = await testApp(backend);
      app = t.app;
      close = t.close;
      db = t.db;
      const [file] = demoBundleFiles();
      const s = await importFiles({ db: t.db, strict: false }, [file as string]);
      assert.deepEqual(s.failures, []);
      const bundle = readJsonFile<{ entry: { resource: { resourceType: string; id: string } }[] }>(file as string);
      patientId = bundle.entry.find((e) => e.resource.resourceType === 'Patient')?.resource.id as string;
      patientResources = bundle.entry.length;
    });
    after(async () => close());
    const get = async (url: string): Promise<Bundle> => {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
      return r.json() as Bundle;
    };

    it('pages with next/previous links that stay correct while data changes', async () => {
      const all = (await get('/fhir/Observation?_sort=-date&_count=1000')).entry?.map((e) => e.resource?.id) ?? [];
      assert.ok(all.length > 30);
      const p1 = await get('/fhir/Observation?_sort=-date&_count=10');
      assert.deepEqual(p1.entry?.map((e) => e.resource?.id), all.slice(0, 10));
      // a write lands in the first page's range after it was read
      const first = p1.entry?.[0]?.resource as { id: string };
      const copy = (await app.inject({ method: 'GET', url: `/fhir/Observation/${first.id}` })).json() as Record<string, unknown>;
      const created = await app.inject({ method: 'POST', url: '/fhir/Observation', headers: { 'content-type': 'application/fhir+json' }, payload: JSON.stringify({ ...copy, id: undefined, meta: undefined, subject: { reference: 'Patient/someone-else' }, encounter: undefined }) });
      assert.equal(created.statusCode, 201);
      const now = (await get('/fhir/Observation?_sort=-date&_count=1000')).entry?.map((e) => e.resource?.id) ?? [];
      assert.equal(now.length, all.length + 1);
      const next = p1.link?.find((l) => l.relation === 'next')?.url as string;
      const p2 = (await get(rel(next))).entry?.map((e) => e.resource?.id) ?? [];
      // page 2 continues right after page 1's last row in the current order: nothing repeated, nothing skipped
      const lastOfP1 = now.indexOf(all[9]);
      assert.deepEqual(p2, now.slice(lastOfP1 + 1, lastOfP1 + 11));
      assert.deepEqual(p2.filter((id) => all.slice(0, 10).includes(id)), []);
      const old = p2.filter((id) => all.includes(id));
      assert.deepEqual(old, all.slice(10, 10 + old.length));
      // previous is the 10 rows just before page 2 in the current order
      const prev = (await get(rel(next))).link?.find((l) => l.relation === 'previous')?.url as string;
      const back = await get(rel(prev));
      const at = now.indexOf(p2[0]);
      assert.deepEqual(back.entry?.map((e) => e.resource?.id), now.slice(at - 10, at));
    });

    it('answers a closed date range on one-value and many-value parameters', async () => {
      const put = async (resource: Record<string, unknown>): Promise<void> => {
        const r = await app.inject({ method: 'PUT', url: `/fhir/${resource.resourceType}/${resource.id}`, payload: resource, headers: { 'content-type': 'application/fhir+json' } });
        assert.ok(r.statusCode < 300, r.body);
      };
      // two events, one on each side: each filter is met by another event (no single event is in range)
      await put({ resourceType: 'Observation', id: 'range-timing', status: 'final', code: { text: 'range test' }, effectiveTiming: { event: ['2010-06-01', '2020-06-01'] } });
      // one period spanning the range, one period after it
      await put({ resourceType: 'Encounter', id: 'range-spanning', status: 'finished', class: { code: 'AMB' }, period: { start: '2010-01-01', end: '2020-12-31' } });
      await put({ resourceType: 'Encounter', id: 'range-after', status: 'finished', class: { code: 'AMB' }, period: { start: '2021-01-01', end: '2021-01-02' } });
      const ids = async (url: string): Promise<string[]> => ((await get(url)).entry ?? []).map((e) => e.resource?.id as string).filter((id) => id.startsWith('range-')).sort();
      assert.deepEqual(await ids('/fhir/Observation?date=ge2019-01-01&date=lt2011-01-01&code:text=range'), ['range-timing']);
      assert.deepEqual(await ids('/fhir/Observation?date=ge2021-01-01&date=lt2011-01-01&code:text=range'), []);
      assert.deepEqual(await ids('/fhir/Encounter?date=ge2015-01-01&date=lt2016-01-01&class=AMB'), ['range-spanning']);
      assert.deepEqual(await ids('/fhir/Encounter?date=ge2021-01-01&date=lt2021-02-01'), ['range-after']);
      assert.deepEqual(await ids('/fhir/Encounter?date=ge2022-01-01&date=lt2009-01-01'), []);
      // ends that cross: a period running from before the end to after the start still meets both
      assert.deepEqual(await ids('/fhir/Encounter?date=ge2019-01-01&date=lt2011-01-01'), ['range-spanning']);
      // a closed window by eq and ap
      assert.deepEqual(await ids('/fhir/Encounter?date=eq2021-01'), ['range-after']);
      assert.deepEqual(await ids('/fhir/Encounter?date=ap2021-01-01&class=AMB'), ['range-after', 'range-spanning']);
    });

    it('gives an accurate total by default, the planner\'s estimate with _total=estimate, none with _total=none', async () => {
      await db.exec('ANALYZE resource; ANALYZE sp_token');
      const url = '/fhir/Observation?category=vital-signs&_count=1';
      const accurate = (await get(url)).total as number;
      assert.ok(accurate > 20, `accurate ${accurate}`);
      const estimate = (await get(`${url}&_total=estimate`)).total as number;
      assert.ok(Number.isInteger(estimate) && estimate > accurate / 2 && estimate < accurate * 2, `estimate ${estimate} for ${accurate}`);
      assert.equal((await get(`${url}&_total=none`)).total, undefined);
    });

    it('searches inside a patient compartment', async () => {
      const inComp = await get(`/fhir/Patient/${patientId}/Encounter?_count=1000`);
      const direct = await get(`/fhir/Encounter?patient=${patientId}&_count=1000`);
      assert.ok((inComp.total ?? 0) > 0);
      assert.deepEqual(inComp.entry?.map((e) => e.resource?.id).sort(), direct.entry?.map((e) => e.resource?.id).sort());
      const none = await get(`/fhir/Patient/nobody/Encounter`);
      assert.equal(none.total, 0);
    });

    it('returns a patient\'s whole record with $everything, paged, with _type and _since', async () => {
      const seen: string[] = [];
      let url: string | undefined = `/fhir/Patient/${patientId}/$everything?_count=50`;
      let pages = 0;
      while (url) {
        const b = await get(url);
        seen.push(...(b.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
        url = b.link?.find((l) => l.relation === 'next')?.url;
        if (url) url = rel(url);
        pages++;
      }
      assert.ok(pages > 1);
      assert.equal(seen[0], `Patient/${patientId}`);
      assert.equal(new Set(seen).size, seen.length, 'no resource twice across pages');
      assert.equal(seen.length, patientResources, 'the patient, the compartment, and the referenced practitioner and organization');
      assert.ok(seen.some((k) => k.startsWith('Practitioner/')));
      const onlyConditions = await get(`/fhir/Patient/${patientId}/$everything?_type=Condition&_count=1000`);
      assert.ok(onlyConditions.entry?.every((e) => e.resource?.resourceType === 'Condition'));
      const future = await get(`/fhir/Patient/${patientId}/$everything?_since=2999-01-01`);
      assert.deepEqual(future.entry, []);
      assert.equal((await app.inject({ method: 'GET', url: '/fhir/Patient/nobody/$everything' })).statusCode, 404);
    });

    it('includes and reverse-includes referenced resources', async () => {
      const b = await get(`/fhir/Encounter?patient=${patientId}&_count=2&_include=Encounter:subject&_revinclude=Condition:encounter`);
      const modes = (b.entry ?? []).map((e) => `${e.search?.mode}:${e.resource?.resourceType}`);
      assert.ok(modes.includes(`include:Patient`));
      assert.equal(modes.filter((m) => m.startsWith('match:')).length, 2);
      const reverse = await get(`/fhir/Patient?_has:Observation:subject:_id=${(await get(`/fhir/Observation?subject=Patient/${patientId}&_count=1`)).entry?.[0]?.resource?.id}`);
      assert.deepEqual(reverse.entry?.map((e) => e.resource?.id), [patientId], 'reverse chaining on its own');
      const chained = await get(`/fhir/Observation?subject:Patient._id=${patientId}&_summary=count`);
      const direct = await get(`/fhir/Observation?subject=Patient/${patientId}&_summary=count`);
      assert.equal(chained.total, direct.total);
      assert.ok((direct.total ?? 0) > 0);
    });
  });
}
