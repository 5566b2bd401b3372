import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import { testApp } from '../helpers/app.js';

for (const backend of backends()) {
  describe(`quality API (${backend.name})`, () => {
    it('starts a check run as a job, reports its results, and lists runs', async () => {
      const t = await testApp(backend);
      try {
        await t.app.inject({ method: 'PUT', url: '/fhir/Patient/p1', headers: { 'content-type': 'application/fhir+json' }, payload: { resourceType: 'Patient', id: 'p1', birthDate: '2999-01-01' } });
        const start = await t.app.inject({ method: 'POST', url: '/api/checks/runs', payload: { checks: ['patient-birthdate-future', 'patient-gender'] } });
        assert.equal(start.statusCode, 202);
        const id = start.json().id as string;
        let body = {} as { run: { status: string }; results: { checkId: string; status: string; ids: string[] }[] };
        for (let i = 0; i < 100; i++) {
          body = (await t.app.inject({ method: 'GET', url: `/api/checks/runs/${id}` })).json();
          if (body.run.status !== 'running') break;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(body.run.status, 'completed');
        const future = body.results.find((r) => r.checkId === 'patient-birthdate-future')!;
        assert.deepEqual([future.status, future.ids], ['failed', ['p1']]);
        assert.equal((await t.app.inject({ method: 'GET', url: '/api/checks/runs' })).json().runs.length, 1);
        assert.equal((await t.app.inject({ method: 'POST', url: '/api/checks/runs', payload: { checks: ['nope'] } })).statusCode, 400);
        const del = (await t.app.inject({ method: 'GET', url: '/api/deficiencies/delinquency' })).json();
        assert.equal(del.report.delinquentRecords, 0);
      } finally {
        await t.close();
      }
    });
  });
}
