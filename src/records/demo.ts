/** The demo dataset shipped in data/demo: loaded once into an empty store by `serve --demo`. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RecordContext } from './context.js';
import { importFiles } from './import-files.js';

export const DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../data/demo');

/** Loads the demo files when the store has no resources yet; returns a summary line, or undefined. */
export async function loadDemoData(ctx: RecordContext, log: (msg: string) => void = () => undefined): Promise<string | undefined> {
  const r = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM resource LIMIT 1) x');
  if (Number(r.rows[0]?.n ?? 0) > 0) return undefined;
  if (!existsSync(DEMO_DIR)) return undefined;
  log('Loading the demo dataset (first start only)...');
  const summary = await importFiles(ctx, [DEMO_DIR]);
  if (summary.failures.length) {
    for (const f of summary.failures) log(`demo file failed: ${f.file}: ${f.reason}`);
  }
  return `${summary.resources} resources from ${summary.files - summary.filesFailed} files`;
}
