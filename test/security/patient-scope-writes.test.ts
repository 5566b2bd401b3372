/** A SMART patient/ token (launch patient) writes only inside its patient's compartment, as it reads only there. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { PASSWORD, secureApp, type SecureApp } from './helpers.js';
import { flushAudit } from '../../src/server/security-plugin.js';

const FHIR = { 'content-type': 'application/fhir+json' };

const obs = (patient: string, text = 'pulse', id?: string): Resource =>
  ({ resourceType: 'Observation', ...(id ? { id } : {}), status: 'final', code: { text }, subject: { reference: `Patient/${patient}` } }) as Resource;

for (const backend of backends()) {
  describe(`patient/ scopes limit writes to the patient's compartment (${backend.name})`, () => {
    let s: SecureApp;
    let mine: { authorization: string }; // provider, patient/*.read patient/*.write, patient pa
    let adminMine: { authorization: string }; // HIM technician, patient/*.*, patient pa
    let userScoped: { authorization: string }; // provider, user/*.write user/*.read

    const token = async (username: string, scope: string, patient?: string): Promise<{ authorization: string }> => {
      const res = await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username, password: PASSWORD, scope, ...(patient ? { patient } : {}) } });
      assert.equal(res.statusCode, 200, res.body);
      return { authorization: `Bearer ${(res.json() as { access_token: string }).access_token}` };
    };
    const put = (headers: { authorization: string }, r: Resource) =>
      s.app.inject({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, headers: { ...headers, ...FHIR }, payload: JSON.stringify(r) });
    const post = (headers: { authorization: string }, r: Resource, extra: Record<string, string> = {}) =>
      s.app.inject({ method: 'POST', url: `/fhir/${r.resourceType}`, headers: { ...headers, ...FHIR, ...extra }, payload: JSON.stringify(r) });
    const stored = async (type: string, id: string): Promise<Resource & { meta: { versionId: string } }> => {
      const res = await s.app.inject({ method: 'GET', url: `/fhir/${type}/${id}`, headers: s.as('him-manager') });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    const countFor = async (patient: string): Promise<number> => {
      const res = await s.app.inject({ method: 'GET', url: `/fhir/Observation?subject=Patient/${patient}&_total=accurate`, headers: s.as('him-manager') });
      return (res.json() as { total: number }).total;
    };

    before(async () => {
      s = await secureApp(backend);
      for (const id of ['pa', 'pb']) assert.equal((await put(s.as('him-technician'), { resourceType: 'Patient', id } as Resource)).statusCode, 201);
      assert.equal((await put(s.as('provider'), obs('pa', 'pulse', 'oa'))).statusCode, 201);
      assert.equal((await put(s.as('provider'), obs('pb', 'pulse', 'ob'))).statusCode, 201);
      mine = await token('provider-user', 'patient/*.read patient/*.write', 'pa');
      adminMine = await token('him-technician-user', 'patient/*.*', 'pa');
      userScoped = await token('provider-user', 'user/*.read user/*.write');
    });
    after(async () => s.close());

    it('creates, updates and deletes inside the compartment', async () => {
      const created = await post(mine, obs('pa', 'temperature'));
      assert.equal(created.statusCode, 201, created.body);
      const id = (created.json() as Resource).id as string;
      const updated = await put(mine, { ...obs('pa', 'temperature, corrected'), id } as Resource);
      assert.equal(updated.statusCode, 200, updated.body);
      const deleted = await s.app.inject({ method: 'DELETE', url: `/fhir/Observation/${id}`, headers: mine });
      assert.equal(deleted.statusCode, 204, deleted.body);
      assert.equal((await put(adminMine, { resourceType: 'Patient', id: 'pa', gender: 'female' } as Resource)).statusCode, 200, 'its own Patient');
    });

    it('refuses to create a resource for another patient, and nothing is stored', async () => {
      const before = await countFor('pb');
      const res = await post(mine, obs('pb', 'glucose'));
      assert.equal(res.statusCode, 403, res.body);
      assert.match(res.body, /outside the compartment of Patient\/pa/);
      assert.equal(await countFor('pb'), before);
    });

    it('refuses to update or delete another patient\'s resource, and it stays as it was', async () => {
      assert.equal((await put(mine, { ...obs('pb', 'pulse, edited'), id: 'ob' } as Resource)).statusCode, 403);
      // moving it into the token's patient is writing to another patient's record too
      assert.equal((await put(mine, { ...obs('pa', 'pulse'), id: 'ob' } as Resource)).statusCode, 403);
      assert.equal((await s.app.inject({ method: 'DELETE', url: '/fhir/Observation/ob', headers: mine })).statusCode, 403);
      assert.equal((await s.app.inject({ method: 'DELETE', url: '/fhir/Observation?code:text=pulse&subject=Patient/pb', headers: mine })).statusCode, 403);
      const ob = await stored('Observation', 'ob');
      assert.equal(ob.meta.versionId, '1');
      assert.deepEqual((ob as { subject?: unknown }).subject, { reference: 'Patient/pb' });
    });

    it('refuses to move its own patient\'s resource to another patient', async () => {
      const res = await put(mine, { ...obs('pb'), id: 'oa' } as Resource);
      assert.equal(res.statusCode, 403, res.body);
      assert.deepEqual((await stored('Observation', 'oa') as { subject?: unknown }).subject, { reference: 'Patient/pa' });
    });

    it('refuses new patients and resources in no patient\'s compartment', async () => {
      assert.equal((await post(adminMine, { resourceType: 'Patient', name: [{ family: 'Otherpatient' }] } as Resource)).statusCode, 403);
      assert.equal((await post(adminMine, { resourceType: 'Organization', name: 'Scopeclinic' } as Resource)).statusCode, 403);
      for (const url of ['/fhir/Patient?family=Otherpatient', '/fhir/Organization?name=Scopeclinic']) {
        const found = await s.app.inject({ method: 'GET', url: `${url}&_total=accurate`, headers: s.as('him-manager') });
        assert.equal((found.json() as { total: number }).total, 0, `nothing stored: ${url}`);
      }
    });

    it('a conditional create that matches another patient\'s resource does not hand it over', async () => {
      const res = await post(mine, obs('pa'), { 'if-none-exist': '_id=ob' });
      assert.equal(res.statusCode, 403, res.body);
      assert.doesNotMatch(res.body, /Patient\/pb/);
    });

    it('a transaction with one entry outside the compartment is refused whole', async () => {
      const before = [await countFor('pa'), await countFor('pb')];
      const res = await s.app.inject({
        method: 'POST', url: '/fhir', headers: { ...mine, ...FHIR },
        payload: JSON.stringify({
          resourceType: 'Bundle', type: 'transaction',
          entry: [
            { resource: obs('pa', 'weight'), request: { method: 'POST', url: 'Observation' } },
            { resource: obs('pb', 'weight'), request: { method: 'POST', url: 'Observation' } },
          ],
        }),
      });
      assert.equal(res.statusCode, 403, res.body);
      assert.deepEqual([await countFor('pa'), await countFor('pb')], before);
    });

    it('the refusal is audited as a denied access', async () => {
      await post(mine, obs('pb', 'audited refusal'));
      await flushAudit(s.app);
      const rows = (await s.db.query<{ type_code: string; outcome: string }>(
        `SELECT type_code, outcome FROM audit_event WHERE user_name = 'provider-user' ORDER BY seq DESC LIMIT 1`,
      )).rows;
      assert.notEqual(rows[0]?.outcome, '0');
      assert.equal(rows[0]?.type_code, 'access-denied');
    });

    it('a user/ scoped token of the same user still writes for any patient', async () => {
      assert.equal((await post(userScoped, obs('pb', 'glucose'))).statusCode, 201);
    });
  });
}
