/** HIM API for data-quality runs (a job with progress) and the deficiency/delinquency report. */
import type { FastifyInstance } from 'fastify';
import { badRequest, notFound } from '../fhir/outcomes.js';
import { selectChecks } from '../quality/instances.js';
import { deficiencyReport, getResults, getRun, listRuns, previousRun, startCheckRun, syncDeficiencies } from '../store/check-store.js';
import type { Db } from '../store/db.js';
import { compareResults } from '../checks/summary.js';

export interface QualityRouteDeps {
  db: Db;
}

export async function registerQualityRoutes(app: FastifyInstance, deps: QualityRouteDeps): Promise<void> {
  const { db } = deps;

  app.post('/api/checks/runs', async (request, reply) => {
    const body = (request.body ?? {}) as { checks?: string[]; patient?: string };
    let instances;
    try {
      instances = selectChecks(body.checks);
    } catch (e) {
      throw badRequest((e as Error).message);
    }
    const { run, done } = await startCheckRun(db, instances, { patientId: body.patient, checkIds: body.checks });
    done.catch((err) => request.log.error({ err }, 'check run failed'));
    return reply.code(202).header('content-location', `/api/checks/runs/${run.id}`).send(run);
  });

  app.get('/api/checks/runs', async () => ({ runs: await listRuns(db) }));

  app.get('/api/checks/runs/:id', async (request) => {
    const { id } = request.params as { id: string };
    const run = await getRun(db, id);
    if (!run) throw notFound(`No check run ${id}`);
    const results = run.status === 'completed' ? await getResults(db, id) : [];
    const prev = run.status === 'completed' ? await previousRun(db, run) : undefined;
    const comparison = prev ? compareResults(await getResults(db, prev.id), results).filter((c) => c.change !== 'same').map((c) => ({ checkId: c.checkId, change: c.change, numeratorDelta: c.numeratorDelta })) : [];
    return { run, previousRunId: prev?.id, results, comparison };
  });

  app.get('/api/deficiencies/delinquency', async (request) => {
    const q = request.query as { months?: string; sync?: string };
    const now = new Date();
    const sync = q.sync === 'false' ? undefined : await syncDeficiencies(db, { now });
    return { sync, report: await deficiencyReport(db, { now, months: q.months ? Number(q.months) : 3 }) };
  });
}
