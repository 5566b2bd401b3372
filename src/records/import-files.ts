/**
 * Imports FHIR files: transaction/batch/collection Bundles (.json) and NDJSON (.ndjson), optionally
 * gzipped, or folders of them. Each file commits as one transaction, so a failed file leaves nothing
 * behind and the others go on. Ids carried by the resources are kept, so importing the same files
 * again changes nothing.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { toOutcomeError } from '../fhir/outcomes.js';
import { processBatch, processTransaction } from './bundles.js';
import type { RecordContext } from './context.js';

export interface ImportFailure {
  file: string;
  reason: string;
  /** Where in the file: "line 12", "Bundle.entry[3]". */
  location?: string;
}

export interface ImportSummary {
  files: number;
  filesFailed: number;
  resources: number;
  created: number;
  updated: number;
  unchanged: number;
  warnings: number;
  byType: Record<string, number>;
  failures: ImportFailure[];
}

const FILE_RE = /\.(json|ndjson|jsonl)(\.gz)?$/i;

/** Expands files and folders (recursively) into the list of importable files, sorted. */
export function listImportFiles(paths: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const f of readdirSync(p).sort()) visit(path.join(p, f));
    } else if (FILE_RE.test(p)) out.push(p);
  };
  for (const p of paths) visit(p);
  return out;
}

function readText(file: string): string {
  const buf = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

/** NDJSON (or a plain resource) as an all-or-nothing transaction of upserts. */
function ndjsonBundle(text: string, file: string): { bundle: Bundle; failure?: ImportFailure } {
  const entry: NonNullable<Bundle['entry']> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (!line) continue;
    let r: Resource;
    try {
      r = JSON.parse(line) as Resource;
    } catch (e) {
      return { bundle: { resourceType: 'Bundle', type: 'transaction' }, failure: { file, reason: `Malformed JSON: ${(e as Error).message}`, location: `line ${i + 1}` } };
    }
    entry.push(toEntry(r));
  }
  return { bundle: { resourceType: 'Bundle', type: 'transaction', entry } };
}

function toEntry(r: Resource): NonNullable<Bundle['entry']>[number] {
  const rt = (r as { resourceType?: string }).resourceType ?? '';
  return r.id ? { fullUrl: `${rt}/${r.id}`, resource: r, request: { method: 'PUT', url: `${rt}/${r.id}` } } : { resource: r, request: { method: 'POST', url: rt } };
}

export interface ImportProgress {
  (done: number, total: number, file: string, failed: boolean): void;
}

export async function importFiles(ctx: RecordContext, paths: string[], onProgress?: ImportProgress): Promise<ImportSummary> {
  const files = listImportFiles(paths);
  const summary: ImportSummary = { files: files.length, filesFailed: 0, resources: 0, created: 0, updated: 0, unchanged: 0, warnings: 0, byType: {}, failures: [] };
  let done = 0;
  for (const file of files) {
    const failures = await importOne(ctx, file, summary);
    if (failures.length) {
      summary.filesFailed++;
      summary.failures.push(...failures);
    }
    onProgress?.(++done, files.length, file, failures.length > 0);
  }
  return summary;
}

async function importOne(ctx: RecordContext, file: string, summary: ImportSummary): Promise<ImportFailure[]> {
  let text: string;
  try {
    text = readText(file);
  } catch (e) {
    return [{ file, reason: `Cannot read: ${(e as Error).message}` }];
  }
  let bundle: Bundle;
  const isNdjson = /\.(ndjson|jsonl)(\.gz)?$/i.test(file);
  if (isNdjson) {
    const r = ndjsonBundle(text, file);
    if (r.failure) return [r.failure];
    bundle = r.bundle;
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return [{ file, reason: `Malformed JSON: ${(e as Error).message}` }];
    }
    const obj = parsed as { resourceType?: string; type?: string; entry?: { resource?: Resource }[] };
    if (obj?.resourceType === 'Bundle' && (obj.type === 'transaction' || obj.type === 'batch')) bundle = parsed as Bundle;
    else if (obj?.resourceType === 'Bundle' && obj.type !== 'transaction' && obj.type !== 'batch') {
      bundle = { resourceType: 'Bundle', type: 'transaction', entry: (obj.entry ?? []).filter((e) => e.resource).map((e) => toEntry(e.resource as Resource)) };
    } else if (obj && typeof obj === 'object' && typeof obj.resourceType === 'string') {
      bundle = { resourceType: 'Bundle', type: 'transaction', entry: [toEntry(parsed as Resource)] };
    } else return [{ file, reason: 'Not a FHIR resource or Bundle' }];
  }
  try {
    const outcomes: string[] = [];
    const onResults = (results: { outcome: string }[]): void => {
      outcomes.push(...results.map((r) => r.outcome));
    };
    const response = bundle.type === 'batch' ? await processBatch(ctx, bundle, { preserveIds: true }) : await processTransaction(ctx, bundle, { preserveIds: true, onResults });
    for (const o of outcomes) {
      if (o === 'created') summary.created++;
      else if (o === 'updated') summary.updated++;
      else if (o === 'unchanged') summary.unchanged++;
    }
    const failures: ImportFailure[] = [];
    (response.entry ?? []).forEach((e, i) => {
      const status = e.response?.status ?? '';
      const requested = bundle.entry?.[i];
      const rt = (requested?.resource as Resource | undefined)?.resourceType ?? requested?.request?.url?.split(/[/?]/)[0] ?? 'unknown';
      if (/^(4|5)/.test(status)) {
        failures.push({ file, reason: e.response?.outcome?.issue?.map((x) => x.diagnostics).join('; ') ?? status, location: `Bundle.entry[${i}]` });
        return;
      }
      if (!requested?.resource) return;
      summary.resources++;
      summary.byType[rt] = (summary.byType[rt] ?? 0) + 1;
      summary.warnings += e.response?.outcome?.issue?.length ?? 0;
    });
    return failures;
  } catch (err) {
    const e = toOutcomeError(err);
    return [{ file, reason: (e.outcome.issue ?? []).map((i) => i.diagnostics ?? i.details?.text).join('; ') }];
  }
}
