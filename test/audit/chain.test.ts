import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backends } from '../helpers/db.js';
import { buildAuditEvent } from '../../src/audit/balp.js';
import { GENESIS_HASH, canonicalJson, chainHash, auditColumns } from '../../src/audit/chain.js';
import { auditInTransaction, queryAudit, verifyAuditChain } from '../../src/store/audit-store.js';
import { openStore } from '../../src/store/open.js';
import { listMigrations, migrate } from '../../src/store/migrate.js';
import { createPGlite, wrapPGlite } from '../../src/store/pglite-adapter.js';
import type { Db } from '../../src/store/db.js';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

async function appendSome(db: Db, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await db.transaction((tx) =>
      auditInTransaction(tx, buildAuditEvent({ kind: { type: 'rest', interaction: 'read' }, success: true, user: { username: `u${i % 3}` }, patientIds: [`p${i}`], references: [`Observation/o${i}`] })),
    );
  }
}

describe('canonical JSON', () => {
  it('does not depend on key order', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'z' } }), canonicalJson({ a: { c: 'z', d: [1, { x: 1, y: 2 }] }, b: 1 }));
  });

  it('is pinned: rows already written keep their hashes', () => {
    const v = { resourceType: 'AuditEvent', b: [1, 'x', null, undefined, { z: true, a: 1.5, u: undefined }], a: { 'é': 'ü"\n', A: -0, e: 1e21 }, t: 'line\u2028' };
    assert.equal(canonicalJson(v), '{"a":{"A":0,"e":1e+21,"é":"ü\\"\\n"},"b":[1,"x",null,null,{"a":1.5,"z":true}],"resourceType":"AuditEvent","t":"line\u2028"}');
    assert.equal(chainHash(GENESIS_HASH, 7, v), '6826da3fe2fd374cdae49ac6e176f3670f64d91237968b425f5c5e6c45892458');
  });
});

for (const backend of backends()) {
  describe(`audit trail (${backend.name})`, () => {
    it('chains events and verifies an untouched chain', async () => {
      const db = await backend.open();
      try {
        await appendSome(db, 5);
        const r = await verifyAuditChain(db);
        assert.equal(r.ok, true);
        assert.equal(r.checked, 5);
        const report = await queryAudit(db, { patient: 'p2' });
        assert.equal(report.total, 1);
        assert.equal(report.events[0]?.entity?.some((e) => e.what?.reference === 'Observation/o2'), true);
      } finally {
        await db.close();
      }
    });

    it('refuses UPDATE, DELETE and TRUNCATE of audit rows from the application', async () => {
      const db = await backend.open();
      try {
        await appendSome(db, 2);
        await assert.rejects(db.query(`UPDATE audit_event SET user_name = 'someone-else' WHERE seq = 1`), /append-only/);
        await assert.rejects(db.query('DELETE FROM audit_event WHERE seq = 2'), /append-only/);
        await assert.rejects(db.query('TRUNCATE audit_event'), /append-only/);
        assert.equal((await verifyAuditChain(db)).ok, true);
      } finally {
        await db.close();
      }
    });

    it('an audit record written in a transaction that rolls back leaves no trace', async () => {
      const db = await backend.open();
      try {
        await assert.rejects(
          db.transaction(async (tx) => {
            await auditInTransaction(tx, buildAuditEvent({ kind: { type: 'rest', interaction: 'create' }, success: true, user: { username: 'x' } }));
            throw new Error('the write failed');
          }),
        );
        await appendSome(db, 1);
        const r = await verifyAuditChain(db);
        assert.deepEqual([r.ok, r.checked], [true, 1]);
      } finally {
        await db.close();
      }
    });

    it('detects a row altered or deleted by a superuser who disabled the trigger, and names it', async () => {
      const db = await backend.open();
      try {
        await appendSome(db, 6);
        await db.exec('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update');
        await db.query(`UPDATE audit_event SET content = jsonb_set(content, '{outcome}', '"4"') WHERE seq = 3`);
        let r = await verifyAuditChain(db);
        assert.equal(r.ok, false);
        assert.equal(r.brokenAt?.seq, 3);
        assert.match(r.brokenAt?.reason ?? '', /altered/);
        // put it back, then delete a row instead
        await db.query(`UPDATE audit_event SET content = jsonb_set(content, '{outcome}', '"0"') WHERE seq = 3`);
        assert.equal((await verifyAuditChain(db)).ok, true);
        await db.query('DELETE FROM audit_event WHERE seq = 5');
        r = await verifyAuditChain(db);
        assert.equal(r.brokenAt?.seq, 6);
        assert.match(r.brokenAt?.reason ?? '', /deleted/);
        // a report column changed without touching the content is caught too
        await db.query(`UPDATE audit_event SET user_name = 'nobody' WHERE seq = 2`);
        assert.equal((await verifyAuditChain(db)).brokenAt?.seq, 2);
        await db.exec('ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update');
      } finally {
        await db.close();
      }
    });

    it('detects the newest rows of a chain deleted by a superuser, and names the first of them', async () => {
      const db = await backend.open();
      try {
        await appendSome(db, 4);
        const last = Number((await db.query<{ seq: number }>('SELECT max(seq)::int AS seq FROM audit_event')).rows[0]?.seq);
        await db.exec('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update');
        await db.query('DELETE FROM audit_event WHERE seq = $1', [last]);
        await db.exec('ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update');
        const r = await verifyAuditChain(db);
        assert.equal(r.ok, false);
        assert.equal(r.brokenAt?.seq, last);
        assert.match(r.brokenAt?.reason ?? '', /deleted from the end/);
        assert.equal(r.checked, 3);
      } finally {
        await db.close();
      }
    });

    it('refuses moving a chain head back or deleting it from the application', async () => {
      const db = await backend.open();
      try {
        await appendSome(db, 2);
        await assert.rejects(db.query('UPDATE audit_chain SET seq = seq - 1 WHERE chain = 0'), /only move forward/);
        await assert.rejects(db.query('DELETE FROM audit_chain WHERE chain = 0'), /only move forward/);
        await assert.rejects(db.query('TRUNCATE audit_chain'), /only move forward/);
        assert.equal((await verifyAuditChain(db)).ok, true);
      } finally {
        await db.close();
      }
    });

    it('concurrent appends spread over several chains; every chain verifies, and a row deleted in any of them is named', async () => {
      const db = await backend.open();
      try {
        // 24 transactions at once, each holding its chain for a moment, as audited writes do until commit
        await Promise.all(Array.from({ length: 24 }, (_, i) => db.transaction(async (tx) => {
          await auditInTransaction(tx, buildAuditEvent({ kind: { type: 'rest', interaction: 'create' }, success: true, user: { username: `w${i}` }, patientIds: [`p${i}`] }));
          await tx.query('SELECT pg_sleep(0.02)');
          await auditInTransaction(tx, buildAuditEvent({ kind: { type: 'rest', interaction: 'read' }, success: true, user: { username: `w${i}` }, patientIds: [`p${i}`] }));
        })));
        const r = await verifyAuditChain(db);
        assert.deepEqual([r.ok, r.checked], [true, 48]);
        const chains = (await db.query<{ chain: number; n: number }>('SELECT chain, count(*)::int AS n FROM audit_event GROUP BY chain ORDER BY chain')).rows;
        // the two events of one transaction are consecutive links of one chain
        const pairs = (await db.query<{ n: number }>(`SELECT count(DISTINCT chain)::int AS n FROM audit_event GROUP BY user_name`)).rows;
        assert.ok(pairs.every((p) => Number(p.n) === 1), 'one transaction, one chain');
        if (backend.name === 'postgres') assert.ok(chains.length > 1, `several chains in use: ${JSON.stringify(chains)}`);
        // delete the middle row of the busiest chain
        const busiest = chains.reduce((a, b) => (Number(b.n) > Number(a.n) ? b : a));
        const rows = (await db.query<{ seq: number }>('SELECT seq::int AS seq FROM audit_event WHERE chain = $1 ORDER BY seq', [busiest.chain])).rows.map((x) => Number(x.seq));
        const victim = rows[Math.floor(rows.length / 2)] as number;
        const following = rows[rows.indexOf(victim) + 1];
        await db.exec('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update');
        await db.query('DELETE FROM audit_event WHERE seq = $1', [victim]);
        await db.exec('ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_update');
        const bad = await verifyAuditChain(db);
        assert.equal(bad.ok, false);
        assert.equal(bad.brokenAt?.chain, Number(busiest.chain));
        assert.equal(bad.brokenAt?.seq, following ?? victim);
        assert.match(bad.brokenAt?.reason ?? '', /deleted/);
      } finally {
        await db.close();
      }
    });
  });
}

