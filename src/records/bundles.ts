/**
 * batch and transaction Bundles. A transaction is all-or-nothing: every entry is validated and
 * resolved (urn:uuid fullUrls, conditional creates and conditional references) before one database
 * transaction writes them all. A batch runs each entry on its own and reports each failure.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../fhir/definitions.js';
import {
  OperationOutcomeError, badRequest, multipleMatches, notFound, outcome, toOutcomeError,
} from '../fhir/outcomes.js';
import type { Queryable } from '../store/db.js';
import { readCurrent, writeResources, type WriteRequest, type WriteResult } from '../store/repository.js';
import type { RecordContext } from './context.js';
import {
  ID_RE, checkResource, conditionalDelete, conditionalMatches, conditionalUpdate, createResource, deleteResource, updateResource,
} from './interactions.js';

export interface BundleOptions {
  /**
   * Keep the ids that POSTed resources carry (file import): a re-import of the same bundle then
   * updates, or skips when unchanged, instead of creating duplicates.
   */
  preserveIds?: boolean;
  /** Reads and searches inside a batch, answered by the caller (the HTTP layer). */
  read?: (method: string, url: string) => Promise<{ status: string; resource?: Resource }>;
  /** Receives the outcome of every write of a transaction (created, updated, unchanged...). */
  onResults?: (results: WriteResult[]) => void;
}

export interface Planned {
  index: number;
  method: 'POST' | 'PUT' | 'DELETE' | 'GET';
  resourceType: string;
  id?: string;
  resource?: Resource;
  ifMatch?: number;
  conditional?: string;
  ifNoneExist?: string;
  fullUrl?: string;
  warnings: OperationOutcomeIssue[];
  /** Set when a conditional create found an existing resource (no write). */
  existing?: boolean;
  url: string;
}

export function parseEntryUrl(url: string): { resourceType: string; id?: string; query?: string } {
  const [pathPart, query] = url.replace(/^\//, '').split('?', 2) as [string, string | undefined];
  const segs = pathPart.split('/').filter(Boolean);
  const resourceType = segs[0] ?? '';
  return { resourceType, id: segs[1], query };
}

function etagVersion(etag: string | undefined): number | undefined {
  if (!etag) return undefined;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(etag.trim());
  if (!m) throw badRequest(`Invalid ETag "${etag}"`, 'If-Match');
  return Number(m[1]);
}

export function entryError(index: number, err: unknown): OperationOutcomeError {
  const e = toOutcomeError(err);
  const issues = (e.outcome.issue ?? []).map((i) => ({
    ...i,
    expression: i.expression?.length ? i.expression.map((x) => (x.startsWith('Bundle.entry') ? x : `Bundle.entry[${index}].${x}`)) : [`Bundle.entry[${index}]`],
    diagnostics: `Bundle.entry[${index}]: ${i.diagnostics ?? i.details?.text ?? ''}`,
    details: { text: `Bundle.entry[${index}]: ${i.details?.text ?? i.diagnostics ?? ''}` },
  }));
  return new OperationOutcomeError(outcome(...issues), e.status);
}

export function assertBundle(body: unknown): Bundle {
  if (typeof body !== 'object' || body === null || (body as { resourceType?: string }).resourceType !== 'Bundle') {
    throw badRequest('Expected a Bundle resource', 'resourceType');
  }
  const b = body as Bundle;
  if (b.entry !== undefined && !Array.isArray(b.entry)) throw badRequest('Bundle.entry must be an array', 'Bundle.entry');
  return b;
}

/**
 * Replaces every Reference.reference found in `map` (urn:uuid and other fullUrls) throughout a value.
 * The input stays untouched: what holds a replaced reference is copied, along the path to it, and
 * the rest is shared (copying every resource whole cost the import a tenth of its time in
 * allocation and garbage collection). Nothing downstream modifies what it is given: validation
 * hands medplum's validator a copy (validate.ts); test/records/bundles.test.ts checks both.
 */
export function rewriteReferences(value: unknown, map: Map<string, string>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) continue;
      const v: unknown = value[i];
      const r = rewriteReferences(v, map);
      if (r !== v) {
        // (slice keeps holes as holes)
        out ??= value.slice();
        out[i] = r;
      }
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = (value as Record<string, unknown>)[k];
    const r = k === 'reference' && typeof v === 'string' ? (map.get(v) ?? v) : rewriteReferences(v, map);
    if (r !== v) {
      out ??= { ...(value as Record<string, unknown>) };
      out[k] = r;
    }
  }
  return out ?? value;
}

export function collectConditionalReferences(value: unknown, out: Set<string>): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) collectConditionalReferences(value[i], out);
    return;
  }
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = (value as Record<string, unknown>)[k];
    if (k === 'reference' && typeof v === 'string' && CONDITIONAL_REFERENCE.test(v)) out.add(v);
    else collectConditionalReferences(v, out);
  }
}

