/**
 * Rebuilds the search index rows of every current resource from its stored content: after the
 * extraction changes (new parameters, such as the composites of migration 006, or the token rows'
 * patient of migration 045). Batches commit one
 * by one, each holding its resources' row locks, so a write racing the rebuild waits and its own
 * index rows win; a stopped run can simply be started again.
 */
import type { Resource } from '@medplum/fhirtypes';
import { buildIndexRows } from '../fhir/index-values.js';
import type { Db, Queryable } from './db.js';
import { indexRowStatements } from './repository.js';

export interface ReindexResult {
  resources: number;
  indexRows: number;
}

export async function reindexAll(db: Db, options: { batch?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<ReindexResult> {
  const batch = options.batch ?? 500;
  const total = Number((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM resource WHERE NOT deleted')).rows[0]?.n ?? 0);
  let after: [string, string] | undefined;
  let resources = 0;
  let indexRows = 0;
  for (;;) {
    const last = await db.transaction(async (tx) => {
      const r = await tx.query<{ resource_type: string; id: string; content: Resource | string }>(
        `SELECT resource_type, id, content FROM resource WHERE NOT deleted${after ? ' AND (resource_type, id) > ($1, $2)' : ''}
          ORDER BY resource_type, id LIMIT ${batch} FOR UPDATE`,
        after ?? [],
      );
      if (r.rows.length === 0) return undefined;
      const rows = r.rows.map((x) => ({ t: x.resource_type, id: x.id, index: buildIndexRows(typeof x.content === 'string' ? (JSON.parse(x.content) as Resource) : x.content) }));
      await replaceIndexRows(tx, rows);
      resources += rows.length;
      for (const x of rows) indexRows += Object.values(x.index).reduce((a, list: unknown[]) => a + list.length, 0);
      const end = r.rows[r.rows.length - 1] as { resource_type: string; id: string };
      return [end.resource_type, end.id] as [string, string];
    });
    if (!last) break;
    after = last;
    options.onProgress?.(resources, total);
  }
  // every part of the index (composite rows, the token rows' patient) is now complete
  await db.query('UPDATE search_index_state SET complete = true, updated_at = now()');
  return { resources, indexRows };
}

async function replaceIndexRows(q: Queryable, rows: { t: string; id: string; index: ReturnType<typeof buildIndexRows> }[]): Promise<void> {
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  await q.query(`WITH ${indexRowStatements(rows, rows, p).join(',\n')} SELECT 1`, params);
}

/** Whether every stored resource has its composite parameters' index rows (migration 006). */
export async function compositesIndexed(q: Queryable): Promise<boolean> {
  return indexComplete(q, 'composite');
}

/** Whether every stored resource's token rows carry its patient (migration 045, fhir/patient-key.ts). */
export async function tokenPatientsIndexed(q: Queryable): Promise<boolean> {
  return indexComplete(q, 'token-patient');
}

async function indexComplete(q: Queryable, feature: string): Promise<boolean> {
  const r = await q.query<{ complete: boolean }>('SELECT complete FROM search_index_state WHERE feature = $1', [feature]);
  return r.rows[0]?.complete === true;
}
