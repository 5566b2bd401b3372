/**
 * The permission every HTTP route needs, in one table keyed by method and URL pattern exactly as
 * Fastify registers it. A route that matches no rule is denied (deny by default), and the route x role
 * test fails when a registered route has no rule. FHIR routes resolve to a per-resource-type
 * permission at request time (see roles.fhirPermission); HIM module routes resolve by prefix.
 */
import type { Permission } from './roles.js';

export type RouteRule =
  | { kind: 'public' }
  | { kind: 'permission'; permission: Permission }
  /** FHIR interaction: the resource type comes from the :type parameter (or the first path segment). */
  | { kind: 'fhir'; action: 'read' | 'search' | 'create' | 'update' | 'delete' }
  /** A transaction or batch Bundle: each entry is checked by its method and resource type. */
  | { kind: 'fhir-bundle' };

const pub: RouteRule = { kind: 'public' };
const perm = (permission: Permission): RouteRule => ({ kind: 'permission', permission });
const fhir = (action: 'read' | 'search' | 'create' | 'update' | 'delete'): RouteRule => ({ kind: 'fhir', action });

export const ROUTE_PERMISSIONS: Readonly<Record<string, RouteRule>> = {
  // public: the capability statement, login, the web app's static files
  'GET /fhir/metadata': pub,
  'POST /auth/login': pub,
  'POST /auth/refresh': pub,
  'POST /auth/token': pub, // client credentials: the client authenticates in the body
  'GET /': pub,
  'GET /index.html': pub,
  'GET /favicon.ico': pub,
  'GET /assets/*': pub,

  // FHIR REST
  'POST /fhir': { kind: 'fhir-bundle' },
  'GET /fhir/_history': perm('fhir.history'),
  'GET /fhir/:type': fhir('search'),
  'POST /fhir/:type/_search': fhir('search'),
  'POST /fhir/:type': fhir('create'),
  'PUT /fhir/:type': fhir('update'),
  'DELETE /fhir/:type': fhir('delete'),
  'GET /fhir/:type/_history': fhir('read'),
  'POST /fhir/:type/$validate': fhir('read'),
  'GET /fhir/:type/:id': fhir('read'),
  'PUT /fhir/:type/:id': fhir('update'),
  'DELETE /fhir/:type/:id': fhir('delete'),
  'POST /fhir/:type/:id': fhir('update'),
  'PATCH /fhir/*': fhir('update'),
  'GET /fhir/:type/:id/_history': fhir('read'),
  'GET /fhir/:type/:id/_history/:vid': fhir('read'),
  'GET /fhir/:type/:id/:compartmentType': fhir('search'), // compartment search: checks both types

  // FHIR operations of the HIM modules
  'GET /fhir/CodeSystem/$lookup': perm('terminology.read'),
  'POST /fhir/CodeSystem/$lookup': perm('terminology.read'),
  'GET /fhir/CodeSystem/$validate-code': perm('terminology.read'),
  'POST /fhir/CodeSystem/$validate-code': perm('terminology.read'),
  'GET /fhir/ValueSet/$validate-code': perm('terminology.read'),
  'POST /fhir/ValueSet/$validate-code': perm('terminology.read'),
  'GET /fhir/ValueSet/$expand': perm('terminology.read'),
  'POST /fhir/ValueSet/$expand': perm('terminology.read'),
  'POST /fhir/Patient/$match': perm('mpi.read'),
  'POST /fhir/Patient/$merge': perm('mpi.write'),
  'POST /fhir/Patient/$unmerge': perm('mpi.write'),

  'GET /fhir/Patient/:id/$everything': fhir('read'),
  'GET /fhir/Patient/$everything': fhir('read'),
  // bulk export leaves the API as files, past label filtering: only roles that release records in bulk
  'GET /fhir/$export': perm('fhir.export'),
  'GET /fhir/Patient/$export': perm('fhir.export'),
  'GET /fhir/Group/:id/$export': perm('fhir.export'),
  'GET /fhir/$export-status/:job': perm('fhir.export'),
  'DELETE /fhir/$export-status/:job': perm('fhir.export'),
  'GET /fhir/$export-file/:job/:file': perm('fhir.export'),

  // HIM API routes whose prefix rule would not fit
  'POST /api/terminology/edits': perm('coding.read'), // runs code edits on a claim; changes nothing

  // authentication, users, audit, privacy
  'POST /auth/logout': perm('self'),
  'GET /api/me': perm('self'),
  'GET /api/users': perm('users.manage'),
  'POST /api/users': perm('users.manage'),
  'PATCH /api/users/:username': perm('users.manage'),
  'GET /api/audit': perm('audit.read'),
  'GET /api/audit/verify': perm('audit.read'),
  'GET /api/disclosures': perm('disclosures.read'),
  'POST /api/disclosures': perm('disclosures.write'),
  'POST /api/break-the-glass': perm('break-glass'),
};

/** HIM modules: every route under a prefix needs the module's read permission for GET, its write permission otherwise. */
export const PREFIX_RULES: readonly { prefix: string; read: Permission; write: Permission }[] = [
  { prefix: '/api/mpi/', read: 'mpi.read', write: 'mpi.write' },
  { prefix: '/api/checks/', read: 'checks.read', write: 'checks.run' },
  { prefix: '/api/quality/', read: 'quality.read', write: 'quality.run' },
  { prefix: '/api/deficiencies/', read: 'quality.read', write: 'quality.run' },
  { prefix: '/api/terminology/', read: 'terminology.read', write: 'terminology.write' },
  { prefix: '/api/coding/', read: 'coding.read', write: 'coding.write' },
  { prefix: '/api/claims/', read: 'claims.read', write: 'claims.write' },
  { prefix: '/api/interfaces/', read: 'interfaces.read', write: 'interfaces.write' },
  { prefix: '/api/jobs/', read: 'jobs.read', write: 'jobs.read' },
];

/** The rule for a route as registered (method, URL pattern); undefined means denied. */
export function routeRule(method: string, url: string): RouteRule | undefined {
  const exact = ROUTE_PERMISSIONS[`${method} ${url}`];
  if (exact) return exact;
  for (const p of PREFIX_RULES) {
    if (url.startsWith(p.prefix) || url === p.prefix.slice(0, -1)) return perm(method === 'GET' ? p.read : p.write);
  }
  return undefined;
}