const CONDITIONAL_REFERENCE = /^[A-Z][A-Za-z]+\?/;

export function plan(bundle: Bundle, options: BundleOptions): Planned[] {
  return (bundle.entry ?? []).map((entry: BundleEntry, index) => {
    try {
      const req = entry.request;
      if (!req?.method || !req.url) throw badRequest('Each entry needs request.method and request.url', 'request');
      const method = req.method as Planned['method'];
      if (!['POST', 'PUT', 'DELETE', 'GET'].includes(method)) throw badRequest(`Method ${req.method} is not supported in bundles`, 'request.method');
      if (method === 'GET' && !options.read) throw badRequest('GET entries are not supported in a transaction here; read with a batch or a search', 'request.method');
      const { resourceType, id, query } = parseEntryUrl(req.url);
      if (method !== 'GET' && !isKnownResourceType(resourceType)) throw badRequest(`Unknown resource type "${resourceType}" in request.url`, 'request.url');
      const p: Planned = { index, method, resourceType, url: req.url, fullUrl: entry.fullUrl, warnings: [], ifMatch: etagVersion(req.ifMatch) };
      if (method === 'POST') {
        if (!entry.resource) throw badRequest('POST needs a resource', 'resource');
        const rid = (entry.resource as Resource).id;
        p.id = options.preserveIds && rid && ID_RE.test(rid) ? rid : randomUUID();
        p.ifNoneExist = req.ifNoneExist;
        p.resource = entry.resource as Resource;
      } else if (method === 'PUT') {
        if (!entry.resource) throw badRequest('PUT needs a resource', 'resource');
        if (query) p.conditional = query;
        else if (!id) throw badRequest('PUT needs Type/id or Type?criteria in request.url', 'request.url');
        p.id = id;
        p.resource = entry.resource as Resource;
      } else if (method === 'DELETE') {
        if (query) p.conditional = query;
        else if (!id) throw badRequest('DELETE needs Type/id or Type?criteria in request.url', 'request.url');
        p.id = id;
      }
      return p;
    } catch (err) {
      throw entryError(index, err);
    }
  });
}

async function resolveConditionalReference(tx: Queryable, ref: string): Promise<string> {
  const [type, query] = ref.split('?', 2) as [string, string];
  const found = await conditionalMatches(tx, type, query);
  if (found.length === 0) throw notFound(`Conditional reference ${ref} matched no resource`);
  if (found.length > 1) throw multipleMatches(`Conditional reference ${ref} matched ${found.length} resources`);
  return `${type}/${found[0]}`;
}

/** Runs a transaction bundle: all entries commit together or none does. */
export async function processTransaction(ctx: RecordContext, bundle: Bundle, options: BundleOptions = {}): Promise<Bundle> {
  const planned = plan(bundle, options);
  return ctx.db.transaction(async (tx) => {
    const refMap = new Map<string, string>();
    // 1. Conditional operations and ids, so fullUrls can be mapped before any write.
    for (const p of planned) {
      try {
        if (p.method === 'POST' && p.ifNoneExist) {
          const found = await conditionalMatches(tx, p.resourceType, p.ifNoneExist);
          if (found.length > 1) throw multipleMatches(`If-None-Exist matched ${found.length} resources`);
          if (found.length === 1) {
            p.id = found[0];
            p.existing = true;
          }
        }
        if ((p.method === 'PUT' || p.method === 'DELETE') && p.conditional) {
          const found = await conditionalMatches(tx, p.resourceType, p.conditional);
          if (found.length > 1) throw multipleMatches(`Conditional ${p.method} matched ${found.length} resources`);
          p.id = found[0] ?? (p.method === 'PUT' ? ((p.resource?.id && ID_RE.test(p.resource.id) ? p.resource.id : undefined) ?? randomUUID()) : undefined);
        }
      } catch (err) {
        throw entryError(p.index, err);
      }
      if (p.fullUrl && p.id && (p.method === 'POST' || p.method === 'PUT')) refMap.set(p.fullUrl, `${p.resourceType}/${p.id}`);
    }
    // 2. Conditional references ("Patient?identifier=..."), resolved against the database.
    const conditionalRefs = new Set<string>();
    for (const p of planned) if (p.resource) collectConditionalReferences(p.resource, conditionalRefs);
    for (const ref of conditionalRefs) {
      if (!refMap.has(ref)) refMap.set(ref, await resolveConditionalReference(tx, ref));
    }
    // 3. Rewrite references and validate every resource.
    for (const p of planned) {
      if (!p.resource || p.existing) continue;
      try {
        const rewritten = rewriteReferences({ ...p.resource, id: p.id }, refMap) as Resource;
        p.warnings = checkResource(rewritten, p.resourceType, ctx.strict, 'resource', ctx.codeLookup);
        p.resource = rewritten;
      } catch (err) {
        throw entryError(p.index, err);
      }
    }
    // 4. Write: deletes, then creates, then updates (FHIR transaction processing order), in one statement.
    const order = { DELETE: 0, POST: 1, PUT: 2, GET: 3 } as const;
    const writes = planned.filter((p) => p.method !== 'GET' && !p.existing && p.id).sort((a, b) => order[a.method] - order[b.method] || a.index - b.index);
    const requests: WriteRequest[] = writes.map((p) => ({
      resourceType: p.resourceType, id: p.id as string, resource: p.resource, method: p.method as WriteRequest['method'],
      ifMatch: p.ifMatch, mustBeNew: p.method === 'POST' && !options.preserveIds,
    }));
    let results: WriteResult[];
    try {
      results = await writeResources(tx, requests);
    } catch (err) {
      throw toOutcomeError(err);
    }
    options.onResults?.(results);
    await ctx.audit?.(tx, 'transaction', results);
    const byIndex = new Map<number, WriteResult>();
    writes.forEach((p, i) => byIndex.set(p.index, results[i] as WriteResult));
    const entries: BundleEntry[] = [];
    for (const p of planned) {
      const r = byIndex.get(p.index);
      if (p.method === 'GET') {
        entries.push(options.read ? { response: await options.read('GET', p.url).then((x) => ({ status: x.status })) } : { response: { status: '200 OK' } });
        continue;
      }
      if (p.existing) {
        const cur = await readCurrent(tx, p.resourceType, p.id as string);
        entries.push({ fullUrl: `${p.resourceType}/${p.id}`, response: { status: '200 OK', location: `${p.resourceType}/${p.id}/_history/${cur?.versionId ?? 1}`, etag: `W/"${cur?.versionId ?? 1}"` } });
        continue;
      }
      entries.push(responseEntry(p.resourceType, r, p.warnings));
    }
    return { resourceType: 'Bundle', type: 'transaction-response', entry: entries } as Bundle;
  });
}

