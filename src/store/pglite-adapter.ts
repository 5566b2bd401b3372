/** Embedded adapter: PGlite (PostgreSQL compiled to WASM) in a data folder or in memory. */
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { fuzzystrmatch } from '@electric-sql/pglite/contrib/fuzzystrmatch';
import type { Db, Queryable, QueryResult } from './db.js';

type PGliteLike = Pick<PGlite, 'query' | 'exec'>;

function wrap(client: PGliteLike): Queryable {
  return {
    async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      const r = await client.query<R>(sql, params);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await client.exec(sql);
    },
    async copyIn(table: string, columns: string[], data: string): Promise<void> {
      await client.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob'`, [], { blob: new Blob([data]) });
    },
  };
}

/** Serialises use of the single PGlite connection so a transaction never interleaves with other work. */
class Mutex {
  private last: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.last.then(fn, fn);
    this.last = next.catch(() => undefined);
    return next;
  }
}

export function wrapPGlite(pglite: PGlite): Db {
  const lock = new Mutex();
  const base = wrap(pglite);
  return {
    kind: 'pglite',
    query: (sql, params) => lock.run(() => base.query(sql, params)),
    exec: (sql) => lock.run(() => base.exec(sql)),
    copyIn: (table, columns, data) => lock.run(() => base.copyIn(table, columns, data)),
    transaction: (fn) => lock.run(() => pglite.transaction((tx) => fn(wrap(tx)))),
    async close() {
      await lock.run(() => pglite.close());
    },
  };
}

/** `loadDataDir`: start from a dumped data folder (PGlite's `dumpDataDir`) instead of running initdb. */
export async function createPGlite(dataDir?: string, options: { loadDataDir?: Blob } = {}): Promise<PGlite> {
  return PGlite.create(dataDir, {
    extensions: { pg_trgm, fuzzystrmatch },
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
}

export async function openPGlite(dataDir?: string): Promise<Db> {
  return wrapPGlite(await createPGlite(dataDir));
}
