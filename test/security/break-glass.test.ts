import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import { FAST_KDF, PASSWORD, secureApp, type SecureApp } from './helpers.js';
import { hashPassword } from '../../src/security/password.js';
import { insertUser } from '../../src/store/security-store.js';
import { flushAudit } from '../../src/server/security-plugin.js';
import { canSee } from '../../src/security/labels.js';
import type { Resource } from '@medplum/fhirtypes';

const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const ACT = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

type B = { entry?: { resource: { resourceType: string; id: string } }[]; total?: number };
const ids = (b: B): string[] => (b.entry ?? []).map((e) => `${e.resource.resourceType}/${e.resource.id}`).sort();

describe('canSee', () => {
  const viewer = { permissions: new Set<string>(), breakGlassPatients: new Set<string>() };
  it('hides a labelled resource and one in a restricted patient’s compartment, opens both by break-the-glass', () => {
    const psy = { resourceType: 'Observation', id: 'o', meta: { security: [{ system: ACT, code: 'PSY' }] } } as Resource;
    const plain = { resourceType: 'Observation', id: 'o2' } as Resource;
    assert.equal(canSee(viewer, psy, { patientIds: ['p'], patientLabels: new Map() }), false);
    assert.equal(canSee({ ...viewer, permissions: new Set(['sensitive.PSY']) }, psy, { patientIds: ['p'], patientLabels: new Map() }), true);
    assert.equal(canSee(viewer, plain, { patientIds: ['r'], patientLabels: new Map([['r', ['R']]]) }), false);
    assert.equal(canSee({ ...viewer, breakGlassPatients: new Set(['r']) }, plain, { patientIds: ['r'], patientLabels: new Map([['r', ['R']]]) }), true);
    assert.equal(canSee(viewer, { resourceType: 'Observation', id: 'x', meta: { security: [{ system: CONF, code: 'N' }] } } as Resource, { patientIds: [], patientLabels: new Map() }), true);
  });
});

