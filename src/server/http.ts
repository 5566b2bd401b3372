/** HTTP helpers shared by the route groups: the FHIR content type and OperationOutcome replies. */
import type { FastifyReply } from 'fastify';
import { toOutcomeError } from '../fhir/outcomes.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function sendOutcome(reply: FastifyReply, err: unknown): FastifyReply {
  const e = toOutcomeError(err);
  return reply.code(e.status).type(FHIR_JSON).send(e.outcome);
}
