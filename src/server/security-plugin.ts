/**
 * Security for the whole app, switched on by AppOptions.auth (`custodian serve` always sets it; only
 * unit tests of other modules build the app without it):
 * - every registered route is collected (onRoute) and must have a rule in security/route-permissions.ts;
 * - bearer JWT authentication with server-side sessions (logout, inactivity log-off, disabled users);
 * - authorisation by role permissions and SMART scopes, per FHIR resource type;
 * - sensitive-label filtering of FHIR responses (canSee), break-the-glass;
 * - an audit record (BALP AuditEvent, hash-chained) for every authenticated request, committed before the answer;
 * - hardening: rate limits, security headers, closed CORS.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEvent, Bundle, Resource } from '@medplum/fhirtypes';
import { buildAuditEvent, type AuditInput, type AuditKind } from '../audit/balp.js';
import { authorize, type Caller, type FhirTarget } from '../security/authorize.js';
import { decideVisibility, sensitiveLabels, type Viewer } from '../security/labels.js';
import { permissionsOf } from '../security/roles.js';
import { routeRule, type RouteRule } from '../security/route-permissions.js';
import type { Interaction } from '../security/smart-scopes.js';
import { verifyAccessToken, type AccessClaims } from '../security/tokens.js';
import { AuditWriter, auditInTransaction } from '../store/audit-store.js';
import type { RecordContext } from '../records/context.js';
import type { Db, Queryable } from '../store/db.js';
import type { WriteResult } from '../store/repository.js';
import { patientCompartments } from '../fhir/compartments.js';
import { buildIndexRows } from '../fhir/index-values.js';
import { activeBreakGlassPatients, findSession, findUserById, signingSecret, touchSession, visibilityFacts } from '../store/security-store.js';
import { forbidden, issue, outcome, OperationOutcomeError, unauthorized } from '../fhir/outcomes.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerAuditRoutes } from './audit-routes.js';
import type { AuthOptions, SecurityContext, SecurityRuntime } from './security-types.js';

export type { AuthOptions, SecurityContext, SecurityRuntime } from './security-types.js';

class RateLimiter {
  private windows = new Map<string, { start: number; count: number }>();
  constructor(private readonly perMinute: number) {}
  /** true when allowed */
  hit(key: string, now = Date.now()): boolean {
    const w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) {
      if (this.windows.size > 10_000) this.windows.clear();
      this.windows.set(key, { start: now, count: 1 });
      return true;
    }
    w.count += 1;
    return w.count <= this.perMinute;
  }
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'; object-src 'none'",
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

function routeKey(request: FastifyRequest): { rule: RouteRule | undefined; url: string | undefined } {
  const url = request.routeOptions.url;
  return { rule: url ? routeRule(request.method, url) : undefined, url };
}

const INTERACTIONS: Record<string, Interaction> = { GET: 'read', POST: 'create', PUT: 'update', DELETE: 'delete', PATCH: 'update' };

