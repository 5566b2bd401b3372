// Every registered route x every role: the decision must match the table below. A new route without a
// permission in src/security/route-permissions.ts, or without a line here, fails this test.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import { testApp } from '../helpers/app.js';
import { authorize, type FhirTarget } from '../../src/security/authorize.js';
import { permissionsOf, ROLES, type Role } from '../../src/security/roles.js';
import { PREFIX_RULES, routeRule } from '../../src/security/route-permissions.js';
import type { FastifyInstance } from 'fastify';

const ALL = [...ROLES];
const R = (...roles: Role[]): Role[] => roles;
const PUBLIC = 'public' as const;

// who may do what (the specification; not derived from the code)
const MANAGE_USERS = R('admin');
const READ_AUDIT = R('privacy-officer', 'auditor', 'admin');
const READ_DISCLOSURES = R('him-technician', 'him-manager', 'privacy-officer', 'auditor', 'admin');
const WRITE_DISCLOSURES = R('him-technician', 'privacy-officer');
const BREAK_GLASS = R('him-technician', 'coder', 'cdi-specialist', 'provider');
const HISTORY_ALL = R('him-manager', 'privacy-officer', 'auditor', 'integration', 'admin');
const MPI_READ = R('him-technician', 'him-manager', 'privacy-officer', 'admin');
const MPI_WRITE = R('him-technician');
const CHECKS_READ = R('him-technician', 'coder', 'cdi-specialist', 'billing', 'him-manager', 'auditor', 'admin');
const CHECKS_RUN = R('him-technician', 'coder', 'billing', 'him-manager', 'admin');
const QUALITY_READ = R('him-technician', 'coder', 'cdi-specialist', 'him-manager', 'privacy-officer', 'auditor', 'admin');
const QUALITY_RUN = R('him-manager', 'admin');
const CODING_READ = R('him-technician', 'coder', 'cdi-specialist', 'billing', 'him-manager', 'auditor', 'provider', 'admin');
const CODING_WRITE = R('coder');
const TERMINOLOGY_WRITE = R('integration', 'admin');
const CLAIMS_READ = R('coder', 'billing', 'him-manager', 'auditor', 'admin');
const CLAIMS_WRITE = R('billing');
const INTERFACES = R('integration', 'admin');
const EXPORT = R('him-technician', 'him-manager', 'integration', 'admin');

/** FHIR interactions by resource type: who may read and who may write. */
const FHIR: Record<string, { read: Role[]; write: Role[] }> = {
  Observation: { read: ALL, write: R('provider', 'integration') },
  Patient: { read: ALL, write: R('him-technician', 'integration') },
  Task: { read: ALL, write: R('him-technician', 'coder', 'cdi-specialist', 'billing', 'him-manager', 'privacy-officer', 'provider', 'integration') },
  Claim: { read: ALL, write: R('billing', 'integration') },
  ValueSet: { read: ALL, write: R('integration', 'admin') },
  AuditEvent: { read: READ_AUDIT, write: [] },
};

type Expect = Role[] | typeof PUBLIC | 'fhir-read' | 'fhir-write' | 'fhir-bundle';

const EXPECT: Record<string, Expect> = {
  'GET /fhir/metadata': PUBLIC,
  'POST /auth/login': PUBLIC,
  'POST /auth/refresh': PUBLIC,
  'POST /auth/token': PUBLIC,
  'GET /': PUBLIC,
  'GET /index.html': PUBLIC,
  'GET /favicon.ico': PUBLIC,
  'GET /assets/*': PUBLIC,
  'POST /fhir': 'fhir-bundle',
  'GET /fhir/_history': HISTORY_ALL,
  'GET /fhir/:type': 'fhir-read',
  'POST /fhir/:type/_search': 'fhir-read',
  'POST /fhir/:type': 'fhir-write',
  'PUT /fhir/:type': 'fhir-write',
  'DELETE /fhir/:type': 'fhir-write',
  'GET /fhir/:type/_history': 'fhir-read',
  'POST /fhir/:type/$validate': 'fhir-read',
  'GET /fhir/:type/:id': 'fhir-read',
  'PUT /fhir/:type/:id': 'fhir-write',
  'DELETE /fhir/:type/:id': 'fhir-write',
  'POST /fhir/:type/:id': 'fhir-write',
  'PATCH /fhir/*': 'fhir-write',
  'GET /fhir/:type/:id/_history': 'fhir-read',
  'GET /fhir/:type/:id/_history/:vid': 'fhir-read',
  'GET /fhir/:type/:id/:compartmentType': 'fhir-read',
  'GET /fhir/CodeSystem/$lookup': ALL,
  'POST /fhir/CodeSystem/$lookup': ALL,
  'GET /fhir/CodeSystem/$validate-code': ALL,
  'POST /fhir/CodeSystem/$validate-code': ALL,
  'GET /fhir/ValueSet/$validate-code': ALL,
  'POST /fhir/ValueSet/$validate-code': ALL,
  'GET /fhir/ValueSet/$expand': ALL,
  'POST /fhir/ValueSet/$expand': ALL,
  'POST /fhir/Patient/$match': MPI_READ,
  'POST /fhir/Patient/$merge': MPI_WRITE,
  'POST /fhir/Patient/$unmerge': MPI_WRITE,
  'POST /api/terminology/edits': CODING_READ,
  'GET /fhir/Patient/:id/$everything': 'fhir-read',
  'GET /fhir/Patient/$everything': 'fhir-read',
  'GET /fhir/$export': EXPORT,
  'GET /fhir/Patient/$export': EXPORT,
  'GET /fhir/Group/:id/$export': EXPORT,
  'GET /fhir/$export-status/:job': EXPORT,
  'DELETE /fhir/$export-status/:job': EXPORT,
  'GET /fhir/$export-file/:job/:file': EXPORT,
  'POST /auth/logout': ALL,
  'GET /api/me': ALL,
  'GET /api/users': MANAGE_USERS,
  'POST /api/users': MANAGE_USERS,
  'PATCH /api/users/:username': MANAGE_USERS,
  'GET /api/audit': READ_AUDIT,
  'GET /api/audit/verify': READ_AUDIT,
  'GET /api/disclosures': READ_DISCLOSURES,
  'POST /api/disclosures': WRITE_DISCLOSURES,
  'POST /api/break-the-glass': BREAK_GLASS,
};

