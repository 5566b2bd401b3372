/** custodian import PATH...: bundles and NDJSON into the store, one transaction per file. */
import path from 'node:path';
import { importOnThread } from '../records/import-thread.js';
import { storeConfig } from './config.js';
import { progressBar } from './output.js';

const DEFER = { auto: 'auto', always: true, never: false } as const;

export async function importCommand(paths: string[], opts: { data?: string; json?: boolean; strict?: boolean; verbose?: boolean; deferIndexes?: string }): Promise<number> {
  const deferIndexes = DEFER[(opts.deferIndexes ?? 'auto') as keyof typeof DEFER];
  if (deferIndexes === undefined) {
    process.stderr.write(`--defer-indexes takes auto, always or never, not "${opts.deferIndexes}"\n`);
    return 2;
  }
  const bar = progressBar(!opts.json);
  const started = Date.now();
  try {
    // on a thread of its own, which opens the store (records/import-thread.ts)
    const summary = await importOnThread({ store: storeConfig(opts), paths, strict: opts.strict ?? false, codeLookup: true, options: { deferIndexes } }, (done, total, file, failed) => {
      if (opts.verbose) process.stderr.write(`${failed ? 'failed' : 'committed'} ${done}/${total} ${file}\n`);
      else bar.update(done, total, path.basename(file));
    });
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ ...summary, seconds }, null, 2)}\n`);
    } else {
      process.stdout.write(
        `Imported ${summary.files - summary.filesFailed} of ${summary.files} files: ${summary.resources} resources ` +
          `(${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged) in ${seconds.toFixed(1)} s\n`,
      );
      for (const [t, n] of Object.entries(summary.byType).sort()) process.stdout.write(`  ${t}: ${n}\n`);
      const d = summary.deferredIndexes;
      if (d) process.stdout.write(`${d.indexes} search indexes were set aside for the load and built again in ${d.rebuildSeconds.toFixed(1)} s${d.rebuiltAfterFile < summary.files ? ` (before file ${d.rebuiltAfterFile + 1}, which searches the store)` : ''}\n`);
      if (summary.warnings) process.stdout.write(`${summary.warnings} validation warnings (stored; they appear as data-quality findings)\n`);
      for (const f of summary.failures) process.stderr.write(`failed: ${f.file}${f.location ? ` (${f.location})` : ''}: ${f.reason}\n`);
    }
    return summary.failures.length ? 1 : 0;
  } finally {
    bar.stop();
  }
}
