/** Audit reports (ONC 170.315(d)(3)), chain verification, and the accounting of disclosures (HIPAA 164.528). */
import type { FastifyInstance } from 'fastify';
import type { Bundle } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import { queryAudit, verifyAuditChain, type AuditQuery } from '../store/audit-store.js';
import { insertDisclosure, listDisclosures } from '../store/security-store.js';
import type { SecurityRuntime } from './security-types.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Purposes that are treatment, payment or operations: not accountable disclosures. */
const TPO = new Set(['TREAT', 'HPAYMT', 'HOPERAT', 'treatment', 'payment', 'operations']);

function validDate(v: string | undefined, name: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (Number.isNaN(Date.parse(v))) throw badRequest(`Invalid ${name} "${v}"`, name);
  return v;
}

export async function registerAuditRoutes(app: FastifyInstance, rt: SecurityRuntime): Promise<void> {
  const { db } = rt;

  app.get('/api/audit', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const sort = q.sort ?? '-recorded';
    if (!['recorded', '-recorded', 'user', '-user'].includes(sort)) throw badRequest('sort must be recorded, -recorded, user or -user', 'sort');
    const query: AuditQuery = {
      user: q.user || undefined,
      patient: q.patient?.replace(/^Patient\//, '') || undefined,
      from: validDate(q.from, 'from'),
      to: validDate(q.to, 'to'),
      type: q.type || undefined,
      sort: sort as AuditQuery['sort'],
      limit: q._count ? Number(q._count) : 100,
      offset: q._offset ? Number(q._offset) : 0,
    };
    await rt.audit?.flush();
    const r = await queryAudit(db, query);
    const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: r.total, entry: r.events.map((e) => ({ resource: e, search: { mode: 'match' } })) };
    return reply.type(FHIR_JSON).send(bundle);
  });

  app.get('/api/audit/verify', async () => {
    await rt.audit?.flush();
    const r = await verifyAuditChain(db);
    return r;
  });

  app.get('/api/disclosures', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const patient = q.patient?.replace(/^Patient\//, '');
    if (!patient) throw badRequest('patient is required', 'patient');
    return { patient, period: 'six years before today', disclosures: await listDisclosures(db, patient) };
  });

  app.post('/api/disclosures', async (request, reply) => {
    const b = (request.body ?? {}) as Record<string, unknown>;
    const s = (k: string): string | undefined => (typeof b[k] === 'string' && (b[k] as string).trim() ? (b[k] as string).trim() : undefined);
    const patient = s('patient')?.replace(/^Patient\//, '');
    const recipient = s('recipient');
    const description = s('description');
    const purpose = s('purpose');
    const date = s('date') ?? new Date().toISOString();
    if (!patient || !recipient || !description || !purpose) throw badRequest('patient, recipient, description and purpose are required');
    if (Number.isNaN(Date.parse(date))) throw badRequest(`Invalid date "${date}"`, 'date');
    if (TPO.has(purpose)) throw badRequest('Disclosures for treatment, payment or operations are not recorded in the accounting of disclosures', 'purpose');
    const d = await insertDisclosure(db, { patientId: patient, disclosedAt: new Date(date).toISOString(), recipient, description, purpose, recordedBy: request.security?.user.username ?? null });
    if (request.auditInfo) {
      request.auditInfo.kind = { type: 'disclosure' };
      request.auditInfo.patientIds.add(patient);
    }
    return reply.code(201).send(d);
  });
}
