/** FHIR REST routes under /fhir: each parses the request, calls a record service, renders the answer. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { capabilityStatement } from '../fhir/capability.js';
import { allOk, badRequest, issue, notSupported, outcome, OperationOutcomeError } from '../fhir/outcomes.js';
import type { HiddenRecords, Query } from '../fhir/search-request.js';
import { validateResource } from '../fhir/validate.js';
import type { Db } from '../store/db.js';
import { readHistory, readResource, readVersion, type HistoryEntry, type WriteResult } from '../store/repository.js';
import { assertBundle, processBatch, processTransaction } from '../records/bundles.js';
import {
  assertId, assertType, conditionalDelete, conditionalUpdate, createResource, deleteResource, updateResource, type WriteResponse,
} from '../records/interactions.js';
import { compartmentSearch, searchBundle } from '../records/search.js';
import { patientEverything } from '../records/everything.js';
import type { RecordContext } from '../records/context.js';
import { codeLookupFor } from '../records/code-lookup.js';
import { transactionAuditor } from './security-plugin.js';
import { codesNotPermitted } from '../security/labels.js';
import { activeBreakGlassPatients } from '../store/security-store.js';
import { FHIR_JSON } from './http.js';

interface Deps {
  db: Db;
  strict: boolean;
  version: string;
}

type Params = { type: string; id: string; vid: string };

export function baseUrl(request: FastifyRequest): string {
  const host = request.headers['x-forwarded-host'] ?? request.headers.host ?? 'localhost';
  const proto = (request.headers['x-forwarded-proto'] as string | undefined) ?? request.protocol ?? 'http';
  return `${proto}://${host}/fhir`;
}

function ifMatchVersion(request: FastifyRequest): number | undefined {
  const h = request.headers['if-match'];
  if (!h) return undefined;
  const m = /^(?:W\/)?"?(\d+)"?$/.exec(String(h).trim());
  if (!m) throw badRequest(`Invalid If-Match "${h}"; expected W/"<version>"`, 'If-Match');
  return Number(m[1]);
}

function queryString(request: FastifyRequest): string {
  const i = request.url.indexOf('?');
  return i < 0 ? '' : request.url.slice(i + 1);
}

function prefer(request: FastifyRequest): string | undefined {
  const p = String(request.headers.prefer ?? '');
  return /return=(minimal|representation|OperationOutcome)/.exec(p)?.[1];
}

function strictHandling(request: FastifyRequest): boolean {
  return /handling=strict/.test(String(request.headers.prefer ?? ''));
}

function sendWrite(request: FastifyRequest, reply: FastifyReply, r: WriteResponse | WriteResult, created: boolean): FastifyReply {
  const warnings: OperationOutcomeIssue[] = 'warnings' in r ? r.warnings : [];
  reply.code(created ? 201 : 200).type(FHIR_JSON);
  reply.header('ETag', `W/"${r.versionId}"`);
  if (r.lastUpdated) reply.header('Last-Modified', new Date(r.lastUpdated).toUTCString());
  reply.header('Location', `${baseUrl(request)}/${r.resourceType}/${r.id}/_history/${r.versionId}`);
  const pref = prefer(request);
  if (pref === 'minimal') return reply.send();
  if (pref === 'OperationOutcome' || (warnings.length > 0 && pref !== 'representation')) {
    const text = `${r.outcome === 'unchanged' ? 'Unchanged' : created ? 'Created' : 'Updated'} ${r.resourceType}/${r.id} version ${r.versionId}`;
    return reply.send(outcome(issue('information', 'informational', text), ...warnings));
  }
  return reply.send(r.resource);
}

function historyBundle(entries: HistoryEntry[], total: number, base: string): Bundle {
  return {
    resourceType: 'Bundle',
    type: 'history',
    total,
    entry: entries.map((e) => ({
      fullUrl: `${base}/${e.resourceType}/${e.id}`,
      resource: e.deleted ? undefined : e.resource,
      request: { method: e.method as 'POST', url: e.method === 'POST' ? e.resourceType : `${e.resourceType}/${e.id}` },
      response: { status: e.deleted ? '204' : e.versionId === 1 ? '201' : '200', etag: `W/"${e.versionId}"`, lastModified: e.lastUpdated },
    })),
  } as Bundle;
}

function historyParams(request: FastifyRequest): { count: number; offset: number; since?: string } {
  const q = request.query as Record<string, string | undefined>;
  const count = q._count === undefined ? 50 : Number(q._count);
  const offset = q._offset === undefined ? 0 : Number(q._offset);
  if (!Number.isInteger(count) || count < 0) throw badRequest('_count must be a non-negative integer', '_count');
  if (!Number.isInteger(offset) || offset < 0) throw badRequest('_offset must be a non-negative integer', '_offset');
  if (q._since !== undefined && Number.isNaN(Date.parse(q._since))) throw badRequest(`Invalid _since "${q._since}"`, '_since');
  return { count: Math.min(count, 1000), offset, since: q._since };
}

export async function registerFhirRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  const base: RecordContext = { db: deps.db, strict: deps.strict, codeLookup: await codeLookupFor(deps.db) };
  // per request: writes carry their audit event into their own transaction
  const ctxOf = (request: FastifyRequest): RecordContext => ({ ...base, audit: transactionAuditor(request) });
  const json = (reply: FastifyReply, body: unknown, code = 200): FastifyReply => reply.code(code).type(FHIR_JSON).send(body);

  app.get('/fhir/metadata', async (request, reply) => json(reply, capabilityStatement(baseUrl(request), deps.version)));

  app.post('/fhir', async (request, reply) => {
    const bundle = assertBundle(request.body);
    if (bundle.type === 'transaction') return json(reply, await processTransaction(ctxOf(request), bundle));
    if (bundle.type === 'batch') return json(reply, await processBatch(ctxOf(request), bundle));
    throw badRequest(`Bundle.type must be transaction or batch to POST to the base URL, got "${bundle.type ?? ''}"`, 'Bundle.type');
  });

  app.get('/fhir/_history', async (request, reply) => {
    const h = historyParams(request);
    const r = await readHistory(deps.db, h);
    return json(reply, historyBundle(r.entries, r.total, baseUrl(request)));
  });

  // Sensitive records the caller may not see are left out by the search itself (pages stay full,
  // totals stay true); the security plugin still checks every answer before it leaves.
  const hiddenFor = async (request: FastifyRequest): Promise<HiddenRecords | undefined> => {
    const sec = request.security;
    const codes = sec ? codesNotPermitted(sec.permissions) : [];
    if (!sec || codes.length === 0) return undefined;
    return { codes, exceptPatients: await activeBreakGlassPatients(deps.db, sec.user.id) };
  };

  app.get<{ Params: Params }>('/fhir/:type', async (request, reply) => {
    return json(reply, await searchBundle(deps.db, request.params.type, request.query as Query, { baseUrl: baseUrl(request), strict: strictHandling(request), hidden: await hiddenFor(request) }));
  });

  app.post<{ Params: Params }>('/fhir/:type/_search', async (request, reply) => {
    const form = typeof request.body === 'string' ? Object.fromEntries(new URLSearchParams(request.body)) : {};
    const query = { ...(request.query as Query), ...form };
    return json(reply, await searchBundle(deps.db, request.params.type, query, { baseUrl: baseUrl(request), strict: strictHandling(request), hidden: await hiddenFor(request) }));
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_r, body, done) => done(null, body));

  app.post<{ Params: Params }>('/fhir/:type', async (request, reply) => {
    const ifNoneExist = request.headers['if-none-exist'] as string | undefined;
    const r = await createResource(ctxOf(request), request.params.type, request.body, ifNoneExist);
    return sendWrite(request, reply, r, r.outcome === 'created');
  });

  app.put<{ Params: Params }>('/fhir/:type', async (request, reply) => {
    const q = queryString(request);
    if (!q) throw badRequest('PUT on a type needs search criteria (conditional update) or an id in the URL');
    const r = await conditionalUpdate(ctxOf(request), request.params.type, q, request.body);
    return sendWrite(request, reply, r, r.outcome === 'created');
  });

  app.delete<{ Params: Params }>('/fhir/:type', async (request, reply) => {
    const q = queryString(request);
    if (!q) throw badRequest('DELETE on a type needs search criteria (conditional delete) or an id in the URL');
    await conditionalDelete(ctxOf(request), request.params.type, q);
    return reply.code(204).send();
  });

  app.get<{ Params: Params }>('/fhir/:type/_history', async (request, reply) => {
    assertType(request.params.type);
    const r = await readHistory(deps.db, { ...historyParams(request), resourceType: request.params.type });
    return json(reply, historyBundle(r.entries, r.total, baseUrl(request)));
  });

  app.post<{ Params: Params }>('/fhir/:type/$validate', async (request, reply) => {
    assertType(request.params.type);
    let resource = request.body as Resource | { resourceType: 'Parameters'; parameter?: { name: string; resource?: Resource }[] };
    if (resource && (resource as { resourceType?: string }).resourceType === 'Parameters') {
      resource = ((resource as { parameter?: { name: string; resource?: Resource }[] }).parameter ?? []).find((p) => p.name === 'resource')?.resource as Resource;
    }
    if (!resource) throw badRequest('$validate needs a resource in the body');
    if ((resource as Resource).resourceType !== request.params.type) {
      throw badRequest(`resourceType "${(resource as Resource).resourceType}" does not match "${request.params.type}"`, 'resourceType');
    }
    const { errors, warnings } = validateResource(resource, { strict: deps.strict });
    const issues = [...errors, ...warnings];
    return json(reply, issues.length ? outcome(...issues) : allOk('No issues found'));
  });

  app.get<{ Params: Params }>('/fhir/:type/:id', async (request, reply) => {
    assertType(request.params.type);
    assertId(request.params.id);
    const r = await readResource(deps.db, request.params.type, request.params.id);
    reply.header('ETag', `W/"${r.versionId}"`).header('Last-Modified', new Date(r.lastUpdated).toUTCString());
    return json(reply, r.resource);
  });

  app.put<{ Params: Params }>('/fhir/:type/:id', async (request, reply) => {
    const r = await updateResource(ctxOf(request), request.params.type, request.params.id, request.body, ifMatchVersion(request));
    return sendWrite(request, reply, r, r.outcome === 'created');
  });

  app.delete<{ Params: Params }>('/fhir/:type/:id', async (request, reply) => {
    const r = await deleteResource(ctxOf(request), request.params.type, request.params.id);
    if (r.versionId) reply.header('ETag', `W/"${r.versionId}"`);
    return reply.code(204).send();
  });

  app.post<{ Params: Params }>('/fhir/:type/:id', async (request) => {
    if (request.params.id.startsWith('$')) throw notSupported(`Operation ${request.params.id} is not supported on ${request.params.type}`, 404);
    throw notSupported(`POST is not allowed on ${request.params.type}/${request.params.id}; use PUT to update`, 405);
  });

  app.route<{ Params: Params }>({
    method: ['PATCH'],
    url: '/fhir/*',
    handler: async (request) => {
      throw new OperationOutcomeError(outcome(issue('error', 'not-supported', `Method ${request.method} is not supported`)), 405);
    },
  });

  app.get<{ Params: Params }>('/fhir/:type/:id/_history', async (request, reply) => {
    assertType(request.params.type);
    assertId(request.params.id);
    await readResource(deps.db, request.params.type, request.params.id).catch((e: OperationOutcomeError) => {
      if (e.status !== 410) throw e;
    });
    const r = await readHistory(deps.db, { ...historyParams(request), resourceType: request.params.type, id: request.params.id });
    return json(reply, historyBundle(r.entries, r.total, baseUrl(request)));
  });

  // Compartment search (Patient/123/Condition) and Patient/123/$everything.
  app.get<{ Params: Params & { compartmentType: string } }>('/fhir/:type/:id/:compartmentType', async (request, reply) => {
    const { type, id, compartmentType } = request.params;
    if (type !== 'Patient') throw notSupported(`Only the Patient compartment is supported, not ${type}`, 404);
    assertId(id);
    const q = request.query as Record<string, string | undefined>;
    if (compartmentType === '$everything') {
      const count = q._count === undefined ? 100 : Number(q._count);
      if (!Number.isInteger(count) || count < 1) throw badRequest('_count must be a positive integer', '_count');
      const types = q._type ? q._type.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
      return json(reply, await patientEverything(deps.db, id, { since: q._since, types, count: Math.min(count, 1000), cursor: q._cursor }, baseUrl(request)));
    }
    assertType(compartmentType);
    return json(reply, await compartmentSearch(deps.db, id, compartmentType, request.query as Query, { baseUrl: baseUrl(request), strict: strictHandling(request), path: `Patient/${id}/${compartmentType}`, hidden: await hiddenFor(request) }));
  });

  app.get<{ Params: Params }>('/fhir/:type/:id/_history/:vid', async (request, reply) => {
    assertType(request.params.type);
    assertId(request.params.id);
    const vid = Number(request.params.vid);
    if (!Number.isInteger(vid) || vid < 1) throw badRequest(`Invalid version "${request.params.vid}"`);
    const r = await readVersion(deps.db, request.params.type, request.params.id, vid);
    reply.header('ETag', `W/"${r.versionId}"`).header('Last-Modified', new Date(r.lastUpdated).toUTCString());
    return json(reply, r.resource);
  });
}
