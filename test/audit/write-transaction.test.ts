/** A write and its audit record commit in one transaction: both or neither. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import { secureApp, type SecureApp } from '../security/helpers.js';
import { flushAudit } from '../../src/server/security-plugin.js';

for (const backend of backends()) {
  describe(`audit of writes in the write's transaction (${backend.name})`, () => {
    let s: SecureApp;
    before(async () => {
      s = await secureApp(backend);
    });
    after(async () => s.close());

    const events = async (): Promise<{ action: string; outcome: string; content: string }[]> => {
      await flushAudit(s.app);
      return (await s.db.query<{ action: string; outcome: string; content: string }>(`SELECT action, outcome, content::text AS content FROM audit_event ORDER BY seq`)).rows;
    };

    it('records one create event naming the resource and its patient, committed with the write', async () => {
      const before = (await events()).length;
      const res = await s.app.inject({
        method: 'POST', url: '/fhir/Observation', headers: { ...s.as('provider'), 'content-type': 'application/fhir+json' },
        payload: JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'pulse' }, subject: { reference: 'Patient/pt-audit' } }),
      });
      assert.equal(res.statusCode, 201, res.body);
      const id = (res.headers.location as string).split('/').slice(-3)[0];
      const after = await events();
      const added = after.slice(before);
      const writes = added.filter((e) => e.content.includes(`Observation/${id}`));
      assert.equal(writes.length, 1, JSON.stringify(added.map((e) => e.action)));
      assert.equal(writes[0]?.action, 'C');
      assert.match(writes[0]?.content ?? '', /Patient\/pt-audit/);
    });

    it('when the audit record cannot be written, the write does not happen either', async () => {
      await s.db.exec(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$;
        CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION refuse_audit();`);
      try {
        const res = await s.app.inject({
          method: 'PUT', url: '/fhir/Patient/unaudited', headers: { ...s.as('him-technician'), 'content-type': 'application/fhir+json' },
          payload: JSON.stringify({ resourceType: 'Patient', id: 'unaudited' }),
        });
        assert.equal(res.statusCode, 500);
        assert.equal(res.json().resourceType, 'OperationOutcome');
      } finally {
        await s.db.exec('DROP TRIGGER refuse_audit ON audit_event; DROP FUNCTION refuse_audit();');
      }
      const r = await s.db.query(`SELECT 1 FROM resource WHERE resource_type = 'Patient' AND id = 'unaudited'`);
      assert.equal(r.rows.length, 0, 'the unaudited write was rolled back');
    });

    it('a transaction that fails leaves no success event, and its failure is still audited', async () => {
      const before = (await events()).length;
      const res = await s.app.inject({
        method: 'POST', url: '/fhir', headers: { ...s.as('him-technician'), 'content-type': 'application/fhir+json' },
        payload: JSON.stringify({
          resourceType: 'Bundle', type: 'transaction',
          entry: [
            { resource: { resourceType: 'Patient', id: 'audit-tx', gender: 'female' }, request: { method: 'PUT', url: 'Patient/audit-tx' } },
            { resource: { resourceType: 'Patient', id: 'audit-tx2' }, request: { method: 'PUT', url: 'Patient/audit-tx2' }, },
            { resource: { resourceType: 'Patient', id: 'audit-tx2', gender: 'female' }, request: { method: 'PUT', url: 'Patient/audit-tx2', ifMatch: 'W/"9"' } },
          ],
        }),
      });
      assert.equal(res.statusCode, 412, res.body);
      const added = (await events()).slice(before);
      assert.ok(!added.some((e) => e.outcome === '0' && e.content.includes('Patient/audit-tx')), 'no success event for the rolled-back write');
      assert.ok(added.some((e) => e.outcome !== '0'), 'the failed attempt is audited');
    });
  });
}
