/**
 * The half of a file import that needs no database: read and parse the file, plan its transaction,
 * map fullUrls, rewrite references, validate every resource, and build what the store will write
 * (content hash, index rows, compartments, JSON). It runs in worker threads (import-worker.ts) while
 * the main thread commits the file before, and gives the same answers processTransaction gives.
 *
 * A file that needs the database before it can be validated (conditional creates, updates, deletes
 * or references, or a batch) is handed back for processTransaction/processBatch on the main thread.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { toOutcomeError } from '../fhir/outcomes.js';
import type { LookupFn } from '../terminology/warnings.js';
import { indexCopyText, storedFormTemplate, type WriteMethod } from '../store/repository.js';
import { collectConditionalReferences, entryError, plan, rewriteReferences } from './bundles.js';
import { checkResource } from './interactions.js';

export interface ImportFailure {
  file: string;
  reason: string;
  /** Where in the file: "line 12", "Bundle.entry[3]". */
  location?: string;
}

/** One write of a prepared file, in the order the transaction writes them. */
export interface PreparedEntry {
  resourceType: string;
  id: string;
  method: WriteMethod;
  ifMatch?: number;
  /**
   * For a POST or PUT: the content hash, and the stored form without its version and time (index
   * rows as COPY text, which crosses from a worker as a few strings rather than many objects).
   */
  hash?: string;
  index?: string[];
  compartments?: string[];
  json?: [string, string, string];
}

export type PreparedFile =
  | { kind: 'failed'; failures: ImportFailure[] }
  /** Needs the database before validation (conditional entries) or is a batch: run it on the main thread. */
  | { kind: 'fallback'; reason: string }
  | {
      kind: 'ready';
      writes: PreparedEntry[];
      /** What the summary counts once the file commits: resources by type and validation warnings. */
      byType: Record<string, number>;
      resources: number;
      warnings: number;
      /** Resources with codes the caller's code lookup must judge (their warnings are not counted yet). */
      lookups: Resource[];
    };

