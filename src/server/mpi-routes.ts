/** Master patient index routes: Patient/$match, $merge, $unmerge, the review explanation and the HIM figures. */
import type { FastifyInstance } from 'fastify';
import type { Parameters, ParametersParameter, Patient } from '@medplum/fhirtypes';
import { badRequest } from '../fhir/outcomes.js';
import type { Db } from '../store/db.js';
import { DEFAULT_CONFIG } from '../mpi/default-config.js';
import type { MatcherConfig } from '../mpi/types.js';
import { matchPatient, mergePatients, mpiMetrics, pairExplanation, unmergePatients } from '../store/mpi-store.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export interface MpiDeps {
  db: Db;
  /** The matcher configuration (default: the built-in one). */
  config?: MatcherConfig;
}

function parametersOf(body: unknown): ParametersParameter[] {
  const b = body as Parameters | undefined;
  if (!b || b.resourceType !== 'Parameters') throw badRequest('The body must be a Parameters resource');
  return b.parameter ?? [];
}

const param = (ps: ParametersParameter[], name: string): ParametersParameter | undefined => ps.find((p) => p.name === name);

function patientRef(ps: ParametersParameter[], name: string): string | undefined {
  const p = param(ps, name);
  const ref = p?.valueReference?.reference;
  if (ref) {
    const m = /(?:^|\/)Patient\/([^/]+)$/.exec(ref);
    if (!m) throw badRequest(`${name} must reference a Patient`);
    return m[1];
  }
  const ident = p?.valueIdentifier;
  if (ident) throw badRequest(`${name}-identifier is not supported; use ${name} with a reference`);
  return undefined;
}

export async function registerMpiRoutes(app: FastifyInstance, deps: MpiDeps): Promise<void> {
  const { db } = deps;
  const config = deps.config ?? DEFAULT_CONFIG;

  app.post('/fhir/Patient/$match', async (request, reply) => {
    const ps = parametersOf(request.body);
    const patient = param(ps, 'resource')?.resource as Patient | undefined;
    if (!patient || patient.resourceType !== 'Patient') throw badRequest('Parameter "resource" must hold a Patient');
    const count = param(ps, 'count')?.valueInteger;
    const bundle = await matchPatient(db, patient, { count, onlyCertainMatches: param(ps, 'onlyCertainMatches')?.valueBoolean === true }, config);
    return reply.type(FHIR_JSON).send(bundle);
  });

  app.post('/fhir/Patient/$merge', async (request, reply) => {
    const ps = parametersOf(request.body);
    const sourceId = patientRef(ps, 'source-patient');
    const targetId = patientRef(ps, 'target-patient');
    if (!sourceId || !targetId) throw badRequest('Both source-patient and target-patient are required');
    const resultPatient = param(ps, 'result-patient')?.resource as Patient | undefined;
    const preview = param(ps, 'preview')?.valueBoolean === true;
    const r = await mergePatients(db, { sourceId, targetId, resultPatient, preview });
    const moved = Object.entries(r.references).map(([type, n]) => `${type}: ${n}`).join(', ') || 'none';
    const out: Parameters = {
      resourceType: 'Parameters',
      parameter: [
        { name: 'input', resource: request.body as Parameters },
        {
          name: 'outcome',
          resource: {
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'information', code: 'informational', diagnostics: `${preview ? 'Preview: would merge' : 'Merged'} Patient/${sourceId} into Patient/${targetId}; references moved: ${moved}` }],
          },
        },
        { name: 'result', resource: r.target },
        ...Object.entries(r.references).map(([type, n]) => ({ name: 'referencing', part: [{ name: 'type', valueCode: type }, { name: 'count', valueInteger: n }] })),
        ...(r.provenance ? [{ name: 'provenance', resource: r.provenance }] : []),
      ],
    };
    return reply.type(FHIR_JSON).send(out);
  });

  app.post('/fhir/Patient/$unmerge', async (request, reply) => {
    const ps = parametersOf(request.body);
    const ref = param(ps, 'provenance')?.valueReference?.reference ?? param(ps, 'provenance')?.valueString;
    const id = ref?.replace(/^Provenance\//, '');
    if (!id) throw badRequest('Parameter "provenance" (the merge Provenance) is required');
    const r = await unmergePatients(db, id);
    return reply.type(FHIR_JSON).send({
      resourceType: 'Parameters',
      parameter: [
        { name: 'restored', valueInteger: r.restored },
        { name: 'provenance', resource: r.provenance },
      ],
    } satisfies Parameters);
  });

  app.get<{ Params: { taskId: string } }>('/api/mpi/pairs/:taskId', async (request) => pairExplanation(db, request.params.taskId, config));

  app.get<{ Querystring: { start?: string; end?: string } }>('/api/mpi/metrics', async (request) => mpiMetrics(db, request.query.start, request.query.end));
}
