import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import { FAST_KDF, PASSWORD, secureApp, type SecureApp } from './helpers.js';
import { insertUser, updateUser } from '../../src/store/security-store.js';
import { hashPassword } from '../../src/security/password.js';
import { newTotpSecret, totpCode } from '../../src/security/totp.js';
import { flushAudit } from '../../src/server/security-plugin.js';

for (const backend of backends()) {
  describe(`authentication and authorisation (${backend.name})`, () => {
    let s: SecureApp;
    before(async () => {
      s = await secureApp(backend, { maxLoginFailures: 3, lockoutSeconds: 60 });
    });
    after(async () => s.close());

    it('answers 401 without a token and lets the capability statement through', async () => {
      assert.equal((await s.app.inject({ method: 'GET', url: '/fhir/Patient' })).statusCode, 401);
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/me' })).statusCode, 401);
      const bad = await s.app.inject({ method: 'GET', url: '/fhir/Patient', headers: { authorization: 'Bearer not.a.token' } });
      assert.equal(bad.statusCode, 401);
      assert.match(String(bad.headers['www-authenticate']), /Bearer/);
      assert.equal((await s.app.inject({ method: 'GET', url: '/fhir/metadata' })).statusCode, 200);
    });

    it('signs in, shows who I am, and refuses a wrong password without saying which part was wrong', async () => {
      const me = await s.app.inject({ method: 'GET', url: '/api/me', headers: s.as('coder') });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().username, 'coder-user');
      assert.ok(me.json().permissions.includes('coding.write'));
      const wrong = await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'coder-user', password: 'nope' } });
      const unknown = await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'nobody', password: 'nope' } });
      assert.equal(wrong.statusCode, 401);
      assert.equal(unknown.statusCode, 401);
      assert.equal(wrong.json().issue[0].diagnostics, unknown.json().issue[0].diagnostics);
      assert.ok(!wrong.body.includes('scrypt'));
    });

    it('locks an account after repeated failures, even for the right password', async () => {
      await insertUser(s.db, { username: 'locky', roles: ['coder'], passwordHash: await hashPassword(PASSWORD, FAST_KDF) });
      for (let i = 0; i < 3; i++) {
        assert.equal((await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'locky', password: 'wrong' } })).statusCode, 401);
      }
      const locked = await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'locky', password: PASSWORD } });
      assert.equal(locked.statusCode, 401);
      assert.match(locked.body, /locked/);
    });

    it('a coder cannot manage users or read the audit trail; an admin can manage users', async () => {
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/users', headers: s.as('coder') })).statusCode, 403);
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/audit', headers: s.as('coder') })).statusCode, 403);
      const list = await s.app.inject({ method: 'GET', url: '/api/users', headers: s.as('admin') });
      assert.equal(list.statusCode, 200);
      assert.ok(list.json().users.some((u: { username: string }) => u.username === 'coder-user'));
      assert.ok(!list.body.includes('scrypt'), 'no password hashes in the user list');
      const created = await s.app.inject({ method: 'POST', url: '/api/users', headers: s.as('admin'), payload: { username: 'newbie', password: 'a long enough password', roles: ['coder'] } });
      assert.equal(created.statusCode, 201);
      assert.equal((await s.app.inject({ method: 'POST', url: '/api/users', headers: s.as('admin'), payload: { username: 'x2', password: 'short', roles: ['coder'] } })).statusCode, 400);
    });

    it('a privacy officer reads the audit trail but cannot change clinical data', async () => {
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/audit', headers: s.as('privacy-officer') })).statusCode, 200);
      const write = await s.app.inject({ method: 'POST', url: '/fhir/Observation', headers: s.as('privacy-officer'), payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } });
      assert.equal(write.statusCode, 403);
      const prov = await s.app.inject({ method: 'POST', url: '/fhir/Observation', headers: s.as('provider'), payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } });
      assert.equal(prov.statusCode, 201);
    });

    it('nobody writes AuditEvents through the FHIR API, and transactions are checked entry by entry', async () => {
      const ae = await s.app.inject({ method: 'POST', url: '/fhir/AuditEvent', headers: s.as('admin'), payload: { resourceType: 'AuditEvent' } });
      assert.equal(ae.statusCode, 403);
      const tx = {
        resourceType: 'Bundle', type: 'transaction',
        entry: [{ resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' } }, request: { method: 'POST', url: 'Observation' } }],
      };
      assert.equal((await s.app.inject({ method: 'POST', url: '/fhir', headers: s.as('billing'), payload: tx })).statusCode, 403);
      assert.equal((await s.app.inject({ method: 'POST', url: '/fhir', headers: s.as('integration'), payload: tx })).statusCode, 200);
    });

    it('refreshes, logs out (the token stops working), and logs off after inactivity', async () => {
      const res = await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'auditor-user', password: PASSWORD } });
      const { access_token, refresh_token } = res.json();
      const r2 = await s.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token } });
      assert.equal(r2.statusCode, 200);
      assert.equal((await s.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token } })).statusCode, 401, 'a refresh token is used once');
      const fresh = r2.json().access_token as string;
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${fresh}` } })).statusCode, 200);
      assert.equal((await s.app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${access_token}` } })).statusCode, 204);
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${fresh}` } })).statusCode, 401);
      // inactivity: a session last seen an hour ago is logged off
      const res3 = await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'coder-user', password: PASSWORD } });
      await s.db.query(`UPDATE auth_session SET last_seen = now() - interval '1 hour' WHERE refresh_hash IS NOT NULL AND user_id = (SELECT id FROM app_user WHERE username = 'coder-user')`);
      assert.equal((await s.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: res3.json().refresh_token } })).statusCode, 401);
    });

    it('a disabled user cannot sign in and loses open sessions', async () => {
      const token = await s.login('billing-user');
      await updateUser(s.db, 'billing-user', { disabled: true });
      await new Promise((r) => setTimeout(r, 2100)); // session checks are cached for 2 s
      assert.equal((await s.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 401);
      assert.equal((await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'billing-user', password: PASSWORD } })).statusCode, 401);
    });

    it('asks for a TOTP code when the account has one', async () => {
      const secret = newTotpSecret();
      await insertUser(s.db, { username: 'twofactor', roles: ['coder'], passwordHash: await hashPassword(PASSWORD, FAST_KDF) });
      await updateUser(s.db, 'twofactor', { totpSecret: secret });
      const noCode = await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'twofactor', password: PASSWORD } });
      assert.equal(noCode.statusCode, 401);
      assert.match(noCode.body, /one-time code/);
      const ok = await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'twofactor', password: PASSWORD, totp: totpCode(secret) } });
      assert.equal(ok.statusCode, 200);
    });

    it('client credentials give a system client a token limited by its SMART scopes', async () => {
      await insertUser(s.db, { username: 'lab-feed', roles: ['integration'], passwordHash: await hashPassword(PASSWORD, FAST_KDF), isClient: true });
      const res = await s.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'client_credentials', client_id: 'lab-feed', client_secret: PASSWORD, scope: 'system/Observation.cruds' } });
      assert.equal(res.statusCode, 200);
      const h = { authorization: `Bearer ${res.json().access_token}` };
      assert.equal((await s.app.inject({ method: 'POST', url: '/fhir/Observation', headers: h, payload: { resourceType: 'Observation', status: 'final', code: { text: 'x' } } })).statusCode, 201);
      assert.equal((await s.app.inject({ method: 'GET', url: '/fhir/Patient', headers: h })).statusCode, 403);
      assert.equal((await s.app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'lab-feed', password: PASSWORD } })).statusCode, 401, 'clients do not sign in interactively');
    });

    it('sends security headers and no CORS grant to unknown origins', async () => {
      const res = await s.app.inject({ method: 'GET', url: '/fhir/metadata', headers: { origin: 'https://evil.example' } });
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    });

    it('records logins, failures and reads in the audit trail', async () => {
      await s.app.inject({ method: 'GET', url: '/fhir/Observation', headers: s.as('provider') });
      await flushAudit(s.app);
      const res = await s.app.inject({ method: 'GET', url: '/api/audit?user=provider-user&sort=-recorded', headers: s.as('auditor') });
      const events = res.json().entry.map((e: { resource: { subtype: { code: string }[]; outcome: string } }) => e.resource);
      assert.ok(events.some((e: { subtype: { code: string }[] }) => e.subtype[0]?.code === 'search'));
      assert.ok(events.some((e: { subtype: { code: string }[] }) => e.subtype[0]?.code === '110122'), 'the login is recorded');
      const fails = await s.app.inject({ method: 'GET', url: '/api/audit?user=coder-user', headers: s.as('auditor') });
      assert.ok(fails.json().entry.some((e: { resource: { outcome: string } }) => e.resource.outcome === '4'), 'the failed login is recorded');
    });
  });
}