function responseEntry(resourceType: string, r: WriteResult | undefined, warnings: OperationOutcomeIssue[]): BundleEntry {
  if (!r) return { response: { status: '204 No Content' } };
  const status = r.outcome === 'created' ? '201 Created' : r.outcome === 'deleted' || r.outcome === 'already-deleted' ? '204 No Content' : '200 OK';
  const e: BundleEntry = {
    response: {
      status,
      location: r.versionId ? `${resourceType}/${r.id}/_history/${r.versionId}` : undefined,
      etag: r.versionId ? `W/"${r.versionId}"` : undefined,
      lastModified: r.lastUpdated,
    },
  };
  if (r.outcome !== 'deleted' && r.outcome !== 'already-deleted') e.fullUrl = `${resourceType}/${r.id}`;
  if (warnings.length && e.response) e.response.outcome = outcome(...warnings) as OperationOutcome;
  return e;
}

/** Runs a batch bundle: each entry on its own; failures are reported in their entry. */
export async function processBatch(ctx: RecordContext, bundle: Bundle, options: BundleOptions = {}): Promise<Bundle> {
  const entries: BundleEntry[] = [];
  const list = bundle.entry ?? [];
  for (let index = 0; index < list.length; index++) {
    const entry = list[index] as BundleEntry;
    try {
      const req = entry.request;
      if (!req?.method || !req.url) throw badRequest('Each entry needs request.method and request.url', 'request');
      const { resourceType, id, query } = parseEntryUrl(req.url);
      const ifMatch = etagVersion(req.ifMatch);
      switch (req.method) {
        case 'GET': {
          if (!options.read) throw badRequest('GET is not supported here');
          const r = await options.read('GET', req.url);
          entries.push({ resource: r.resource, response: { status: r.status } });
          break;
        }
        case 'POST': {
          const r = await createResource(ctx, resourceType, entry.resource, req.ifNoneExist);
          entries.push(responseEntry(resourceType, r.outcome === 'unchanged' ? { ...r, outcome: 'unchanged' } : r, r.warnings));
          break;
        }
        case 'PUT': {
          const r = query ? await conditionalUpdate(ctx, resourceType, query, entry.resource) : await updateResource(ctx, resourceType, id ?? '', entry.resource, ifMatch);
          entries.push(responseEntry(resourceType, r, r.warnings));
          break;
        }
        case 'DELETE': {
          if (query) await conditionalDelete(ctx, resourceType, query);
          else await deleteResource(ctx, resourceType, id ?? '');
          entries.push({ response: { status: '204 No Content' } });
          break;
        }
        default:
          throw badRequest(`Method ${req.method} is not supported in bundles`, 'request.method');
      }
    } catch (err) {
      const e = entryError(index, err);
      entries.push({ response: { status: String(e.status), outcome: e.outcome } });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: entries } as Bundle;
}
