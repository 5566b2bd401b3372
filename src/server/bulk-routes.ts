/** FHIR Bulk Data export routes: kick-off, status, files. */
import { createReadStream, existsSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, notFound, OperationOutcomeError, outcome, issue } from '../fhir/outcomes.js';
import type { Db } from '../store/db.js';
import { cancelExport, exportFilePath, exportStatus, kickOffExport, type ExportRequest } from '../records/bulk-export.js';
import { baseUrl } from './fhir-routes.js';
import { codesNotPermitted } from '../security/labels.js';
import { FHIR_JSON } from './http.js';

export interface BulkDeps {
  db: Db;
  exportDir: string;
}

export async function registerBulkRoutes(app: FastifyInstance, deps: BulkDeps): Promise<void> {
  const kickOff = async (request: FastifyRequest, level: ExportRequest['level'], groupId?: string) => {
    if (!/respond-async/.test(String(request.headers.prefer ?? ''))) {
      throw badRequest('Bulk export is asynchronous: send the header "Prefer: respond-async"', 'Prefer');
    }
    const q = request.query as Record<string, string | undefined>;
    const types = q._type ? q._type.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
    // files leave the API past the per-request label filter: leave out what the requester may not see
    const excludeCodes = request.security ? codesNotPermitted(request.security.permissions) : undefined;
    const id = await kickOffExport(deps.db, deps.exportDir, { level, groupId, types, since: q._since, outputFormat: q._outputFormat, requestUrl: `${baseUrl(request)}${request.url.replace(/^\/fhir/, '')}`, excludeCodes });
    return `${baseUrl(request)}/$export-status/${id}`;
  };

  app.get('/fhir/$export', async (request, reply) => reply.code(202).header('Content-Location', await kickOff(request, 'system')).send());
  app.get('/fhir/Patient/$export', async (request, reply) => reply.code(202).header('Content-Location', await kickOff(request, 'patient')).send());
  app.get<{ Params: { id: string } }>('/fhir/Group/:id/$export', async (request, reply) =>
    reply.code(202).header('Content-Location', await kickOff(request, 'group', request.params.id)).send());

  app.get<{ Params: { job: string } }>('/fhir/$export-status/:job', async (request, reply) => {
    const job = await exportStatus(deps.db, request.params.job);
    if (job.status === 'in-progress') return reply.code(202).header('X-Progress', job.progress ?? 'starting').header('Retry-After', '2').send();
    if (job.status === 'error') {
      throw new OperationOutcomeError(outcome(issue('error', 'exception', `Export failed: ${job.error ?? 'unknown error'}`)), 500);
    }
    const base = baseUrl(request);
    return reply.code(200).type('application/json').send({
      transactionTime: job.transaction_time,
      request: job.request_url,
      requiresAccessToken: true,
      output: job.output.map((o) => ({ type: o.type, url: `${base}/$export-file/${job.id}/${o.file}`, count: o.count })),
      error: [],
    });
  });

  app.delete<{ Params: { job: string } }>('/fhir/$export-status/:job', async (request, reply) => {
    await cancelExport(deps.db, deps.exportDir, request.params.job);
    return reply.code(202).type(FHIR_JSON).send(outcome(issue('information', 'informational', 'Export cancelled and its files deleted')));
  });

  app.get<{ Params: { job: string; file: string } }>('/fhir/$export-file/:job/:file', async (request, reply) => {
    const job = await exportStatus(deps.db, request.params.job);
    const file = exportFilePath(deps.exportDir, job.id, request.params.file);
    if (job.status !== 'complete' || !existsSync(file)) throw notFound('No such export file');
    return reply.type('application/fhir+ndjson').send(createReadStream(file));
  });
}