function readText(file: string): string {
  const buf = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

function toEntry(r: Resource): NonNullable<Bundle['entry']>[number] {
  const rt = (r as { resourceType?: string }).resourceType ?? '';
  return r.id ? { fullUrl: `${rt}/${r.id}`, resource: r, request: { method: 'PUT', url: `${rt}/${r.id}` } } : { resource: r, request: { method: 'POST', url: rt } };
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

/** Reads a file as a transaction or batch Bundle: NDJSON lines and collections become upserts. */
export function readImportFile(file: string): { bundle: Bundle } | { failure: ImportFailure } {
  let text: string;
  try {
    text = readText(file);
  } catch (e) {
    return { failure: { file, reason: `Cannot read: ${(e as Error).message}` } };
  }
  if (/\.(ndjson|jsonl)(\.gz)?$/i.test(file)) {
    const r = ndjsonBundle(text, file);
    return r.failure ? { failure: r.failure } : { bundle: r.bundle };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { failure: { file, reason: `Malformed JSON: ${(e as Error).message}` } };
  }
  const obj = parsed as { resourceType?: string; type?: string; entry?: { resource?: Resource }[] };
  if (obj?.resourceType === 'Bundle' && (obj.type === 'transaction' || obj.type === 'batch')) return { bundle: parsed as Bundle };
  if (obj?.resourceType === 'Bundle') {
    return { bundle: { resourceType: 'Bundle', type: 'transaction', entry: (obj.entry ?? []).filter((e) => e.resource).map((e) => toEntry(e.resource as Resource)) } };
  }
  if (obj && typeof obj === 'object' && typeof obj.resourceType === 'string') {
    return { bundle: { resourceType: 'Bundle', type: 'transaction', entry: [toEntry(parsed as Resource)] } };
  }
  return { failure: { file, reason: 'Not a FHIR resource or Bundle' } };
}

/** The reason of a failed transaction, as the import reports it. */
export function failureReason(err: unknown): string {
  const e = toOutcomeError(err);
  return (e.outcome.issue ?? []).map((i) => i.diagnostics ?? i.details?.text).join('; ');
}

/** A code lookup that answers "no release loaded" (no warning) and notes whether it was asked at all. */
function recordingLookup(): { lookup: LookupFn; asked: () => boolean; reset: () => void } {
  let asked = false;
  return {
    lookup: ((): ReturnType<LookupFn> => {
      asked = true;
      return { release: undefined } as unknown as ReturnType<LookupFn>;
    }) as LookupFn,
    asked: () => asked,
    reset: () => {
      asked = false;
    },
  };
}

/**
 * Prepares a transaction Bundle as processTransaction(ctx, bundle, { preserveIds: true }) would
 * process it up to its write, without a database. `withLookups`: resources whose codes a code lookup
 * would judge are listed in `lookups` (the caller adds their warnings; see terminologyWarnings).
 */
export function prepareBundle(bundle: Bundle, file: string, strict: boolean, withLookups: boolean): PreparedFile {
  return finish(prepareSteps(bundle, file, strict, withLookups));
}

/** prepareBundle as steps: it yields after each resource, so a caller can let other work run between them. */
function* prepareSteps(bundle: Bundle, file: string, strict: boolean, withLookups: boolean): Generator<void, PreparedFile> {
  if (bundle.type === 'batch') return { kind: 'fallback', reason: 'batch' };
  let planned: ReturnType<typeof plan>;
  try {
    planned = plan(bundle, { preserveIds: true });
  } catch (err) {
    return { kind: 'failed', failures: [{ file, reason: failureReason(err) }] };
  }
  const conditionalRefs = new Set<string>();
  for (const p of planned) {
    if (p.ifNoneExist || p.conditional) return { kind: 'fallback', reason: 'conditional entry' };
    if (p.resource) collectConditionalReferences(p.resource, conditionalRefs);
  }
  if (conditionalRefs.size) return { kind: 'fallback', reason: 'conditional reference' };

  const refMap = new Map<string, string>();
  for (const p of planned) if (p.fullUrl && p.id && (p.method === 'POST' || p.method === 'PUT')) refMap.set(p.fullUrl, `${p.resourceType}/${p.id}`);
  const recorder = recordingLookup();
  const lookups: Resource[] = [];
  let warnings = 0;
  try {
    for (const p of planned) {
      if (!p.resource) continue;
      try {
        const rewritten = rewriteReferences({ ...p.resource, id: p.id }, refMap) as Resource;
        recorder.reset();
        p.warnings = checkResource(rewritten, p.resourceType, strict, 'resource', withLookups ? recorder.lookup : undefined);
        p.resource = rewritten;
        warnings += p.warnings.length;
        if (recorder.asked()) lookups.push(rewritten);
      } catch (err) {
        throw entryError(p.index, err);
      }
      yield;
    }
  } catch (err) {
    return { kind: 'failed', failures: [{ file, reason: failureReason(err) }] };
  }

  const order = { DELETE: 0, POST: 1, PUT: 2, GET: 3 } as const;
  const writes = planned.filter((p) => p.method !== 'GET' && p.id).sort((a, b) => order[a.method] - order[b.method] || a.index - b.index);
  const byType: Record<string, number> = {};
  let resources = 0;
  for (const p of planned) {
    const original = bundle.entry?.[p.index]?.resource as Resource | undefined;
    if (!original) continue;
    resources++;
    byType[original.resourceType] = (byType[original.resourceType] ?? 0) + 1;
  }
  const prepared: PreparedEntry[] = [];
  for (const p of writes) {
    const e: PreparedEntry = { resourceType: p.resourceType, id: p.id as string, method: p.method as WriteMethod, ifMatch: p.ifMatch };
    if (p.method === 'DELETE') {
      prepared.push(e);
      continue;
    }
    const resource = p.resource as Resource;
    const t = storedFormTemplate(resource, e.id);
    prepared.push({ ...e, hash: t.hash, index: indexCopyText(e.resourceType, e.id, t.index), compartments: t.compartments, json: t.json });
    yield;
  }
  return { kind: 'ready', byType, resources, warnings, lookups, writes: prepared };
}

function finish<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Reads and prepares one file. */
export function prepareFile(file: string, strict: boolean, withLookups: boolean): PreparedFile {
  return finish(prepareFileSteps(file, strict, withLookups));
}

/**
 * prepareFile on this thread without holding it: every few milliseconds it lets the event loop run,
 * so a commit in flight (its replies, its next COPY) goes on while the next file is prepared.
 */
export async function prepareFileInTurns(file: string, strict: boolean, withLookups: boolean, sliceMs = 3): Promise<PreparedFile> {
  const steps = prepareFileSteps(file, strict, withLookups);
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= sliceMs) {
      await new Promise((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
}

function* prepareFileSteps(file: string, strict: boolean, withLookups: boolean): Generator<void, PreparedFile> {
  const r = readImportFile(file);
  if ('failure' in r) return { kind: 'failed', failures: [r.failure] };
  yield;
  return yield* prepareSteps(r.bundle, file, strict, withLookups);
}
