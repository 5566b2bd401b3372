/**
 * Worker thread of the bulk import: prepares files (read, parse, validate, index; import-prepare.ts)
 * while the main thread commits. Started by import-files.ts; answers { id, prepared } per task.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadDefinitions } from '../fhir/definitions.js';
import { prepareFile, type PreparedFile } from './import-prepare.js';

export interface PrepareTask {
  id: number;
  file: string;
}

export type WorkerMessage = { ready: true } | { id: number; prepared: PreparedFile };

const { strict, withLookups } = workerData as { strict: boolean; withLookups: boolean };
const port = parentPort;
if (port) {
  loadDefinitions();
  port.on('message', (task: PrepareTask) => {
    let prepared: PreparedFile;
    try {
      prepared = prepareFile(task.file, strict, withLookups);
    } catch (err) {
      prepared = { kind: 'fallback', reason: `worker: ${(err as Error).message}` };
    }
    port.postMessage({ id: task.id, prepared } satisfies WorkerMessage);
  });
  port.postMessage({ ready: true } satisfies WorkerMessage);
}
