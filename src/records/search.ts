/** Search as a FHIR searchset Bundle: matches, _include/_revinclude, paging links, _summary/_elements. */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { typeSchema } from '../fhir/definitions.js';
import { issue, outcome } from '../fhir/outcomes.js';
import { encodeCursor, parseSearchRequest, type HiddenRecords, type Query, type SearchRequest } from '../fhir/search-request.js';
import type { Queryable } from '../store/db.js';
import { readMany } from '../store/repository.js';
import { includeTargets, revincludeSources, searchIds, type SearchPage } from '../store/search-sql.js';
import { assertType } from './interactions.js';

export interface SearchOptions {
  baseUrl: string;
  strict?: boolean;
  /** Path of the search relative to the base, for links (default: the resource type). */
  path?: string;
  /** Sensitive records the caller may not see (left out of the matches and the total). */
  hidden?: HiddenRecords;
}

export async function searchBundle(q: Queryable, resourceType: string, query: Query, options: SearchOptions): Promise<Bundle> {
  assertType(resourceType);
  const req = parseSearchRequest(resourceType, query, { strict: options.strict });
  req.hidden = options.hidden;
  return runSearch(q, req, query, options);
}

/** Search inside a Patient's compartment: Patient/123/Condition?code=... */
export async function compartmentSearch(q: Queryable, patientId: string, resourceType: string, query: Query, options: SearchOptions): Promise<Bundle> {
  assertType(resourceType);
  const req = parseSearchRequest(resourceType, query, { strict: options.strict });
  req.compartment = { resourceType: 'Patient', id: patientId };
  req.hidden = options.hidden;
  return runSearch(q, req, query, options);
}

export async function runSearch(q: Queryable, req: SearchRequest, query: Query, options: SearchOptions): Promise<Bundle> {
  const page = await searchIds(q, req);
  const matches = await readMany(q, page.ids.map((id) => ({ resourceType: req.resourceType, id })));
  const entries: BundleEntry[] = matches.map((m) => ({
    fullUrl: `${options.baseUrl}/${m.resourceType}/${m.id}`,
    resource: shape(m.resource, req),
    search: { mode: 'match' },
  }));
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const included = await includes(q, req, matches.map((m) => m.resource));
  for (const r of included) {
    const k = `${r.resourceType}/${r.id}`;
    if (seen.has(k)) continue;
    seen.add(k);
    entries.push({ fullUrl: `${options.baseUrl}/${k}`, resource: r, search: { mode: 'include' } });
  }
  if (req.unknown.length) {
    entries.push({
      resource: outcome(...req.unknown.map((u) => issue('warning', 'not-supported', `Unknown search parameter "${u}" was ignored`, u))),
      search: { mode: 'outcome' },
    });
  }
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', link: links(req, query, page, options.baseUrl, options.path ?? req.resourceType) };
  if (page.total !== undefined) bundle.total = page.total;
  if (req.summary !== 'count') bundle.entry = entries;
  return bundle;
}

async function includes(q: Queryable, req: SearchRequest, matches: Resource[]): Promise<Resource[]> {
  if (!req.include.length && !req.revinclude.length) return [];
  const out: Resource[] = [];
  let frontier = matches;
  for (let round = 0; round < 2 && frontier.length; round++) {
    const next: Resource[] = [];
    for (const inc of req.include) {
      if (round > 0 && !inc.iterate) continue;
      const ids = frontier.filter((r) => r.resourceType === inc.sourceType).map((r) => r.id as string);
      const keys = await includeTargets(q, inc.sourceType, ids, inc.code, inc.targetType);
      next.push(...(await readMany(q, keys)).map((s) => s.resource));
    }
    for (const rev of req.revinclude) {
      if (round > 0 && !rev.iterate) continue;
      const byType = new Map<string, string[]>();
      for (const r of frontier) byType.set(r.resourceType, [...(byType.get(r.resourceType) ?? []), r.id as string]);
      for (const [type, ids] of byType) {
        const keys = await revincludeSources(q, rev.sourceType, rev.code, type, ids);
        next.push(...(await readMany(q, keys)).map((s) => s.resource));
      }
    }
    out.push(...next);
    frontier = next;
  }
  return out;
}

/** Applies _elements and _summary (marking the result SUBSETTED, as the spec asks). */
export function shape(resource: Resource, req: Pick<SearchRequest, 'elements' | 'summary'>): Resource {
  let keep: Set<string> | undefined;
  if (req.elements?.length) keep = new Set(['resourceType', 'id', 'meta', ...req.elements]);
  else if (req.summary === 'true') {
    const schema = typeSchema(resource.resourceType);
    keep = new Set(['resourceType', 'id', 'meta', ...[...(schema.summaryProperties ?? [])].map((p) => p.replace('[x]', ''))]);
  } else if (req.summary === 'text') keep = new Set(['resourceType', 'id', 'meta', 'text']);
  else if (req.summary === 'data') {
    const copy = { ...resource } as Record<string, unknown>;
    delete copy.text;
    return subsetted(copy as unknown as Resource);
  }
  if (!keep) return resource;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) {
    const base = [...keep].some((x) => k === x || (x.length < k.length && k.startsWith(x) && /^[A-Z]/.test(k.slice(x.length))));
    if (base) out[k] = v;
  }
  return subsetted(out as unknown as Resource);
}

function subsetted(r: Resource): Resource {
  const tag = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
  return { ...r, meta: { ...r.meta, tag: [...(r.meta?.tag ?? []), tag] } } as Resource;
}

function links(req: SearchRequest, query: Query, page: SearchPage, baseUrl: string, path: string): Bundle['link'] {
  const make = (cursor?: string): string => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (k === '_offset' || k === '_cursor' || v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) params.append(k, x);
    }
    if (cursor) params.set('_cursor', cursor);
    const s = params.toString();
    return `${baseUrl}/${path}${s ? `?${s}` : ''}`;
  };
  const self = req.cursor ? encodeCursor(req.cursor) : undefined;
  const out: NonNullable<Bundle['link']> = [{ relation: 'self', url: req.offset > 0 ? `${make()}${make().includes('?') ? '&' : '?'}_offset=${req.offset}` : make(self) }];
  if (page.hasNext && page.last) out.push({ relation: 'next', url: make(encodeCursor({ dir: 'next', ...page.last })) });
  if (page.hasPrev && page.first) out.push({ relation: 'previous', url: make(encodeCursor({ dir: 'prev', ...page.first })) });
  return out;
}
