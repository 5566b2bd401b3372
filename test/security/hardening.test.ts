import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import { secureApp, type SecureApp } from './helpers.js';
import { flushAudit } from '../../src/server/security-plugin.js';

for (const backend of backends().filter((b) => b.name === 'pglite')) {
  describe('disclosures and hardening', () => {
    let s: SecureApp;
    before(async () => {
      s = await secureApp(backend, { apiPerMinute: 40, corsOrigins: ['https://app.example'] });
    });
    after(async () => s.close());

    it('records a disclosure outside TPO and reports it per patient; refuses TPO purposes', async () => {
      const d = { patient: 'p1', recipient: 'County health department', description: 'Immunization history', purpose: 'PUBHLTH', date: '2025-03-01T10:00:00Z' };
      assert.equal((await s.app.inject({ method: 'POST', url: '/api/disclosures', headers: s.as('him-technician'), payload: d })).statusCode, 201);
      assert.equal((await s.app.inject({ method: 'POST', url: '/api/disclosures', headers: s.as('him-technician'), payload: { ...d, purpose: 'TREAT' } })).statusCode, 400);
      const old = { ...d, date: '2015-01-01T00:00:00Z', recipient: 'Long ago' };
      assert.equal((await s.app.inject({ method: 'POST', url: '/api/disclosures', headers: s.as('him-technician'), payload: old })).statusCode, 201);
      const rep = await s.app.inject({ method: 'GET', url: '/api/disclosures?patient=p1', headers: s.as('privacy-officer') });
      assert.deepEqual(rep.json().disclosures.map((x: { recipient: string }) => x.recipient), ['County health department'], 'six-year window');
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/disclosures?patient=p1', headers: s.as('coder') })).statusCode, 403);
      await flushAudit(s.app);
      const audit = await s.app.inject({ method: 'GET', url: '/api/audit?patient=p1&type=disclosure', headers: s.as('auditor') });
      assert.equal(audit.json().total, 2);
    });

    it('grants CORS only to configured origins', async () => {
      const ok = await s.app.inject({ method: 'GET', url: '/fhir/metadata', headers: { origin: 'https://app.example' } });
      assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
    });

    it('answers errors without stack traces or SQL', async () => {
      const res = await s.app.inject({ method: 'GET', url: '/api/audit?from=not-a-date', headers: s.as('auditor') });
      assert.equal(res.statusCode, 400);
      assert.doesNotMatch(res.body, /at \w+ \(|SELECT|node_modules/);
    });

    it('rate-limits the API per client', async () => {
      let limited = 0;
      for (let i = 0; i < 45; i++) if ((await s.app.inject({ method: 'GET', url: '/api/me', headers: s.as('provider') })).statusCode === 429) limited++;
      assert.ok(limited > 0, 'some requests were throttled');
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/me', headers: s.as('coder') })).statusCode, 200, 'another client is not affected');
    });
  });
}
