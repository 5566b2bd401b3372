/**
 * FHIR Bulk Data export ($export at system, Patient and Group level): a kick-off records a job and
 * starts it in the background; the job writes one NDJSON file per resource type into the export
 * folder; the status endpoint answers 202 with progress, then the manifest.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Group } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../fhir/definitions.js';
import { parseReference } from '../fhir/index-values.js';
import { badRequest, notFound } from '../fhir/outcomes.js';
import type { Db } from '../store/db.js';
import { readResource } from '../store/repository.js';
import { exportTypes, getJob, insertJob, updateJob, writeExportNdjson, type ExportJobRow } from '../store/bulk-export-store.js';

export interface ExportRequest {
  level: 'system' | 'patient' | 'group';
  groupId?: string;
  types?: string[];
  since?: string;
  outputFormat?: string;
  requestUrl: string;
  /** Sensitivity codes (meta.security) the requester may not see: those records stay out of the files. */
  excludeCodes?: string[];
}

const FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const running = new Map<string, Promise<void>>();

export async function kickOffExport(db: Db, exportDir: string, req: ExportRequest): Promise<string> {
  if (req.outputFormat && !FORMATS.has(req.outputFormat)) throw badRequest(`_outputFormat "${req.outputFormat}" is not supported; use application/fhir+ndjson`, '_outputFormat');
  for (const t of req.types ?? []) if (!isKnownResourceType(t)) throw badRequest(`Unknown resource type "${t}" in _type`, '_type');
  if (req.since && Number.isNaN(Date.parse(req.since))) throw badRequest(`Invalid _since "${req.since}"`, '_since');
  let patients: string[] | undefined;
  if (req.level === 'group') {
    const group = (await readResource(db, 'Group', req.groupId as string)).resource as Group;
    patients = (group.member ?? [])
      .map((m) => parseReference(m.entity?.reference ?? ''))
      .filter((r): r is { type: string; id: string } => r?.type === 'Patient')
      .map((r) => r.id);
  }
  const id = randomUUID();
  const transactionTime = new Date().toISOString();
  await insertJob(db, { id, level: req.level, request_url: req.requestUrl, params: { types: req.types, since: req.since, patients, excludeCodes: req.excludeCodes }, transaction_time: transactionTime });
  const job = runExport(db, exportDir, id).finally(() => running.delete(id));
  running.set(id, job);
  return id;
}

async function runExport(db: Db, exportDir: string, id: string): Promise<void> {
  const job = (await getJob(db, id)) as ExportJobRow;
  const dir = path.join(exportDir, id);
  try {
    mkdirSync(dir, { recursive: true });
    const compartmentOnly = job.level !== 'system';
    const types = await exportTypes(db, { types: job.params.types, compartmentOnly });
    const output: ExportJobRow['output'] = [];
    for (const [i, type] of types.entries()) {
      const current = await getJob(db, id);
      if (current?.status === 'cancelled') return;
      await updateJob(db, id, { progress: `${type} (${i + 1} of ${types.length})` });
      const file = `${type}.ndjson`;
      const out = createWriteStream(path.join(dir, file));
      const count = await writeExportNdjson(db, type, { since: job.params.since, compartmentOnly, patients: job.params.patients, excludeCodes: job.params.excludeCodes }, out);
      if (count > 0) output.push({ type, file, count });
      else rmSync(path.join(dir, file), { force: true });
    }
    await updateJob(db, id, { status: 'complete', output, progress: 'done' });
  } catch (err) {
    await updateJob(db, id, { status: 'error', error: (err as Error).message ?? 'export failed' }).catch(() => undefined);
  }
}

/** Waits for a running job (tests, CLI). */
export async function waitForExport(id: string): Promise<void> {
  await running.get(id);
}

export async function exportStatus(db: Db, id: string): Promise<ExportJobRow> {
  const job = await getJob(db, id);
  if (!job || job.status === 'cancelled') throw notFound(`No export job ${id}`);
  return job;
}

export async function cancelExport(db: Db, exportDir: string, id: string): Promise<void> {
  const job = await getJob(db, id);
  if (!job || job.status === 'cancelled') throw notFound(`No export job ${id}`);
  await updateJob(db, id, { status: 'cancelled' });
  await running.get(id);
  rmSync(path.join(exportDir, id), { recursive: true, force: true });
}

export function exportFilePath(exportDir: string, id: string, file: string): string {
  if (!/^[A-Za-z0-9-]+$/.test(id) || !/^[A-Za-z]+\.ndjson$/.test(file)) throw notFound('No such export file');
  return path.join(exportDir, id, file);
}
