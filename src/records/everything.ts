/**
 * Patient/{id}/$everything: the patient, every resource in the patient's compartment, and the
 * resources they reference (practitioners, organizations, locations...), with _since, _type and
 * keyset paging.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../fhir/definitions.js';
import { badRequest } from '../fhir/outcomes.js';
import type { Queryable } from '../store/db.js';
import { readMany, readResource } from '../store/repository.js';

export interface EverythingQuery {
  since?: string;
  types?: string[];
  count: number;
  cursor?: string;
}

export async function patientEverything(q: Queryable, patientId: string, query: EverythingQuery, baseUrl: string): Promise<Bundle> {
  await readResource(q, 'Patient', patientId); // 404 / 410 for an unknown or deleted patient
  for (const t of query.types ?? []) if (!isKnownResourceType(t)) throw badRequest(`Unknown resource type "${t}" in _type`, '_type');
  if (query.since && Number.isNaN(Date.parse(query.since))) throw badRequest(`Invalid _since "${query.since}"`, '_since');
  let after: [number, string, string] | undefined;
  if (query.cursor) {
    try {
      after = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8')) as [number, string, string];
    } catch {
      throw badRequest('Invalid _cursor', '_cursor');
    }
  }
  // group 0: the patient; 1: the compartment; 2: resources the compartment references. A page is
  // filled from the compartment first; the referenced resources (a join over every member's
  // references) are gathered only when a page reaches past the compartment's end.
  const rows: { grp: number; resource_type: string; id: string }[] = [];
  for (const grp of [1, 2]) {
    if (after && after[0] > grp) continue;
    const params: unknown[] = [patientId];
    const typeFilter = query.types?.length ? ` AND x.resource_type = ANY($${params.push(query.types)}::text[])` : '';
    const sinceFilter = query.since ? ` AND x.last_updated >= $${params.push(query.since)}::timestamptz` : '';
    const afterFilter = after ? ` AND (x.grp, x.resource_type, x.id) > ($${params.push(after[0])}::int, $${params.push(after[1])}, $${params.push(after[2])})` : '';
    const limit = params.push(query.count + 1 - rows.length);
    const x = grp === 1
      ? `SELECT CASE WHEN resource_type = 'Patient' AND id = $1 THEN 0 ELSE 1 END AS grp, resource_type, id, last_updated
           FROM resource WHERE compartments @> ARRAY[$1]::text[] AND NOT deleted`
      : `SELECT DISTINCT 2 AS grp, t.resource_type, t.id, t.last_updated FROM resource m
           JOIN sp_reference s ON s.resource_type = m.resource_type AND s.id = m.id
           JOIN resource t ON t.resource_type = s.target_type AND t.id = s.target_id AND NOT t.deleted
          WHERE m.compartments @> ARRAY[$1]::text[] AND NOT m.deleted AND NOT (t.compartments @> ARRAY[$1]::text[])`;
    const r = await q.query<{ grp: number; resource_type: string; id: string }>(
      `SELECT grp, resource_type, id FROM (${x}) x WHERE true${typeFilter}${sinceFilter}${afterFilter}
       ORDER BY grp, resource_type, id LIMIT $${limit}`,
      params,
    );
    rows.push(...r.rows);
    if (rows.length > query.count) break;
  }
  const more = rows.length > query.count;
  rows.length = Math.min(rows.length, query.count);
  const resources = await readMany(q, rows.map((x) => ({ resourceType: x.resource_type, id: x.id })));
  const link: NonNullable<Bundle['link']> = [{ relation: 'self', url: everythingUrl(baseUrl, patientId, query, query.cursor) }];
  const last = rows[rows.length - 1];
  if (more && last) {
    const cursor = Buffer.from(JSON.stringify([Number(last.grp), last.resource_type, last.id])).toString('base64url');
    link.push({ relation: 'next', url: everythingUrl(baseUrl, patientId, query, cursor) });
  }
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    link,
    entry: resources.map((s) => ({ fullUrl: `${baseUrl}/${s.resourceType}/${s.id}`, resource: s.resource as Resource, search: { mode: 'match' } })),
  } as Bundle;
}

function everythingUrl(baseUrl: string, id: string, q: EverythingQuery, cursor?: string): string {
  const p = new URLSearchParams();
  if (q.since) p.set('_since', q.since);
  if (q.types?.length) p.set('_type', q.types.join(','));
  p.set('_count', String(q.count));
  if (cursor) p.set('_cursor', cursor);
  return `${baseUrl}/Patient/${id}/$everything?${p.toString()}`;
}
