/**
 * Search indexes set aside during a bulk load. Keeping the B-tree and SP-GiST indexes of the sp_*
 * tables up to date row by row is most of what the server does in an import (index insertion was
 * 71% of its time, measured); building them again from the loaded tables costs far less. So a large
 * import into a store much smaller than itself drops the indexes searches use to find values, and
 * those of the resource and history tables (by time, by patient compartment)
 * (`deferSearchIndexes`), loads, and builds them again (`restoreSearchIndexes`). Primary keys stay,
 * and so do the indexes that lead with (resource_type, id): a write finds a resource's old index
 * rows through them when it replaces them, and initial loads do update (Synthea's bundles repeat
 * their Organizations and Practitioners with new counts), which without them would scan the whole
 * table each time.
 *
 * Each dropped index is recorded with its definition (table `search_index_deferred`, migration 008)
 * in the transaction that drops it, and its row is deleted in the transaction that builds it again,
 * so a crash leaves either the index or its row; openStore builds what is left. The index rows are
 * never deferred: meanwhile every search gives the same answers, only without those indexes. Every
 * step is idempotent, so two processes deferring or restoring at once end in the same state.
 */
import type { Db, Queryable } from './db.js';
import { SEARCH_INDEX_TABLES } from './repository.js';

/** The tables whose indexes a load may set aside: the search tables, resource and resource_history. */
export const DEFERRED_TABLES: readonly string[] = [...SEARCH_INDEX_TABLES, 'resource', 'resource_history'];

/**
 * Drops those tables' indexes (not those leading with resource_type, id, nor any behind a
 * constraint such as a primary key), recording each; returns the names of all set aside now.
 */
export async function deferSearchIndexes(db: Db): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO search_index_deferred (name, table_name, definition)
       SELECT c.relname, t.relname, pg_get_indexdef(i.indexrelid)
         FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
          AND t.relname = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
          AND NOT (i.indnatts >= 2
                   AND i.indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = t.oid AND attname = 'resource_type')
                   AND i.indkey[1] = (SELECT attnum FROM pg_attribute WHERE attrelid = t.oid AND attname = 'id'))
       ON CONFLICT (name) DO NOTHING`,
      [DEFERRED_TABLES],
    );
    const names = await deferredSearchIndexes(tx);
    for (const name of names) await tx.exec(`DROP INDEX IF EXISTS ${quoteIdent(name)}`);
    return names;
  });
}

/** The names of the indexes set aside now. */
export async function deferredSearchIndexes(q: Queryable): Promise<string[]> {
  const r = await q.query<{ name: string }>('SELECT name FROM search_index_deferred ORDER BY name');
  return r.rows.map((row) => row.name);
}

/**
 * Builds the indexes set aside again, the longest builds first; on PostgreSQL two at a time (on two
 * connections; the server may add its own parallel workers to each). An index another process is
 * building is skipped. Returns the names built here.
 */
export async function restoreSearchIndexes(db: Db): Promise<string[]> {
  // The longest builds first, so the two builders end together rather than one long build running
  // alone at the end: a GiST or SP-GiST index (built entry by entry: the date spans' SP-GiST, 11 s
  // at a million resources, is among the longest), then by the table's size on disk (relpages is
  // still 0 after a load), the resource and history tables last (their bytes are JSON: few rows to
  // sort).
  const pending = await db.query<{ name: string }>(
    `SELECT d.name FROM search_index_deferred d
       LEFT JOIN pg_class t ON t.relname = d.table_name AND t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
      ORDER BY d.definition ~* ' USING (sp)?gist ' DESC, d.table_name IN ('resource', 'resource_history'),
               coalesce(pg_relation_size(t.oid), 0) DESC, d.name`,
  );
  const queue = pending.rows.map((r) => r.name);
  const built: string[] = [];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      if (await buildOne(db, name)) built.push(name);
    }
  };
  await Promise.all(Array.from({ length: db.kind === 'pg' ? 2 : 1 }, worker));
  return built.sort();
}

async function buildOne(db: Db, name: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const r = await tx.query<{ definition: string }>('SELECT definition FROM search_index_deferred WHERE name = $1 FOR UPDATE SKIP LOCKED', [name]);
    const definition = r.rows[0]?.definition;
    if (definition === undefined) return false;
    // the sort of a large table's index in memory rather than in temporary files (the embedded
    // database keeps its default: its memory is the process's own)
    if (db.kind === 'pg') await tx.exec(`SET LOCAL maintenance_work_mem = '256MB'`);
    await tx.exec(definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '));
    await tx.query('DELETE FROM search_index_deferred WHERE name = $1', [name]);
    return true;
  });
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
