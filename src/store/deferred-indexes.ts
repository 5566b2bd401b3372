/**
 * Search indexes set aside during a bulk load. Keeping the B-tree and SP-GiST indexes of the sp_*
 * tables up to date row by row is most of what the server does in an import (index insertion was
 * 71% of its time, measured); building them again from the loaded tables costs far less. So a large
 * import into a store much smaller than itself drops every index of the search tables and the
 * secondary indexes of the resource and history tables (by time, by patient compartment)
 * (`deferSearchIndexes`), loads, and builds them again (`restoreSearchIndexes`). Primary keys stay.
 *
 * A write that replaces a resource (an update, a delete) deletes its old index rows, and finds them
 * by (resource_type, id). Through a load only the rows of the resources a load repeats keep such an
 * index: a small partial one per search table, `<table>_shared_during_load`, over the rows of
 * Patients and of the types outside the Patient compartment (Organization, Practitioner, Location,
 * Medication...: every patient's bundle repeats the ones it points at; Synthea's repeat their
 * Organizations and Practitioners with new counts). The records of a patient (Observations,
 * Encounters...) come once in a load, and the `_res` indexes kept for them through a load cost more
 * than any other part of it: their keys are random UUIDs, so each resource's rows land on a random
 * page of seven large indexes (a million-resource import took 229-235 s with them, 180-207 s
 * without; BENCHMARKS.md). A write replacing such a record meanwhile deletes its rows by a scan of
 * each table, and the import builds the indexes again as soon as a committed file has replaced one
 * (records/import-files.ts), so a load that repeats them pays that once.
 *
 * Each dropped index is recorded with its definition (table `search_index_deferred`, migration 008)
 * in the transaction that drops it, and its row is deleted in the transaction that builds it again;
 * each load-time index is recorded the same way, its "definition" being the statement that removes
 * it, run after every build. So a crash leaves either the index or its row; openStore finishes
 * what is left. The index rows are never deferred: meanwhile every search gives the same answers,
 * only without those indexes. Every step is idempotent, so two processes deferring or restoring at
 * once end in the same state.
 */
import type { Db, Queryable } from './db.js';
import { SEARCH_INDEX_TABLES } from './repository.js';
import { allResourceTypes } from '../fhir/definitions.js';
import { compartmentTypes } from '../fhir/compartments.js';

/** The tables whose indexes a load may set aside: the search tables, resource and resource_history. */
export const DEFERRED_TABLES: readonly string[] = [...SEARCH_INDEX_TABLES, 'resource', 'resource_history'];

/**
 * The resource types whose rows keep an index by (resource_type, id) through a load: Patient and
 * the types outside the Patient compartment, the resources many patients' records point at. (At
 * most 100, so that PostgreSQL proves `resource_type = 'X'` implies the partial index's predicate.)
 */
export function sharedResourceTypes(): string[] {
  const inCompartment = new Set(compartmentTypes());
  return allResourceTypes().filter((t) => t === 'Patient' || !inCompartment.has(t));
}

/** The name of a search table's load-time index. */
export const duringLoadIndex = (table: string): string => `${table}_shared_during_load`;

/**
 * Drops those tables' indexes but the primary keys (and any other behind a constraint), recording
 * each, and gives each search table its load-time index; returns the names of all set aside now.
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
          AND c.relname <> ALL($2::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
       ON CONFLICT (name) DO NOTHING`,
      [DEFERRED_TABLES, SEARCH_INDEX_TABLES.map(duringLoadIndex)],
    );
    const names = await deferredSearchIndexes(tx);
    for (const name of names) await tx.exec(`DROP INDEX IF EXISTS ${quoteIdent(name)}`);
    const shared = `'{${sharedResourceTypes().join(',')}}'::text[]`;
    for (const table of SEARCH_INDEX_TABLES) {
      const name = duringLoadIndex(table);
      await tx.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdent(name)} ON ${quoteIdent(table)} (resource_type, id) WHERE resource_type = ANY (${shared})`);
      await tx.query(
        'INSERT INTO search_index_deferred (name, table_name, definition) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING',
        [name, table, `DROP INDEX IF EXISTS ${quoteIdent(name)}`],
      );
    }
    return names;
  });
}

/** The names of the indexes set aside now (not the load-time ones). */
export async function deferredSearchIndexes(q: Queryable): Promise<string[]> {
  const r = await q.query<{ name: string }>("SELECT name FROM search_index_deferred WHERE definition LIKE 'CREATE %' ORDER BY name");
  return r.rows.map((row) => row.name);
}

/**
 * Builds the indexes set aside again, the longest builds first; on PostgreSQL two at a time (on two
 * connections; the server may add its own parallel workers to each); then drops the load-time
 * indexes. An index another process is building is skipped. Returns the names built here.
 */
export async function restoreSearchIndexes(db: Db): Promise<string[]> {
  // The longest builds first, so the two builders end together rather than one long build running
  // alone at the end: a GiST or SP-GiST index (built entry by entry: the date spans' SP-GiST, 11 s
  // at a million resources, is among the longest), then by the table's size on disk (relpages is
  // still 0 after a load), the resource and history tables last (their bytes are JSON: few rows to
  // sort).
  const pending = await db.query<{ name: string; is_drop: boolean }>(
    `SELECT d.name, d.definition LIKE 'DROP %' AS is_drop FROM search_index_deferred d
       LEFT JOIN pg_class t ON t.relname = d.table_name AND t.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
      ORDER BY d.definition ~* ' USING (sp)?gist ' DESC, d.table_name IN ('resource', 'resource_history'),
               coalesce(pg_relation_size(t.oid), 0) DESC, d.name`,
  );
  const queue = pending.rows.filter((r) => !r.is_drop).map((r) => r.name);
  const built: string[] = [];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      if (await restoreOne(db, name)) built.push(name);
    }
  };
  await Promise.all(Array.from({ length: db.kind === 'pg' ? 2 : 1 }, worker));
  // the load-time indexes once every build has ended (a write meanwhile still finds its rows)
  for (const r of pending.rows) if (r.is_drop) await restoreOne(db, r.name);
  return built.sort();
}

/** Runs one recorded statement (builds a set-aside index, drops a load-time one) and deletes its row. */
async function restoreOne(db: Db, name: string): Promise<boolean> {
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
