/** The Db port: the only way the store talks to PostgreSQL, whichever engine is behind it. */
import type { Readable } from 'node:stream';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  /** One statement with positional parameters ($1, $2...). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** A script of several statements without parameters. */
  exec(sql: string): Promise<void>;
  /** Rows into `table` by COPY, `data` in COPY's text format (tab-separated fields, \\N for null, one row per line). */
  copyIn(table: string, columns: string[], data: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs fn in one transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /**
   * The output of a `COPY ... TO STDOUT` statement as a byte stream (PostgreSQL server only: PGlite
   * has no streaming COPY, so callers keep a paged fallback). The statement takes no parameters.
   */
  copyOut?(sql: string): Promise<Readable>;
}
