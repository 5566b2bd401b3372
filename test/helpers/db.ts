/**
 * Test databases. `backends()` lists PGlite always and PostgreSQL when TEST_DATABASE_URL is set, so
 * one suite runs against both. Each `open()` gives a fresh, migrated, empty database: a PGlite loaded from
 * the migrated template (pglite-template.ts), or a new schema on the PostgreSQL server.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../src/store/db.js';
import { listMigrations, migrate } from '../../src/store/migrate.js';
import { openPg } from '../../src/store/pg-adapter.js';
import { createPGlite, wrapPGlite } from '../../src/store/pglite-adapter.js';
import { pgliteTemplate } from './pglite-template.js';

export interface Backend {
  name: 'pglite' | 'postgres';
  open(): Promise<Db>;
}

/** A new in-memory PGlite loaded from the migrated template (no initdb, no migrations to run). */
export async function openPGliteTest(): Promise<Db> {
  return wrapPGlite(await createPGlite(undefined, { loadDataDir: await pgliteTemplate() }));
}

/**
 * A new schema on the PostgreSQL server, migrated (up to and including migration `upTo`, when given:
 * a store as an older version left it, for testing an upgrade).
 */
export async function openPostgresTest(url: string, upTo?: number): Promise<Db> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = await openPg(url, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  const db = await openPg(u.toString(), { max: 4 });
  await migrate(db, upTo === undefined ? undefined : listMigrations().filter((m) => m.version <= upTo));
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

/** Both engines' databases as an older version left them: migrated up to and including `version`. */
export function backendsUpTo(version: number): Backend[] {
  const list: Backend[] = [{
    name: 'pglite',
    async open() {
      const db = wrapPGlite(await createPGlite());
      await migrate(db, listMigrations().filter((m) => m.version <= version));
      return db;
    },
  }];
  const url = process.env.TEST_DATABASE_URL;
  if (url) list.push({ name: 'postgres', open: () => openPostgresTest(url, version) });
  return list;
}