function fhirTargets(request: FastifyRequest, rule: RouteRule): FhirTarget[] {
  if (rule.kind === 'fhir') {
    const params = request.params as Record<string, string | undefined>;
    const type = params.type ?? (params['*'] ?? request.url.slice('/fhir/'.length)).split(/[/?]/)[0] ?? '';
    if (!type) return [];
    const targets: FhirTarget[] = [{ resourceType: type, interaction: rule.action }];
    if (params.compartmentType) targets.push({ resourceType: params.compartmentType, interaction: 'search' });
    return targets;
  }
  if (rule.kind === 'fhir-bundle') {
    const body = request.body as Bundle | undefined;
    const out: FhirTarget[] = [];
    for (const e of body?.entry ?? []) {
      const method = e.request?.method ?? 'GET';
      const type = (e.request?.url ?? '').replace(/^\//, '').split(/[/?]/)[0] || e.resource?.resourceType || '';
      const isSearch = method === 'GET' && !/^[^/?]+\/[^/?]+/.test((e.request?.url ?? '').replace(/^\//, ''));
      out.push({ resourceType: type, interaction: isSearch ? 'search' : (INTERACTIONS[method] ?? 'read') });
    }
    return out;
  }
  return [];
}

function clientAddress(request: FastifyRequest): string {
  return request.ip;
}

function restInteraction(method: string, rule: RouteRule | undefined, url: string | undefined): AuditKind {
  if (rule?.kind === 'fhir-bundle') return { type: 'rest', interaction: 'transaction' };
  if (url?.includes('_history')) return { type: 'rest', interaction: url.endsWith(':vid') ? 'vread' : 'history' };
  if (url?.includes('$export')) return { type: 'export' };
  if (url?.endsWith('$merge') || url?.endsWith('$unmerge')) return { type: 'merge' };
  if (url?.includes('$')) return { type: 'rest', interaction: 'operation' };
  if (rule?.kind === 'fhir') return { type: 'rest', interaction: rule.action };
  return { type: 'rest', interaction: method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : method === 'PUT' || method === 'PATCH' ? 'update' : 'operation' };
}

export async function registerSecurity(app: FastifyInstance, db: Db, auth: AuthOptions): Promise<SecurityRuntime> {
  const secret = auth.jwtSecret ?? (await signingSecret(db));
  const options = {
    audit: auth.audit ?? true,
    accessTokenSeconds: auth.accessTokenSeconds ?? 15 * 60,
    idleTimeoutSeconds: auth.idleTimeoutSeconds ?? 30 * 60,
    maxLoginFailures: auth.maxLoginFailures ?? 5,
    lockoutSeconds: auth.lockoutSeconds ?? 15 * 60,
    loginPerMinute: auth.loginPerMinute ?? 20,
    apiPerMinute: auth.apiPerMinute ?? 6000,
    breakGlassMinutes: auth.breakGlassMinutes ?? 60,
    corsOrigins: auth.corsOrigins ?? [],
  };
  const writer = options.audit ? new AuditWriter(db) : undefined;
  const routes: string[] = [];
  const runtime: SecurityRuntime = {
    db,
    secret,
    options,
    audit: writer,
    routes,
    async recordAudit(input) {
      if (writer) await writer.append(buildAuditEvent(input));
    },
  };
  app.decorate('securityRuntime', runtime);
  app.decorateRequest('security', null);
  app.decorateRequest('auditInfo', null);

  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) if (m !== 'HEAD' && m !== 'OPTIONS') routes.push(`${m} ${r.url}`);
  });

  const loginLimiter = new RateLimiter(options.loginPerMinute);
  const apiLimiter = new RateLimiter(options.apiPerMinute);
  // sessions checked at most every few seconds per session (logout and disable take effect within that)
  const sessionCache = new Map<string, { checkedAt: number; ok: boolean; touchedAt: number }>();

  async function sessionAlive(claims: AccessClaims): Promise<boolean> {
    const now = Date.now();
    const c = sessionCache.get(claims.sid);
    if (c && now - c.checkedAt < 2_000) return c.ok;
    const s = await findSession(db, claims.sid);
    const ok = !!s && !s.revoked && s.userId === claims.sub && now - s.lastSeen.getTime() <= options.idleTimeoutSeconds * 1000;
    let touchedAt = c?.touchedAt ?? 0;
    if (ok && now - touchedAt > 10_000) {
      await touchSession(db, claims.sid);
      touchedAt = now;
    }
    if (sessionCache.size > 50_000) sessionCache.clear();
    sessionCache.set(claims.sid, { checkedAt: now, ok, touchedAt });
    return ok;
  }
  runtime.recordAudit = runtime.recordAudit.bind(runtime);
  (runtime as SecurityRuntime & { forgetSession: (sid: string) => void }).forgetSession = (sid) => sessionCache.delete(sid);

  async function authenticate(request: FastifyRequest): Promise<SecurityContext | undefined> {
    const h = request.headers.authorization;
    if (!h || !/^Bearer\s+/i.test(h)) return undefined;
    let claims: AccessClaims;
    try {
      claims = await verifyAccessToken(h.replace(/^Bearer\s+/i, '').trim(), secret);
    } catch {
      return undefined;
    }
    if (!(await sessionAlive(claims))) return undefined;
    return {
      user: { id: claims.sub, username: claims.username, roles: claims.roles },
      sid: claims.sid,
      permissions: permissionsOf(claims.roles),
      scope: claims.scope,
      patient: claims.patient,
    };
  }

  const deny = async (request: FastifyRequest, status: 401 | 403, reason: string): Promise<never> => {
    const info = (request.auditInfo ??= { references: [], patientIds: new Set() });
    info.kind = { type: 'access-denied' };
    if (status === 401) throw unauthorized(reason);
    throw forbidden(reason);
  };

  app.addHook('onRequest', async (request, reply) => {
    const { rule, url } = routeKey(request);
    if (url === undefined) return; // no route: the not-found handler answers
    const ip = clientAddress(request);
    if (rule?.kind === 'public') {
      if (url.startsWith('/auth/') && !loginLimiter.hit(ip)) {
        reply.header('retry-after', '60');
        throw new OperationOutcomeError(outcome(issue('error', 'throttled', 'Too many sign-in attempts; try again in a minute')), 429);
      }
      return;
    }
    const ctx = await authenticate(request);
    if (!apiLimiter.hit(ctx ? `u:${ctx.user.id}` : `ip:${ip}`)) {
      reply.header('retry-after', '60');
      throw new OperationOutcomeError(outcome(issue('error', 'throttled', 'Too many requests; slow down')), 429);
    }
    request.auditInfo = { references: [], patientIds: new Set() };
    if (!ctx) {
      reply.header('www-authenticate', 'Bearer realm="custodian"');
      request.auditInfo.handled = true; // anonymous probes are not audited per request (rate-limited instead)
      throw unauthorized(request.headers.authorization ? 'The access token is invalid, expired or logged off' : 'Authentication required');
    }
    request.security = ctx;
  });

  app.addHook('preHandler', async (request) => {
    const { rule, url } = routeKey(request);
    if (url === undefined || rule?.kind === 'public' || !request.security) return;
    const caller: Caller = { permissions: request.security.permissions, scope: request.security.scope };
    const d = authorize(rule, caller, rule ? fhirTargets(request, rule) : []);
    if (!d.allow) return deny(request, d.status, d.reason);
    request.security.patientOnly = d.patientOnly === true && !!request.security.patient;
    if (d.patientOnly && !request.security.patient) return deny(request, 403, 'A patient/ scope needs a patient in the token');
  });

  // Sensitive records: drop what the caller may not see from FHIR answers, and note what was returned for the audit.
  app.addHook('preSerialization', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const sec = request.security;
    const info = request.auditInfo;
    if (!sec || !info || !request.url.startsWith('/fhir') || !payload || typeof payload !== 'object') return payload;
    const p = payload as Resource;
    const resources: Resource[] = [];
    if (p.resourceType === 'Bundle') {
      for (const e of (p as Bundle).entry ?? []) {
        if (e.resource?.resourceType && e.resource.id && e.resource.resourceType !== 'OperationOutcome') resources.push(e.resource);
        else if (e.response?.location) info.references.push(e.response.location.replace(/\/_history\/.*$/, '').replace(/^.*\/fhir\//, ''));
      }
    } else if (p.resourceType !== 'OperationOutcome' && p.resourceType !== 'CapabilityStatement' && p.id) resources.push(p);
    if (resources.length === 0) return payload;
    const { rule } = routeKey(request);
    const isRead = request.method === 'GET' || (rule?.kind === 'fhir' && (rule.action === 'read' || rule.action === 'search'));
    if (!isRead) {
      // a write echoes what its author sent: note it for the audit, hide nothing; but a conditional
      // create that matched returns the stored resource, which a patient/ token sees only from its patient
      if (sec.patientOnly && sec.patient) {
        const facts = await visibilityFacts(db, resources.map((r) => ({ resourceType: r.resourceType, id: r.id as string })));
        const outside = resources.some((r) => !(facts.get(`${r.resourceType}/${r.id}`)?.compartments ?? []).includes(sec.patient as string));
        if (outside) {
          reply.code(403);
          info.kind = { type: 'access-denied' };
          return outcome(issue('error', 'forbidden', 'This record is outside the patient context of the token'));
        }
      }
      for (const r of resources) info.references.push(`${r.resourceType}/${r.id}`);
      return payload;
    }
    const facts = await visibilityFacts(db, resources.map((r) => ({ resourceType: r.resourceType, id: r.id as string })));
    let breakGlass: Set<string> | undefined;
    const viewerFor = async (needBreakGlass: boolean): Promise<Viewer> => {
      if (needBreakGlass && !breakGlass) breakGlass = new Set(await activeBreakGlassPatients(db, sec.user.id));
      return { permissions: sec.permissions, breakGlassPatients: breakGlass ?? new Set(), patientContext: sec.patientOnly ? sec.patient : undefined };
    };
    const hidden = new Set<Resource>();
    let deniedLabels: string[] = [];
    for (const r of resources) {
      const f = facts.get(`${r.resourceType}/${r.id}`);
      const patientIds = f?.compartments ?? (r.resourceType === 'Patient' ? [r.id as string] : []);
      const patientLabels = new Map(Object.entries(f?.patientSecurity ?? {}).map(([k, v]) => [k, sensitiveLabels(v)]));
      let d = decideVisibility(await viewerFor(false), r, { patientIds, patientLabels });
      if (!d.visible && d.reason === 'label') d = decideVisibility(await viewerFor(true), r, { patientIds, patientLabels });
      if (!d.visible) {
        hidden.add(r);
        deniedLabels = d.labels;
        continue;
      }
      info.references.push(`${r.resourceType}/${r.id}`);
      for (const pid of patientIds) info.patientIds.add(pid);
    }
    if (hidden.size === 0) return payload;
    if (p.resourceType !== 'Bundle') {
      reply.code(403);
      info.kind = { type: 'access-denied' };
      const text = deniedLabels.length
        ? `This record is restricted (${deniedLabels.join(', ')}); use break-the-glass with a reason to open this patient`
        : 'This record is outside the patient context of the token';
      return outcome(issue('error', 'forbidden', text));
    }
    const b = p as Bundle;
    const entries = (b.entry ?? []).filter((e) => !(e.resource && hidden.has(e.resource)));
    const removed = (b.entry?.length ?? 0) - entries.length;
    return { ...b, entry: entries, total: b.total === undefined ? undefined : Math.max(0, b.total - removed) };
  });

  app.addHook('onSend', async (request, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    const origin = request.headers.origin;
    if (origin && options.corsOrigins.includes(origin)) reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    const info = request.auditInfo;
    if (!writer || !info || info.handled || !request.security) return payload;
    if (info.inTransaction && reply.statusCode < 400) return payload; // audited with the write itself
    const { rule, url } = routeKey(request);
    const status = reply.statusCode;
    if (status < 400 && request.method !== 'GET') {
      const loc = reply.getHeader('location');
      if (typeof loc === 'string' && loc.includes('/fhir/')) info.references.push(loc.replace(/\/_history\/.*$/, '').replace(/^.*\/fhir\//, ''));
      const params = request.params as Record<string, string | undefined>;
      if (info.references.length === 0 && params.type && params.id) info.references.push(`${params.type}/${params.id}`);
      // writes: the patients whose compartments hold the written resources
      const keys = info.references.map((r) => r.split('/')).filter((x) => x.length === 2).map(([t, i]) => ({ resourceType: t as string, id: i as string }));
      for (const f of (await visibilityFacts(db, keys)).values()) for (const pid of f.compartments) info.patientIds.add(pid);
    }
    const i = request.url.indexOf('?');
    const kind = info.kind ?? restInteraction(request.method, rule, url);
    const event: AuditInput = {
      kind,
      success: status < 400,
      user: { username: request.security.user.username, id: request.security.user.id, roles: request.security.user.roles },
      clientAddress: clientAddress(request),
      patientIds: [...info.patientIds],
      references: [...new Set(info.references)],
      query: kind.type === 'rest' && (kind.interaction === 'search' || request.method === 'GET') && i >= 0 ? request.url.slice(i + 1) : undefined,
      purposeOfUse: request.security.user.roles.includes('provider') ? 'TREAT' : 'HOPERAT',
      description: `${request.method} ${request.url.split('?')[0]} -> ${status}`,
    };
    try {
      await writer.append(buildAuditEvent(event));
    } catch (err) {
      request.log.error({ err }, 'audit append failed');
      // fail closed: what cannot be audited is not answered (an error answer stays as it is)
      if (status < 400) {
        reply.code(500).type('application/fhir+json; charset=utf-8');
        return JSON.stringify(outcome(issue('fatal', 'exception', 'The audit trail is unavailable; the request was not completed')));
      }
    }
    return payload;
  });

  await registerAuthRoutes(app, runtime);
  await registerAuditRoutes(app, runtime);
  return runtime;
}

/** Patients whose compartments held the previous versions of updated resources (read in the write's transaction). */
async function previousCompartments(tx: Queryable, updated: WriteResult[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (updated.length === 0) return out;
  const rows = (await tx.query<{ resource_type: string; id: string; content: Resource | string }>(
    `SELECT h.resource_type, h.id, h.content FROM resource_version h
       JOIN unnest($1::text[], $2::text[], $3::int[]) AS k(t, i, v) ON h.resource_type = k.t AND h.id = k.i AND h.version_id = k.v
      WHERE NOT h.deleted`,
    [updated.map((r) => r.resourceType), updated.map((r) => r.id), updated.map((r) => r.versionId - 1)],
  )).rows;
  for (const row of rows) {
    const prev = (typeof row.content === 'string' ? JSON.parse(row.content) : row.content) as Resource;
    out.set(`${row.resource_type}/${row.id}`, patientCompartments(prev, buildIndexRows(prev).reference));
  }
  return out;
}

/**
 * A SMART patient/ token writes only inside its patient's compartment: every resource it creates,
 * updates or deletes must be in that compartment before (updates, deletes) and after (creates,
 * updates) the write. Runs in the write's transaction, so a refused write rolls back whole.
 */
async function enforcePatientScope(tx: Queryable, patient: string, results: WriteResult[]): Promise<void> {
  const before = await previousCompartments(tx, results.filter((r) => r.outcome === 'updated'));
  for (const r of results) {
    if (r.outcome === 'already-deleted' && r.compartments.length === 0) continue; // nothing there, nothing written
    const sets = [r.compartments];
    const prev = before.get(`${r.resourceType}/${r.id}`);
    if (prev) sets.push(prev);
    if (!sets.every((c) => c.includes(patient))) {
      throw forbidden(`${r.resourceType}/${r.id} is outside the compartment of Patient/${patient}, the patient of this token; a patient/ scope writes only there`);
    }
  }
}

/**
 * The in-transaction hook of a FHIR write for the record services: refuses writes outside the
 * patient compartment of a SMART patient/ token, then appends the write's AuditEvent to the chain
 * inside the write's own transaction, so a write and its audit record commit together (or neither).
 * Undefined when there is nothing to do (not authenticated, or auditing off and no patient scope).
 */
export function transactionAuditor(request: FastifyRequest): RecordContext['audit'] {
  const sec = request.security;
  const info = request.auditInfo;
  const runtime = (request.server as Partial<FastifyInstance>).securityRuntime;
  if (!sec || !info) return undefined;
  const patient = sec.patientOnly ? sec.patient : undefined;
  const audit = !!runtime?.audit;
  if (!audit && !patient) return undefined;
  return async (tx, interaction, results) => {
    if (patient) {
      try {
        await enforcePatientScope(tx, patient, results);
      } catch (err) {
        info.kind = { type: 'access-denied' };
        throw err;
      }
    }
    if (!audit) return;
    const references = results.filter((r) => r.versionId > 0).map((r) => `${r.resourceType}/${r.id}`);
    const patientIds = [...new Set(results.flatMap((r) => r.compartments))];
    await auditInTransaction(tx, buildAuditEvent({
      kind: { type: 'rest', interaction },
      success: true,
      user: { username: sec.user.username, id: sec.user.id, roles: sec.user.roles },
      clientAddress: clientAddress(request),
      patientIds,
      references,
      purposeOfUse: sec.user.roles.includes('provider') ? 'TREAT' : 'HOPERAT',
      description: `${request.method} ${request.url.split('?')[0]}`,
    }));
    info.inTransaction = true;
  };
}

/** The audit events a request produced, for tests and reports. */
export type { AuditEvent };

export function requireSecurity(request: FastifyRequest): SecurityContext {
  if (!request.security) throw unauthorized();
  return request.security;
}

export async function flushAudit(app: FastifyInstance): Promise<void> {
  await app.securityRuntime?.audit?.flush();
}

export { findUserById };
