/** PostgreSQL server adapter (production), through node-postgres. */
import type { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Db, Queryable, QueryResult } from './db.js';

// Return int8 (count(*), bigint) as numbers, as PGlite does, and keep timestamps as ISO strings.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1184, (v) => v);
pg.types.setTypeParser(1114, (v) => v);
pg.types.setTypeParser(1082, (v) => v);

/**
 * One COPY of `data` (COPY text) into `table`: the whole text written at once and the stream ended,
 * settled when the server has the rows (or refused them). Not through stream.pipeline and a Readable:
 * for one chunk their set-up cost more CPU than the COPY's own round trips (about 250 µs a COPY,
 * seven COPYs to a file in an import).
 */
async function copyInto(client: pg.PoolClient, table: string, columns: string[], data: string): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await new Promise<void>((resolve, reject) => {
    stream.once('finish', resolve);
    stream.on('error', reject); // (kept: a second error must not go unhandled)
    stream.end(data);
  });
}

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async copyIn(table: string, columns: string[], data: string): Promise<void> {
      if (!(client instanceof pg.Pool)) return copyInto(client, table, columns, data);
      const c = await client.connect();
      try {
        await copyInto(c, table, columns, data);
      } finally {
        c.release();
      }
    },
    async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      const r = await client.query(sql, params as unknown[]);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      await client.query(sql);
    },
  };
}

/**
 * The URL with `-c jit=off` added to its startup options: JIT compile time (10-20 ms) is paid on
 * every search whose plan the planner costs high (a probe per row of a small set looks expensive to
 * it) and costs more than it saves here. Options already in the URL (a search_path) are kept.
 */
function withoutJit(url: string): string {
  try {
    const u = new URL(url);
    const given = u.searchParams.get('options');
    u.searchParams.set('options', given ? `${given} -c jit=off` : '-c jit=off');
    return u.toString();
  } catch {
    return url;
  }
}

export async function openPg(url: string, options: { max?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: withoutJit(url), max: options.max ?? 10 });
  pool.on('error', () => {
    /* an idle client lost its connection; the pool replaces it */
  });
  await pool.query('select 1');
  const base = wrap(pool);
  return {
    kind: 'pg',
    query: base.query,
    exec: base.exec,
    copyIn: base.copyIn,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
    async copyOut(sql: string): Promise<Readable> {
      const client = await pool.connect();
      const stream = client.query(copyTo(sql));
      let ended = false;
      let released = false;
      const release = (err?: Error): void => {
        if (released) return;
        released = true;
        client.release(err);
      };
      stream.on('end', () => {
        ended = true;
        release();
      });
      stream.on('error', (err) => release(err));
      // abandoned before the end: the connection is mid-COPY, so it is closed rather than reused
      stream.on('close', () => release(ended ? undefined : new Error('COPY abandoned')));
      return stream;
    },
  };
}
