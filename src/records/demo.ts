/**
 * The demo dataset shipped in data/demo, loaded once into an empty store by `serve --demo`: Synthea
 * patients, chart deficiencies, patients registered twice. After the import the HIM jobs run once,
 * so every worklist has real items on the first start: deficiency Tasks, possible-duplicate Tasks, a
 * data-quality run.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectChecks } from '../quality/instances.js';
import { startCheckRun, syncDeficiencies } from '../store/check-store.js';
import { runDuplicateDetection } from '../store/mpi-store.js';
import { DEFAULT_CONFIG } from '../mpi/default-config.js';
import type { MatcherConfig } from '../mpi/types.js';
import type { RecordContext } from './context.js';
import { importFiles } from './import-files.js';

export const DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../data/demo');

export interface DemoSummary {
  resources: number;
  files: number;
  deficiencies: number;
  possibleDuplicates: number;
  checks: number;
}

/** Loads the demo files when the store has no resources yet; returns what was loaded, or undefined. */
export async function loadDemoData(ctx: RecordContext, log: (msg: string) => void = () => undefined, dir = DEMO_DIR, mpiConfig: MatcherConfig = DEFAULT_CONFIG): Promise<DemoSummary | undefined> {
  const r = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM resource LIMIT 1) x');
  if (Number(r.rows[0]?.n ?? 0) > 0) return undefined;
  if (!existsSync(dir)) return undefined;
  log('Loading the demo dataset (first start only)...');
  const summary = await importFiles(ctx, [dir]);
  // fresh statistics for the planner (the embedded database has no autovacuum to gather them)
  await ctx.db.exec('ANALYZE');
  for (const f of summary.failures) log(`demo file failed: ${f.file}: ${f.reason}`);
  log('Finding chart deficiencies, possible duplicates and data-quality issues...');
  const deficiencies = await syncDeficiencies(ctx.db);
  const duplicates = await runDuplicateDetection(ctx.db, mpiConfig);
  const checks = await (await startCheckRun(ctx.db, selectChecks())).done;
  return {
    resources: summary.resources,
    files: summary.files - summary.filesFailed,
    deficiencies: deficiencies.opened,
    possibleDuplicates: duplicates.tasksCreated,
    checks: checks.results.length,
  };
}

export function describeDemo(s: DemoSummary): string {
  return `${s.resources} resources from ${s.files} files; ${s.deficiencies} deficiency tasks, ${s.possibleDuplicates} possible duplicates, ${s.checks} data-quality checks run`;
}
