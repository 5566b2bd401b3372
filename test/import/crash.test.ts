/**
 * Crash safety: SIGKILL the import process mid-way. The database then holds only complete bundles,
 * and running the import again completes the rest.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { demoBundleFiles, readJsonFile, ROOT } from '../helpers/fixtures.js';
import { openStore } from '../../src/store/open.js';
import { openPg } from '../../src/store/pg-adapter.js';
import type { Db } from '../../src/store/db.js';

interface Target {
  name: string;
  env: Record<string, string>;
  args: string[];
  open(): Promise<Db>;
  cleanup(): Promise<void>;
}

function targets(): Target[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'custodian-crash-'));
  const list: Target[] = [{
    name: 'pglite',
    env: { DATABASE_URL: '' },
    args: ['--data', dir],
    open: () => openStore({ dataDir: dir }),
    cleanup: async () => undefined,
  }];
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const schema = `crash_${randomBytes(5).toString('hex')}`;
    const u = new URL(url);
    u.searchParams.set('options', `-c search_path=${schema}`);
    list.push({
      name: 'postgres',
      env: { DATABASE_URL: u.toString() },
      args: [],
      open: async () => {
        const admin = await openPg(url, { max: 1 });
        await admin.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await admin.close();
        return openStore({ databaseUrl: u.toString() });
      },
      cleanup: async () => {
        const admin = await openPg(url, { max: 1 });
        await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.close();
      },
    });
  }
  return list;
}

function runImport(t: Target, files: string[], killAfterCommits?: number, extra: string[] = []): Promise<{ code: number | null; signal: string | null; committed: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/custodian.js'), 'import', '--verbose', ...extra, ...t.args, ...files], {
      env: { ...process.env, ...t.env }, cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let committed = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      committed += (chunk.match(/^committed /gm) ?? []).length;
      if (killAfterCommits !== undefined && committed >= killAfterCommits) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => resolve({ code, signal, committed }));
  });
}

for (const t of targets()) {
  describe(`crash safety (${t.name})`, () => {
    it('holds only complete bundles after SIGKILL, and a re-run completes the rest; search indexes set aside come back', async () => {
      const files = demoBundleFiles().slice(0, 6);
      const bundles = files.map((f) => readJsonFile<{ entry: { resource: { resourceType: string; id: string } }[] }>(f));
      if (t.name === 'postgres') await (await t.open()).close(); // creates the schema
      // killed with the search indexes set aside for the load: the next open builds them again
      const killed = await runImport(t, files, 2, ['--defer-indexes', 'always']);
      assert.equal(killed.signal, 'SIGKILL');
      assert.ok(killed.committed >= 2 && killed.committed < files.length, `killed after ${killed.committed} commits`);

      const db = await t.open();
      try {
        const present = new Set((await db.query<{ k: string }>(`SELECT resource_type || '/' || id AS k FROM resource`)).rows.map((r) => r.k));
        let complete = 0;
        for (const b of bundles) {
          // shared Organizations/Practitioners may come from another bundle: judge each bundle by its own patient data
          const own = b.entry.map((e) => e.resource).filter((r) => !['Organization', 'Practitioner'].includes(r.resourceType)).map((r) => `${r.resourceType}/${r.id}`);
          const n = own.filter((k) => present.has(k)).length;
          assert.ok(n === 0 || n === own.length, `bundle half-written: ${n} of ${own.length}`);
          if (n === own.length) complete++;
        }
        assert.ok(complete >= 2, `at least the ${killed.committed} committed bundles are complete (found ${complete})`);
        assert.deepEqual((await db.query('SELECT name FROM search_index_deferred')).rows, []);
        const indexes = (await db.query<{ n: string }>(`SELECT indexname AS n FROM pg_indexes WHERE schemaname = current_schema() AND tablename LIKE 'sp\\_%'`)).rows.map((r) => r.n);
        for (const name of ['sp_token_value', 'sp_string_norm', 'sp_date_span', 'sp_reference_target', 'sp_quantity_value']) assert.ok(indexes.includes(name), `${name} is back (${indexes.join(', ')})`);
      } finally {
        await db.close();
      }

      const rerun = await runImport(t, files);
      assert.equal(rerun.code, 0);
      const db2 = await t.open();
      try {
        const n = await db2.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource WHERE resource_type = 'Patient'`);
        assert.equal(Number(n.rows[0]?.n), files.length);
        const ids = new Set(bundles.flatMap((b) => b.entry.map((e) => `${e.resource.resourceType}/${e.resource.id}`)));
        const total = await db2.query<{ n: number }>('SELECT count(*)::int AS n FROM resource');
        assert.equal(Number(total.rows[0]?.n), ids.size);
      } finally {
        await db2.close();
        await t.cleanup();
      }
    });
  });
}
