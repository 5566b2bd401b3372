/** The Fastify application: content types, errors as OperationOutcomes, and the route groups. */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { OperationOutcomeError, badRequest, issue, notFound, outcome, tooLarge } from '../fhir/outcomes.js';
import type { Db } from '../store/db.js';
import { registerFhirRoutes } from './fhir-routes.js';
import { registerTerminologyRoutes } from './terminology-routes.js';
import { sendOutcome } from './http.js';
import { registerSecurity, type AuthOptions } from './security-plugin.js';
import type { MatcherConfig } from '../mpi/types.js';

export interface AppOptions {
  db: Db;
  strict?: boolean;
  /** Largest accepted request body, bytes. */
  bodyLimit?: number;
  logger?: boolean;
  version?: string;
  /**
   * Authentication, authorisation and the audit trail (src/server/security-plugin.ts). `custodian serve`
   * always sets it; without it (module unit tests only) every route is open and nothing is audited.
   */
  auth?: AuthOptions;
  /** Folder for bulk export files (default ./.custodian/exports). */
  exportDir?: string;
  /** The matcher configuration of $match and the duplicate review (default: the built-in one). */
  mpiConfig?: MatcherConfig;
}

export { FHIR_JSON, sendOutcome } from './http.js';

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ? { level: 'info', redact: ['req.headers.authorization', 'req.headers.cookie'] } : false,
    bodyLimit: options.bodyLimit ?? 32 * 1024 * 1024,
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 500 },
  });

  const parseJson = (_req: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void): void => {
    if (body.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch (e) {
      done(badRequest(`Malformed JSON: ${(e as Error).message}`));
    }
  };
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser(['application/json', 'application/fhir+json', 'application/json-patch+json'], { parseAs: 'string' }, parseJson);

  app.setErrorHandler((err: unknown, request, reply) => {
    const e = err as { code?: string; statusCode?: number; message?: string };
    if (err instanceof OperationOutcomeError) return sendOutcome(reply, err);
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendOutcome(reply, tooLarge(`Request body is larger than the limit of ${options.bodyLimit ?? 32 * 1024 * 1024} bytes`));
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendOutcome(reply, new OperationOutcomeError(outcome(issue('error', 'not-supported', `Unsupported content type "${request.headers['content-type'] ?? ''}"; use application/fhir+json`)), 415));
    if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return sendOutcome(reply, badRequest('The request body is empty'));
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return sendOutcome(reply, new OperationOutcomeError(outcome(issue('error', 'invalid', e.message ?? 'Bad request')), e.statusCode));
    request.log.error({ err }, 'unhandled error');
    return sendOutcome(reply, err);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    return sendOutcome(reply, notFound(`No route for ${request.method} ${path}`));
  });

  if (options.auth) await registerSecurity(app, options.db, options.auth); // before any route, so onRoute sees them all
  await (await import('./mpi-routes.js')).registerMpiRoutes(app, { db: options.db, config: options.mpiConfig });
  await registerTerminologyRoutes(app, { db: options.db });
  await (await import('./bulk-routes.js')).registerBulkRoutes(app, { db: options.db, exportDir: options.exportDir ?? './.custodian/exports' });
  await registerFhirRoutes(app, { db: options.db, strict: options.strict ?? false, version: options.version ?? '0.1.0' });
  await (await import('./web-routes.js')).registerWebRoutes(app);
  await (await import('./quality-routes.js')).registerQualityRoutes(app, { db: options.db });
  return app;
}
