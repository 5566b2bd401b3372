/**
 * The FHIR interactions on single resources: create, update, delete, conditional create/update/delete,
 * each validated and written in one transaction.
 */
import { randomUUID } from 'node:crypto';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../fhir/definitions.js';
import { badRequest, multipleMatches, notFound, unprocessable } from '../fhir/outcomes.js';
import { parseSearchRequest } from '../fhir/search-request.js';
import { validateResource } from '../fhir/validate.js';
import { onWriteIssues } from '../quality/on-write.js';
import { terminologyWarnings, type LookupFn } from '../terminology/warnings.js';
import type { Queryable } from '../store/db.js';
import { readCurrent, writeResources, type WriteResult } from '../store/repository.js';
import { searchIds } from '../store/search-sql.js';
import type { RecordContext } from './context.js';

export const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

export interface WriteResponse extends WriteResult {
  warnings: OperationOutcomeIssue[];
}

export function assertType(resourceType: string): void {
  if (!isKnownResourceType(resourceType)) throw notFoundType(resourceType);
}

function notFoundType(resourceType: string): Error {
  return notFound(`Unknown resource type "${resourceType}"`);
}

export function assertId(id: string): void {
  if (!ID_RE.test(id)) throw badRequest(`Invalid id "${id}": 1-64 letters, digits, '-' or '.'`, 'id');
}

/** Validates a resource for a write; throws 400/422 with every error, returns the warnings. */
export function checkResource(resource: unknown, resourceType: string, strict: boolean, entryPath?: string, codeLookup?: LookupFn): OperationOutcomeIssue[] {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    throw badRequest('The body must be a FHIR resource (a JSON object)', entryPath);
  }
  const rt = (resource as { resourceType?: unknown }).resourceType;
  if (rt !== resourceType) {
    throw badRequest(`resourceType "${String(rt)}" does not match the URL's type "${resourceType}"`, entryPath ? `${entryPath}.resourceType` : 'resourceType');
  }
  const { errors, warnings } = validateResource(resource, { strict });
  if (errors.length) {
    throw unprocessable(entryPath ? errors.map((e) => ({ ...e, expression: e.expression?.map((x) => `${entryPath}.${x}`) })) : errors);
  }
  // Data-quality checks that run on write (a future birth date, an encounter ending before it
  // starts...): answered as warnings, never silently and never blocking.
  // Codes unknown or not billable at the record's date (ICD-10-CM/PCS, HCPCS): warnings too.
  const coding = codeLookup ? terminologyWarnings(resource as Resource & Record<string, unknown>, codeLookup) : [];
  return [...warnings, ...onWriteIssues(resource as Resource), ...coding];
}

/** Ids of current resources matching a conditional query (If-None-Exist, conditional update/delete). */
export async function conditionalMatches(q: Queryable, resourceType: string, query: string): Promise<string[]> {
  const params = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  const obj: Record<string, string[]> = {};
  for (const [k, v] of params) (obj[k] ??= []).push(v);
  if (Object.keys(obj).length === 0) throw badRequest('A conditional operation needs search criteria');
  const req = parseSearchRequest(resourceType, obj, { strict: true });
  req.count = 2;
  req.total = 'none';
  return (await searchIds(q, req)).ids;
}

export async function createResource(ctx: RecordContext, resourceType: string, body: unknown, ifNoneExist?: string): Promise<WriteResponse> {
  assertType(resourceType);
  const warnings = checkResource(body, resourceType, ctx.strict, undefined, ctx.codeLookup);
  return ctx.db.transaction(async (tx) => {
    if (ifNoneExist) {
      const found = await conditionalMatches(tx, resourceType, ifNoneExist);
      if (found.length > 1) throw multipleMatches(`If-None-Exist matched ${found.length} resources`);
      if (found.length === 1) {
        const cur = await readCurrent(tx, resourceType, found[0] as string);
        return { outcome: 'unchanged', resourceType, id: found[0] as string, versionId: cur?.versionId ?? 1, lastUpdated: cur?.lastUpdated ?? '', resource: cur?.resource, warnings: [], compartments: [] };
      }
    }
    const id = randomUUID();
    const results = await writeResources(tx, [{ resourceType, id, resource: { ...(body as Resource), id } as Resource, method: 'POST', mustBeNew: true }]);
    await ctx.audit?.(tx, 'create', results);
    return { ...(results[0] as WriteResult), warnings };
  });
}

export async function updateResource(ctx: RecordContext, resourceType: string, id: string, body: unknown, ifMatch?: number): Promise<WriteResponse> {
  assertType(resourceType);
  assertId(id);
  const warnings = checkResource(body, resourceType, ctx.strict, undefined, ctx.codeLookup);
  const bodyId = (body as Resource).id;
  if (bodyId !== undefined && bodyId !== id) throw badRequest(`Resource id "${bodyId}" does not match the URL's id "${id}"`, 'id');
  if (bodyId === undefined) throw badRequest('An update must carry the resource id in the body', 'id');
  const [r] = await ctx.db.transaction(async (tx) => {
    const results = await writeResources(tx, [{ resourceType, id, resource: body as Resource, method: 'PUT', ifMatch }]);
    await ctx.audit?.(tx, results[0]?.outcome === 'created' ? 'create' : 'update', results);
    return results;
  });
  return { ...(r as WriteResult), warnings };
}

export async function conditionalUpdate(ctx: RecordContext, resourceType: string, query: string, body: unknown): Promise<WriteResponse> {
  assertType(resourceType);
  const warnings = checkResource(body, resourceType, ctx.strict, undefined, ctx.codeLookup);
  return ctx.db.transaction(async (tx) => {
    const found = await conditionalMatches(tx, resourceType, query);
    if (found.length > 1) throw multipleMatches(`Conditional update matched ${found.length} resources`);
    const bodyId = (body as Resource).id;
    let id: string;
    if (found.length === 1) {
      id = found[0] as string;
      if (bodyId && bodyId !== id) throw badRequest(`Resource id "${bodyId}" does not match the matched resource ${resourceType}/${id}`, 'id');
    } else {
      id = bodyId ?? randomUUID();
      assertId(id);
    }
    const results = await writeResources(tx, [{ resourceType, id, resource: { ...(body as Resource), id } as Resource, method: 'PUT' }]);
    await ctx.audit?.(tx, results[0]?.outcome === 'created' ? 'create' : 'update', results);
    return { ...(results[0] as WriteResult), warnings };
  });
}

export async function deleteResource(ctx: RecordContext, resourceType: string, id: string): Promise<WriteResult> {
  assertType(resourceType);
  assertId(id);
  const [r] = await ctx.db.transaction(async (tx) => {
    const results = await writeResources(tx, [{ resourceType, id, method: 'DELETE' }]);
    await ctx.audit?.(tx, 'delete', results);
    return results;
  });
  return r as WriteResult;
}

export async function conditionalDelete(ctx: RecordContext, resourceType: string, query: string): Promise<WriteResult[]> {
  assertType(resourceType);
  return ctx.db.transaction(async (tx) => {
    const found = await conditionalMatches(tx, resourceType, query);
    if (found.length > 1) throw multipleMatches(`Conditional delete matched more than one resource`);
    const results = await writeResources(tx, found.map((id) => ({ resourceType, id, method: 'DELETE' as const })));
    await ctx.audit?.(tx, 'delete', results);
    return results;
  });
}