for (const backend of backends()) {
  describe(`sensitive records and break-the-glass (${backend.name})`, () => {
    let s: SecureApp;
    let other: string;
    before(async () => {
      s = await secureApp(backend);
      const h = s.as('integration');
      const put = async (r: Record<string, unknown>): Promise<void> => {
        const res = await s.app.inject({ method: 'PUT', url: `/fhir/${r.resourceType}/${r.id}`, headers: h, payload: r });
        assert.ok(res.statusCode < 300, res.body);
      };
      await put({ resourceType: 'Patient', id: 'restricted', meta: { security: [{ system: CONF, code: 'R' }] }, name: [{ family: 'Hidden' }] });
      await put({ resourceType: 'Patient', id: 'ordinary', name: [{ family: 'Plain' }] });
      await put({ resourceType: 'Observation', id: 'r-obs', status: 'final', code: { text: 'bp' }, subject: { reference: 'Patient/restricted' } });
      await put({ resourceType: 'Observation', id: 'o-obs', status: 'final', code: { text: 'bp' }, subject: { reference: 'Patient/ordinary' } });
      await put({ resourceType: 'Observation', id: 'o-psy', status: 'final', code: { text: 'phq9' }, subject: { reference: 'Patient/ordinary' }, meta: { security: [{ system: ACT, code: 'PSY' }] } });
      await insertUser(s.db, { username: 'provider-two', roles: ['provider'], passwordHash: await hashPassword(PASSWORD, FAST_KDF) });
      other = await s.login('provider-two');
    });
    after(async () => s.close());

    it('hides restricted and labelled records from searches and reads', async () => {
      const obs = await s.app.inject({ method: 'GET', url: '/fhir/Observation', headers: s.as('provider') });
      assert.deepEqual(ids(obs.json()), ['Observation/o-obs']);
      assert.equal(obs.json().total, 1, 'the total does not give the hidden records away');
      const pats = await s.app.inject({ method: 'GET', url: '/fhir/Patient', headers: s.as('provider') });
      assert.deepEqual(ids(pats.json()), ['Patient/ordinary']);
      const read = await s.app.inject({ method: 'GET', url: '/fhir/Patient/restricted', headers: s.as('provider') });
      assert.equal(read.statusCode, 403);
      assert.match(read.body, /break-the-glass/);
      assert.equal((await s.app.inject({ method: 'GET', url: '/fhir/Observation/r-obs', headers: s.as('provider') })).statusCode, 403);
      const comp = await s.app.inject({ method: 'GET', url: '/fhir/Patient/restricted/Observation', headers: s.as('provider') });
      if (comp.statusCode === 200) assert.deepEqual(ids(comp.json()), []);
      const hist = await s.app.inject({ method: 'GET', url: '/fhir/Observation/r-obs/_history', headers: s.as('provider') });
      assert.deepEqual(ids(hist.json()), []);
    });

    it('refuses break-the-glass without a reason, and for roles without the permission', async () => {
      assert.equal((await s.app.inject({ method: 'POST', url: '/api/break-the-glass', headers: s.as('provider'), payload: { patient: 'restricted' } })).statusCode, 400);
      assert.equal((await s.app.inject({ method: 'POST', url: '/api/break-the-glass', headers: s.as('billing'), payload: { patient: 'restricted', reason: 'curious about this one' } })).statusCode, 403);
    });

    it('opens one patient for the user who broke the glass, audits the reason and raises a review task', async () => {
      const reason = 'Patient unconscious in the ED; medication history needed';
      const res = await s.app.inject({ method: 'POST', url: '/api/break-the-glass', headers: s.as('provider'), payload: { patient: 'restricted', reason } });
      assert.equal(res.statusCode, 201, res.body);
      assert.ok(Date.parse(res.json().expiresAt) > Date.now());

      const obs = await s.app.inject({ method: 'GET', url: '/fhir/Observation', headers: s.as('provider') });
      assert.deepEqual(ids(obs.json()), ['Observation/o-obs', 'Observation/r-obs'], 'the restricted patient is open; the PSY record of another patient stays hidden');
      assert.equal((await s.app.inject({ method: 'GET', url: '/fhir/Patient/restricted', headers: s.as('provider') })).statusCode, 200);
      const stillHidden = await s.app.inject({ method: 'GET', url: '/fhir/Observation', headers: { authorization: `Bearer ${other}` } });
      assert.deepEqual(ids(stillHidden.json()), ['Observation/o-obs'], 'another provider still does not see it');

      const tasks = await s.app.inject({ method: 'GET', url: '/fhir/Task?code=http://custodian.dev/fhir/CodeSystem/work-type|break-the-glass-review', headers: s.as('privacy-officer') });
      const task = tasks.json().entry?.[0]?.resource;
      assert.ok(task, tasks.body);
      assert.equal(task.for.reference, 'Patient/restricted');
      assert.equal(task.owner.identifier.value, 'privacy-officer');
      assert.match(task.description, /unconscious/);

      await flushAudit(s.app);
      const audit = await s.app.inject({ method: 'GET', url: '/api/audit?patient=restricted&type=break-the-glass', headers: s.as('privacy-officer') });
      const ev = audit.json().entry?.[0]?.resource;
      assert.ok(ev, audit.body);
      assert.match(ev.outcomeDesc, /unconscious/);
      assert.equal(ev.agent[0].who.identifier.value, 'provider-user');
      assert.equal(ev.agent[0].purposeOfUse[0].coding[0].code, 'ETREAT');

      // the search after break-the-glass is audited with the ids it returned
      const searches = await s.app.inject({ method: 'GET', url: '/api/audit?patient=restricted&type=search&user=provider-user', headers: s.as('privacy-officer') });
      const refs = searches.json().entry.flatMap((e: { resource: { entity?: { what?: { reference?: string } }[] } }) => (e.resource.entity ?? []).map((x) => x.what?.reference));
      assert.ok(refs.includes('Observation/r-obs'));
    });
  });
}