describe('a trail written before the chains (migration 042)', () => {
  it('keeps verifying: the old linear chain is chain 0, and new events continue it', async () => {
    const p = await createPGlite();
    const db = wrapPGlite(p);
    try {
      await migrate(db, listMigrations().filter((m) => m.version <= 41));
      let prev = GENESIS_HASH;
      for (let seq = 1; seq <= 3; seq++) {
        const e = buildAuditEvent({ kind: { type: 'login' }, success: true, user: { username: `old${seq}` } });
        const c = auditColumns(e);
        const hash = chainHash(prev, seq, e);
        await db.query(
          'INSERT INTO audit_event (seq, recorded, user_name, patient_ids, action, type_code, outcome, content, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
          [seq, c.recorded, c.userName, c.patientIds, c.action, c.typeCode, c.outcome, e, prev, hash],
        );
        prev = hash;
      }
      await migrate(db);
      assert.equal((await verifyAuditChain(db)).ok, true);
      await appendSome(db, 2);
      const r = await verifyAuditChain(db);
      assert.deepEqual([r.ok, r.checked], [true, 5]);
      assert.deepEqual((await db.query<{ seq: number }>('SELECT seq::int AS seq FROM audit_event ORDER BY seq')).rows.map((x) => Number(x.seq)), [1, 2, 3, 4, 5]);
    } finally {
      await db.close();
    }
  });
});

describe('custodian audit verify (CLI)', () => {
  it('exits 0 on an intact chain and non-zero naming the altered row', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custodian-audit-'));
    try {
      const db = await openStore({ dataDir: dir });
      await appendSome(db, 4);
      await db.close();
      const run = () => spawnSync(process.execPath, [path.join(ROOT, 'bin/custodian.js'), 'audit', 'verify', '--data', dir], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: '' } });
      const ok = run();
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, /4 events verified/);
      const db2 = await openStore({ dataDir: dir });
      await db2.exec('ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update');
      await db2.query(`UPDATE audit_event SET content = jsonb_set(content, '{recorded}', '"2020-01-01T00:00:00.000Z"'), recorded = '2020-01-01T00:00:00Z' WHERE seq = 2`);
      await db2.close();
      const bad = run();
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /BROKEN at row seq=2/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
