/**
 * The import thread's body (started by import-thread.ts): opens the store, imports, posts progress
 * per file and then the summary, or the error that stopped it; closes the store either way.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openStore } from '../store/open.js';
import { codeLookupFor } from './code-lookup.js';
import { importFiles, type ImportSummary } from './import-files.js';
import { threadError, type ImportThreadMessage, type ImportThreadRequest } from './import-thread.js';

const port = parentPort;
if (port) {
  const request = workerData as ImportThreadRequest;
  const post = (m: ImportThreadMessage): void => port.postMessage(m);
  void (async () => {
    try {
      const db = await openStore(request.store);
      let summary: ImportSummary;
      try {
        const ctx = { db, strict: request.strict, codeLookup: request.codeLookup ? await codeLookupFor(db) : undefined };
        summary = await importFiles(ctx, request.paths, (done, total, file, failed) => post({ progress: { done, total, file, failed } }), request.options);
        // the embedded database has no autovacuum: give its planner statistics for what was imported
        if (db.kind === 'pglite' && summary.created + summary.updated > 0) await db.exec('ANALYZE');
      } finally {
        await db.close();
      }
      // after the store is closed (the embedded database's files written), so the caller may open it
      post({ summary });
    } catch (err) {
      post({ error: threadError(err) });
    }
  })();
}
