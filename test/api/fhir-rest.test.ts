/** The FHIR REST API through Fastify's inject, on every backend. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { testApp } from '../helpers/app.js';

const FHIR = { 'content-type': 'application/fhir+json' };

for (const backend of backends()) {
  describe(`FHIR REST API (${backend.name})`, () => {
    let app: FastifyInstance;
    let close: () => Promise<void>;
    before(async () => {
      const t = await testApp(backend, { bodyLimit: 256 * 1024 });
      app = t.app;
      close = t.close;
    });
    after(async () => close());

    const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      app.inject({ method: 'POST', url, headers: { ...FHIR, ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
    const put = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      app.inject({ method: 'PUT', url, headers: { ...FHIR, ...headers }, payload: JSON.stringify(body) });
    const get = (url: string) => app.inject({ method: 'GET', url });

    it('creates with a server id, Location and ETag; reads and vreads it', async () => {
      const res = await post('/fhir/Patient', { resourceType: 'Patient', id: 'ignored', name: [{ family: 'Rivera' }] });
      assert.equal(res.statusCode, 201);
      assert.match(res.headers['content-type'] as string, /application\/fhir\+json/);
      const created = res.json() as Patient;
      assert.notEqual(created.id, 'ignored');
      assert.match(res.headers.location as string, new RegExp(`/fhir/Patient/${created.id}/_history/1$`));
      assert.equal(res.headers.etag, 'W/"1"');
      const read = await get(`/fhir/Patient/${created.id}`);
      assert.equal(read.statusCode, 200);
      assert.equal((read.json() as Patient).name?.[0]?.family, 'Rivera');
      const vread = await get(`/fhir/Patient/${created.id}/_history/1`);
      assert.equal(vread.statusCode, 200);
      assert.equal((await get(`/fhir/Patient/${created.id}/_history/9`)).statusCode, 404);
    });

    it('updates (and creates on update), honours If-Match, deletes softly, keeps history', async () => {
      const first = await put('/fhir/Patient/pat-u', { resourceType: 'Patient', id: 'pat-u', gender: 'female' });
      assert.equal(first.statusCode, 201);
      const same = await put('/fhir/Patient/pat-u', { resourceType: 'Patient', id: 'pat-u', gender: 'female' });
      assert.equal(same.statusCode, 200);
      assert.equal(same.headers.etag, 'W/"1"', 'a write that changes nothing makes no version');
      const stale = await put('/fhir/Patient/pat-u', { resourceType: 'Patient', id: 'pat-u', gender: 'male' }, { 'if-match': 'W/"5"' });
      assert.equal(stale.statusCode, 412);
      assert.equal((stale.json() as OperationOutcome).resourceType, 'OperationOutcome');
      const ok = await put('/fhir/Patient/pat-u', { resourceType: 'Patient', id: 'pat-u', gender: 'male' }, { 'if-match': 'W/"1"' });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.headers.etag, 'W/"2"');
      const mismatch = await put('/fhir/Patient/pat-u', { resourceType: 'Patient', id: 'other', gender: 'male' });
      assert.equal(mismatch.statusCode, 400);
      const del = await app.inject({ method: 'DELETE', url: '/fhir/Patient/pat-u' });
      assert.equal(del.statusCode, 204);
      assert.equal((await get('/fhir/Patient/pat-u')).statusCode, 410);
      const hist = (await get('/fhir/Patient/pat-u/_history')).json() as Bundle;
      assert.equal(hist.type, 'history');
      assert.equal(hist.total, 3);
      const typeHist = (await get('/fhir/Patient/_history?_count=2')).json() as Bundle;
      assert.equal(typeHist.entry?.length, 2);
    });

    it('conditional create and conditional update find the existing resource', async () => {
      const body = { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'MRN-77' }] };
      const a = await post('/fhir/Patient', body, { 'if-none-exist': 'identifier=urn:mrn|MRN-77' });
      assert.equal(a.statusCode, 201);
      const b = await post('/fhir/Patient', body, { 'if-none-exist': 'identifier=urn:mrn|MRN-77' });
      assert.equal(b.statusCode, 200);
      assert.equal((b.json() as Patient).id, (a.json() as Patient).id);
      const upd = await put('/fhir/Patient?identifier=urn:mrn|MRN-77', { ...body, gender: 'other' });
      assert.equal(upd.statusCode, 200);
      assert.equal((upd.json() as Patient).id, (a.json() as Patient).id);
      assert.equal(upd.headers.etag, 'W/"2"');
      const fresh = await put('/fhir/Patient?identifier=urn:mrn|MRN-78', { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'MRN-78' }] });
      assert.equal(fresh.statusCode, 201);
    });

    it('runs a transaction with urn:uuid references resolved, all or nothing', async () => {
      const tx: Bundle = {
        resourceType: 'Bundle', type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: { resourceType: 'Patient', name: [{ family: 'Tx' }] }, request: { method: 'POST', url: 'Patient' } },
          { fullUrl: 'urn:uuid:22222222-2222-4222-8222-222222222222', resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'urn:uuid:11111111-1111-4111-8111-111111111111' } }, request: { method: 'POST', url: 'Encounter' } },
        ],
      };
      const res = await post('/fhir', tx);
      assert.equal(res.statusCode, 200);
      const out = res.json() as Bundle;
      assert.equal(out.type, 'transaction-response');
      assert.deepEqual(out.entry?.map((e) => e.response?.status), ['201 Created', '201 Created']);
      const patientRef = out.entry?.[0]?.fullUrl as string;
      const encId = (out.entry?.[1]?.fullUrl as string).split('/')[1];
      const enc = (await get(`/fhir/Encounter/${encId}`)).json() as { subject: { reference: string } };
      assert.equal(enc.subject.reference, patientRef);

      const before = ((await get('/fhir/Patient?_summary=count')).json() as Bundle).total;
      const bad: Bundle = {
        resourceType: 'Bundle', type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:33333333-3333-4333-8333-333333333333', resource: { resourceType: 'Patient', name: [{ family: 'Rollback' }] }, request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Observation', status: 'not-a-status', code: { text: 'x' } } as never, request: { method: 'POST', url: 'Observation' } },
        ],
      };
      const rej = await post('/fhir', bad);
      assert.ok(rej.statusCode === 400 || rej.statusCode === 422, `status ${rej.statusCode}`);
      const oo = rej.json() as OperationOutcome;
      assert.ok(oo.issue?.some((i) => i.expression?.some((x) => x.startsWith('Bundle.entry[1]'))), JSON.stringify(oo));
      const afterCount = ((await get('/fhir/Patient?_summary=count')).json() as Bundle).total;
      assert.equal(afterCount, before, 'a rejected transaction writes nothing');
    });

    it('runs a batch entry by entry and reports each failure', async () => {
      const batch: Bundle = {
        resourceType: 'Bundle', type: 'batch',
        entry: [
          { resource: { resourceType: 'Patient', name: [{ family: 'BatchOk' }] }, request: { method: 'POST', url: 'Patient' } },
          { resource: { resourceType: 'Patient', gender: 'robot' } as never, request: { method: 'POST', url: 'Patient' } },
          { request: { method: 'DELETE', url: 'Patient/nonexistent' } },
        ],
      };
      const res = await post('/fhir', batch);
      assert.equal(res.statusCode, 200);
      const out = res.json() as Bundle;
      assert.equal(out.type, 'batch-response');
      assert.equal(out.entry?.[0]?.response?.status, '201 Created');
      assert.match(out.entry?.[1]?.response?.status ?? '', /^4/);
      assert.equal(out.entry?.[1]?.response?.outcome?.resourceType, 'OperationOutcome');
      assert.equal(out.entry?.[2]?.response?.status, '204 No Content');
    });

    it('stores a record that breaks an invariant, answering with a warning', async () => {
      const res = await post('/fhir/Encounter', { resourceType: 'Encounter', status: 'finished', class: { code: 'IMP' }, period: { start: '2021-02-01', end: '2021-01-01' } });
      assert.equal(res.statusCode, 201);
      const oo = res.json() as OperationOutcome;
      assert.equal(oo.resourceType, 'OperationOutcome');
      assert.ok(oo.issue?.some((i) => i.severity === 'warning' && /per-1/.test(i.details?.text ?? '')));
      const id = (res.headers.location as string).split('/').slice(-3)[0];
      assert.equal((await get(`/fhir/Encounter/${id}`)).statusCode, 200);
      const rep = await post('/fhir/Encounter', { resourceType: 'Encounter', status: 'finished', class: { code: 'IMP' }, period: { start: '2021-02-01', end: '2021-01-01' } }, { prefer: 'return=representation' });
      assert.equal((rep.json() as { resourceType: string }).resourceType, 'Encounter');
    });

    it('answers on-write data-quality checks as warnings: a future birth date is stored, never silently', async () => {
      const res = await post('/fhir/Patient', { resourceType: 'Patient', birthDate: '2999-01-01' });
      assert.equal(res.statusCode, 201);
      const oo = res.json() as OperationOutcome;
      assert.ok(oo.issue?.some((i) => i.severity === 'warning' && /birth/i.test(i.details?.text ?? '')), JSON.stringify(oo));
    });

    it('warns, without rejecting, on an ICD-10-CM code that is unknown or not billable at the date', async () => {
      const condition = (code: string) => ({
        resourceType: 'Condition', subject: { reference: 'Patient/x' }, recordedDate: '2021-11-01',
        code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code }] },
      });
      const header = await post('/fhir/Condition', condition('E11'));
      assert.equal(header.statusCode, 201);
      const oo = header.json() as OperationOutcome;
      assert.ok(oo.issue?.some((i) => i.severity === 'warning' && /E11/.test(i.details?.text ?? i.diagnostics ?? '')), JSON.stringify(oo));
      const billable = await post('/fhir/Condition', condition('E11.9'), { prefer: 'return=OperationOutcome' });
      assert.equal(billable.statusCode, 201);
      assert.ok(!(billable.json() as OperationOutcome).issue?.some((i) => i.severity === 'warning'), billable.body);
    });

    it('rejects structurally invalid writes with the element path', async () => {
      const unknown = await post('/fhir/Patient', { resourceType: 'Patient', nickname: 'x' });
      assert.ok([400, 422].includes(unknown.statusCode));
      assert.deepEqual((unknown.json() as OperationOutcome).issue?.[0]?.expression, ['Patient.nickname']);
      const card = await post('/fhir/Patient', { resourceType: 'Patient', birthDate: ['1970-01-01', '1971-01-01'] });
      assert.ok([400, 422].includes(card.statusCode));
      const wrongType = await post('/fhir/Patient', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
      assert.equal(wrongType.statusCode, 400);
    });

    it('answers every error as an OperationOutcome with the right status', async () => {
      const cases: [string, string, unknown, number][] = [
        ['POST', '/fhir/Patient', '{"resourceType": "Patient", ', 400],
        ['GET', '/fhir/Patient/does-not-exist', undefined, 404],
        ['GET', '/fhir/NotAType/1', undefined, 404],
        ['GET', '/nowhere', undefined, 404],
        ['PATCH', '/fhir/Patient/1', '{}', 405],
        ['POST', '/fhir/Patient/1', '{}', 405],
        ['GET', '/fhir/Patient/bad$id', undefined, 400],
        ['GET', '/fhir/Patient?_count=abc', undefined, 400],
        ['POST', '/fhir/Patient', JSON.stringify({ resourceType: 'Patient', text: { status: 'generated', div: 'x'.repeat(300 * 1024) } }), 413],
      ];
      for (const [method, url, payload, status] of cases) {
        const res = await app.inject({ method: method as 'GET', url, headers: FHIR, payload: payload as string | undefined });
        assert.equal(res.statusCode, status, `${method} ${url}`);
        const body = res.json() as OperationOutcome;
        assert.equal(body.resourceType, 'OperationOutcome', `${method} ${url}`);
        assert.ok(body.issue?.[0]?.details?.text, `${method} ${url} explains itself`);
        assert.doesNotMatch(res.body, /at .*\.ts:\d+|SELECT|INSERT/);
      }
    });

    it('publishes a truthful CapabilityStatement', async () => {
      const res = await get('/fhir/metadata');
      assert.equal(res.statusCode, 200);
      const cs = res.json() as { fhirVersion: string; rest: { resource: { type: string; interaction: { code: string }[]; searchParam: { name: string }[] }[]; interaction: { code: string }[] }[] };
      assert.equal(cs.fhirVersion, '4.0.1');
      const patient = cs.rest[0]?.resource.find((r) => r.type === 'Patient');
      assert.ok(patient?.interaction.some((i) => i.code === 'vread'));
      assert.ok(!patient?.interaction.some((i) => i.code === 'patch'), 'patch is not supported and must not be claimed');
      assert.ok(patient?.searchParam.some((p) => p.name === 'birthdate'));
      assert.deepEqual(cs.rest[0]?.interaction.map((i) => i.code).sort(), ['batch', 'history-system', 'transaction']);
    });

    it('$validate reports issues without storing anything', async () => {
      const res = await post('/fhir/Patient/$validate', { resourceType: 'Patient', gender: 'robot' });
      assert.equal(res.statusCode, 200);
      const oo = res.json() as OperationOutcome;
      assert.equal(oo.issue?.[0]?.severity, 'error');
      assert.deepEqual(oo.issue?.[0]?.expression, ['Patient.gender']);
      const ok = (await post('/fhir/Patient/$validate', { resourceType: 'Patient', gender: 'female' })).json() as OperationOutcome;
      assert.equal(ok.issue?.[0]?.severity, 'information');
    });

    it('searches with paging links, _elements and unknown parameters reported', async () => {
      for (let i = 0; i < 5; i++) await put(`/fhir/Patient/page-${i}`, { resourceType: 'Patient', id: `page-${i}`, name: [{ family: 'Pager' }] });
      const first = (await get('/fhir/Patient?family=pager&_count=2&_sort=_id')).json() as Bundle;
      assert.equal(first.total, 5);
      assert.deepEqual(first.entry?.map((e) => e.resource?.id), ['page-0', 'page-1']);
      const next = first.link?.find((l) => l.relation === 'next')?.url as string;
      const second = (await get(next.replace(/^https?:\/\/[^/]+/, ''))).json() as Bundle;
      assert.deepEqual(second.entry?.map((e) => e.resource?.id), ['page-2', 'page-3']);
      const el = (await get('/fhir/Patient?_id=page-0&_elements=name')).json() as Bundle;
      const r = el.entry?.[0]?.resource as Patient;
      assert.equal(r.resourceType, 'Patient');
      assert.ok(r.name);
      assert.ok(r.meta?.tag?.some((t) => t.code === 'SUBSETTED'));
      const unknown = (await get('/fhir/Patient?family=pager&colour=blue')).json() as Bundle;
      assert.equal(unknown.total, 5);
      assert.ok(unknown.entry?.some((e) => e.search?.mode === 'outcome'));
      const strict = await app.inject({ method: 'GET', url: '/fhir/Patient?colour=blue', headers: { prefer: 'handling=strict' } });
      assert.equal(strict.statusCode, 400);
    });

    it('a search value its parameter cannot hold is a 400 naming the parameter, not an empty page', async () => {
      const cases: [string, string, RegExp][] = [
        ['/fhir/Encounter?date=2015-13-01', 'date', /Invalid date "2015-13-01" in parameter "date"/],
        ['/fhir/Patient?birthdate=ge1970-02-30', 'birthdate', /Invalid date "1970-02-30"/],
        ['/fhir/Patient?_lastUpdated=gtyesterday', '_lastUpdated', /Invalid date/],
        ['/fhir/Observation?value-quantity=gtx', 'value-quantity', /Invalid quantity "gtx" in parameter "value-quantity"/],
        ['/fhir/RiskAssessment?probability=high', 'probability', /Invalid number "high"/],
        ['/fhir/Observation?code-value-quantity=http://loinc.org|4548-4$gtnine', 'code-value-quantity', /Invalid quantity "gtnine"/],
        ['/fhir/Patient?gender:missing=maybe', 'gender:missing', /takes true or false/],
      ];
      for (const [url, expression, text] of cases) {
        const r = await app.inject({ method: 'GET', url });
        assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
        const issue = (r.json() as OperationOutcome).issue[0];
        assert.match(issue?.diagnostics ?? '', text, url);
        assert.deepEqual(issue?.expression, [expression], url);
      }
      // a leap day is a date
      assert.equal((await get('/fhir/Patient?birthdate=2000-02-29')).statusCode, 200);
    });
  });
}
