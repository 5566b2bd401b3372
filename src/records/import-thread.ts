/**
 * The bulk import on a thread of its own, with the young generation of the preparing workers
 * (PREPARE_WORKER_LIMITS). The importing thread prepares files too (about a third of them), and takes
 * in each file the workers prepared; all of it is short-lived, but a file's data lives until its
 * commit, and with V8's default young generation each scavenge copies it again. In a CPU profile of
 * preparing on the main thread, garbage collection was 23% of the time with the default, 5% with
 * 128 MiB semi-spaces; bench/prepare.ts puts the prepare step at 12-19% less CPU per resource with
 * this young generation (BENCHMARKS.md, tenth session). V8 fixes the main thread's young generation
 * when the process starts (a flag set later changes nothing), and running the process again with
 * the flag would leave an orphan behind a killed parent; a worker's is set when it starts.
 *
 * The thread opens the store itself (a connection cannot cross threads), reports progress per file
 * and answers the summary. A killed process takes the thread with it, as before.
 */
import { tsWorker } from '../runtime/ts-worker.js';
import type { StoreConfig } from '../store/open.js';
import { PREPARE_WORKER_LIMITS, type ImportOptions, type ImportSummary } from './import-files.js';
import { OperationOutcomeError } from '../fhir/outcomes.js';
import type { OperationOutcome } from '@medplum/fhirtypes';

export interface ImportThreadRequest {
  store: StoreConfig;
  paths: string[];
  strict: boolean;
  /** Warn about codes the loaded terminology does not know (the CLI's import does). */
  codeLookup: boolean;
  options?: ImportOptions;
}

/** What the thread posts: a file done, the summary, or the error that stopped it. */
export type ImportThreadMessage =
  | { progress: { done: number; total: number; file: string; failed: boolean } }
  | { summary: ImportSummary }
  | { error: { message: string; code?: string; outcome?: OperationOutcome; status?: number; stack?: string } };

/** Runs importFiles (with the store of `request.store`) on a thread; rejects with the error that stopped it. */
export function importOnThread(request: ImportThreadRequest, onProgress?: (done: number, total: number, file: string, failed: boolean) => void): Promise<ImportSummary> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const worker = tsWorker(new URL('./import-thread-main.ts', import.meta.url), { workerData: request, resourceLimits: PREPARE_WORKER_LIMITS });
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      f();
    };
    worker.on('message', (m: ImportThreadMessage) => {
      if ('progress' in m) onProgress?.(m.progress.done, m.progress.total, m.progress.file, m.progress.failed);
      else if ('summary' in m) settle(() => resolve(m.summary));
      else settle(() => reject(rebuildError(m.error)));
    });
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the import thread stopped (exit code ${code}) before it finished`))));
  });
}

/** An error as the thread posts it (an Error's class and own fields do not cross threads). */
export function threadError(err: unknown): Extract<ImportThreadMessage, { error: unknown }>['error'] {
  const e = err as Error & { code?: unknown };
  return {
    message: String(e?.message ?? err),
    code: typeof e?.code === 'string' ? e.code : undefined,
    outcome: err instanceof OperationOutcomeError ? err.outcome : undefined,
    status: err instanceof OperationOutcomeError ? err.status : undefined,
    stack: typeof e?.stack === 'string' ? e.stack : undefined,
  };
}

/** The thread's error as the caller would have seen it on its own thread (printError reads these). */
export function rebuildError(e: Extract<ImportThreadMessage, { error: unknown }>['error']): Error {
  const err = e.outcome ? new OperationOutcomeError(e.outcome, e.status) : new Error(e.message);
  if (e.code !== undefined) (err as Error & { code?: string }).code = e.code;
  if (e.stack) err.stack = e.stack;
  return err;
}
