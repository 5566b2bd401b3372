/** Streams current resources of a type in id order, in pages (keyset paging, no OFFSET). */
import type { Resource } from '@medplum/fhirtypes';
import type { Queryable } from './db.js';

export async function typesPresent(q: Queryable): Promise<string[]> {
  const r = await q.query<{ resource_type: string }>('SELECT DISTINCT resource_type FROM resource WHERE NOT deleted ORDER BY resource_type');
  return r.rows.map((x) => x.resource_type);
}

export async function* streamCurrent(q: Queryable, resourceType: string, options: { pageSize?: number; since?: string } = {}): AsyncGenerator<Resource[]> {
  const size = options.pageSize ?? 2000;
  let after = '';
  for (;;) {
    const params: unknown[] = [resourceType, after, size];
    let since = '';
    if (options.since) {
      params.push(options.since);
      since = ' AND last_updated >= $4::timestamptz';
    }
    const r = await q.query<{ id: string; content: string }>(
      `SELECT id, content::text AS content FROM resource WHERE resource_type = $1 AND id > $2 AND NOT deleted${since} ORDER BY id LIMIT $3`,
      params,
    );
    if (r.rows.length === 0) return;
    yield r.rows.map((x) => JSON.parse(x.content) as Resource);
    after = (r.rows[r.rows.length - 1] as { id: string }).id;
    if (r.rows.length < size) return;
  }
}
