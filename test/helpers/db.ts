/**
 * Test databases. `backends()` lists PGlite always and PostgreSQL when TEST_DATABASE_URL is set, so
 * one suite runs against both. Each `open()` gives a fresh, migrated, empty database: a clone of one
 * migrated PGlite template per process, or a new schema on the PostgreSQL server.
 */
import { randomBytes } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { openPg } from '../../src/store/pg-adapter.js';
import { createPGlite, wrapPGlite } from '../../src/store/pglite-adapter.js';

export interface Backend {
  name: 'pglite' | 'postgres';
  open(): Promise<Db>;
}

let template: Promise<PGlite> | undefined;

async function pgliteTemplate(): Promise<PGlite> {
  template ??= (async () => {
    const p = await createPGlite();
    await migrate(wrapPGlite(p));
    return p;
  })();
  return template;
}

export async function openPGliteTest(): Promise<Db> {
  const t = await pgliteTemplate();
  const clone = (await t.clone()) as PGlite;
  return wrapPGlite(clone);
}

export async function openPostgresTest(url: string): Promise<Db> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = await openPg(url, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const db = await openPg(u.toString(), { max: 4 });
  await migrate(db);
  const close = db.close.bind(db);
  return {
    ...db,
    kind: db.kind,
    query: db.query,
    exec: db.exec,
    transaction: db.transaction,
    async close() {
      await close();
      const a = await openPg(url, { max: 1 });
      await a.exec(`DROP SCHEMA ${schema} CASCADE`);
      await a.close();
    },
  };
}

export function backends(): Backend[] {
  const list: Backend[] = [{ name: 'pglite', open: openPGliteTest }];
  const url = process.env.TEST_DATABASE_URL;
  if (url) list.push({ name: 'postgres', open: () => openPostgresTest(url) });
  return list;
}