/** HIM module routes are governed by their prefix: GET needs the first list, other methods the second. */
const PREFIX_EXPECT: Record<string, [Role[], Role[]]> = {
  '/api/mpi/': [MPI_READ, MPI_WRITE],
  '/api/checks/': [CHECKS_READ, CHECKS_RUN],
  '/api/quality/': [QUALITY_READ, QUALITY_RUN],
  '/api/deficiencies/': [QUALITY_READ, QUALITY_RUN],
  '/api/terminology/': [ALL, TERMINOLOGY_WRITE],
  '/api/coding/': [CODING_READ, CODING_WRITE],
  '/api/claims/': [CLAIMS_READ, CLAIMS_WRITE],
  '/api/interfaces/': [INTERFACES, INTERFACES],
  '/api/jobs/': [ALL, ALL],
};

function expectationFor(route: string): Expect | undefined {
  if (EXPECT[route]) return EXPECT[route];
  const [method, url] = route.split(' ') as [string, string];
  for (const [prefix, [read, write]] of Object.entries(PREFIX_EXPECT)) if (url.startsWith(prefix)) return method === 'GET' ? read : write;
  return undefined;
}

function sampleUrl(url: string): string {
  return url.replace(':type', 'Observation').replace(':id', 'example').replace(':vid', '1').replace(':username', 'someone').replace(/:[a-zA-Z]+/g, 'x').replace('*', 'Observation/example');
}

for (const backend of backends().filter((b) => b.name === 'pglite')) {
  describe('route x role', () => {
    let app: FastifyInstance;
    let routes: string[];
    let close: () => Promise<void>;
    before(async () => {
      const t = await testApp(backend, { auth: { jwtSecret: new TextEncoder().encode('route-role-test-secret-0123456789') } });
      app = t.app;
      close = t.close;
      await app.ready();
      routes = [...new Set(app.securityRuntime.routes)].sort();
    });
    after(async () => close());

    it('every registered route has a permission rule (deny by default otherwise)', () => {
      assert.ok(routes.length > 30, `expected the full app, got ${routes.length} routes`);
      const missing = routes.filter((r) => {
        const [m, u] = r.split(' ') as [string, string];
        return routeRule(m, u) === undefined;
      });
      assert.deepEqual(missing, [], `routes without a permission in src/security/route-permissions.ts: ${missing.join(', ')}`);
      for (const p of PREFIX_RULES) assert.ok(PREFIX_EXPECT[p.prefix], `no expectation for prefix ${p.prefix}`);
    });

    it('every route x every role decides as the table says', () => {
      const failures: string[] = [];
      for (const route of routes) {
        const exp = expectationFor(route);
        if (!exp) {
          failures.push(`${route}: no expectation in test/security/route-role.test.ts`);
          continue;
        }
        const [m, u] = route.split(' ') as [string, string];
        const rule = routeRule(m, u);
        if (exp === PUBLIC) {
          if (rule?.kind !== 'public') failures.push(`${route}: expected public`);
          continue;
        }
        if (rule?.kind === 'public') failures.push(`${route}: public but should not be`);
        if (authorize(rule, undefined, []).allow) failures.push(`${route}: allowed without a token`);
        const cases: { targets: FhirTarget[]; allowed: Role[]; label: string }[] = [];
        if (exp === 'fhir-read' || exp === 'fhir-write' || exp === 'fhir-bundle') {
          for (const [type, who] of Object.entries(FHIR)) {
            const interaction = exp === 'fhir-read' ? 'read' : 'update';
            cases.push({ targets: [{ resourceType: type, interaction }], allowed: exp === 'fhir-read' ? who.read : who.write, label: type });
          }
        } else cases.push({ targets: [], allowed: exp, label: '' });
        for (const c of cases) {
          for (const role of ROLES) {
            const d = authorize(rule, { permissions: permissionsOf([role]) }, c.targets);
            const want = c.allowed.includes(role);
            if (d.allow !== want) failures.push(`${route}${c.label ? ` [${c.label}]` : ''} as ${role}: ${d.allow ? 'allowed' : 'denied'}, expected ${want ? 'allowed' : 'denied'}`);
          }
        }
      }
      assert.deepEqual(failures, []);
    });

    it('answers 401 without a token on every non-public route', async () => {
      const wrong: string[] = [];
      for (const route of routes) {
        const [m, u] = route.split(' ') as [string, string];
        if (routeRule(m, u)?.kind === 'public') continue;
        const res = await app.inject({ method: m as 'GET', url: sampleUrl(u), payload: m === 'GET' || m === 'DELETE' ? undefined : {} });
        if (res.statusCode !== 401) wrong.push(`${route} -> ${res.statusCode}`);
      }
      assert.deepEqual(wrong, []);
    });

    it('a route the table does not know is refused even with a token', () => {
      assert.equal(routeRule('POST', '/api/something-new'), undefined);
      const d = authorize(undefined, { permissions: permissionsOf(['admin']) });
      assert.equal(d.allow, false);
    });
  });
}
