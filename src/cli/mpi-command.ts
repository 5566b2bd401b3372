/** custodian mpi: evaluate the matcher on labelled files, and run duplicate detection over the store. */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Command } from 'commander';
import { badRequest } from '../fhir/outcomes.js';
import { parseCdc, parseFebrl, parseSplink } from '../mpi/datasets.js';
import { DEFAULT_CONFIG } from '../mpi/default-config.js';
import { matcherConfigFrom, MatcherConfigError } from '../mpi/config-file.js';
import type { MatcherConfig } from '../mpi/types.js';
import { evaluateCdc, evaluateDedup } from '../mpi/evaluate.js';
import { openStore } from '../store/open.js';
import { storeConfig } from './config.js';
import { mpiMetrics, runDuplicateDetection } from '../store/mpi-store.js';

export function readText(file: string): string {
  const buf = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

const pct = (x: number): string => x.toFixed(4);

/**
 * The matcher configuration of a JSON file laid over the defaults (or the defaults without a file);
 * a file that cannot be read or is refused is a 400-style error naming the file and the setting.
 */
export function matcherConfigFile(file: string | undefined): MatcherConfig {
  if (!file) return DEFAULT_CONFIG;
  let json: unknown;
  try {
    json = JSON.parse(readText(file));
  } catch (err) {
    throw badRequest(`Matcher configuration ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return matcherConfigFrom(json);
  } catch (err) {
    if (err instanceof MatcherConfigError) throw badRequest(`Matcher configuration ${file}: ${err.message}`);
    throw err;
  }
}

export interface EvaluateOptions {
  format: string;
  seed?: string;
  json?: boolean;
  /** A matcher configuration file (JSON) laid over the defaults. */
  config?: string;
}

/** The evaluation as an object (the CLI prints it; tests call it). */
export function evaluateFile(file: string, opts: EvaluateOptions): Record<string, unknown> {
  const config = matcherConfigFile(opts.config);
  if (opts.format === 'febrl' || opts.format === 'splink') {
    const set = opts.format === 'febrl' ? parseFebrl(readText(file)) : parseSplink(readText(file));
    return { file, format: opts.format, ...evaluateDedup(set, config, () => performance.now()) };
  }
  if (opts.format === 'cdc') {
    const seedFile = opts.seed ?? path.join(path.dirname(file), path.basename(file).replace(/test/g, 'seed'));
    if (seedFile === file || !existsSync(seedFile)) throw badRequest(`The CDC format needs the seed index: --seed FILE (looked for ${seedFile})`);
    const t0 = performance.now();
    const { seed, cases } = parseCdc(readText(seedFile), readText(file));
    const r = evaluateCdc(seed, cases, config);
    return { file, seedFile, format: 'cdc', ...r, seconds: (performance.now() - t0) / 1000 };
  }
  throw badRequest(`Unknown format "${opts.format}": use febrl, splink or cdc`);
}

function printEvaluation(r: Record<string, unknown>): void {
  const out = process.stdout;
  if (r.format === 'cdc') {
    out.write(`${r.file}: ${r.correct} of ${r.cases} cases as expected (${pct(r.accuracy as number)}), seed index ${r.seedRecords} records, ${(r.seconds as number).toFixed(2)} s\n`);
    const m = r.recordLinkerMetrics as { truePositives: number; trueNegatives: number; falsePositives: number; falseNegatives: number; sensitivity: number; specificity: number; f1: number; gradedPossible: number };
    out.write(
      `  RecordLinker scoring (certain / certainly-not only): TP ${m.truePositives}, TN ${m.trueNegatives}, FP ${m.falsePositives}, FN ${m.falseNegatives}; ` +
        `sensitivity ${pct(m.sensitivity)}, specificity ${pct(m.specificity)}, F1 ${pct(m.f1)}; ${m.gradedPossible} graded possible\n`,
    );
    for (const c of r.results as { caseId: string; expected: string; predicted: string; bestId?: string; probability?: number; correct: boolean }[]) {
      if (!c.correct) out.write(`  case ${c.caseId}: expected ${c.expected}, got ${c.predicted}${c.bestId ? ` (best ${c.bestId}, p=${c.probability?.toFixed(3)})` : ''}\n`);
    }
    return;
  }
  out.write(
    `${r.file} (${r.format}): ${r.records} records, ${r.pairsCompared} pairs compared, ${r.truePairs} true pairs (${r.truePairsBlocked} reached by blocking)\n` +
      `  precision ${pct(r.precision as number)}  recall ${pct(r.recall as number)}  F1 ${pct(r.f1 as number)}\n` +
      `  true positives ${r.truePositives}, false positives ${r.falsePositives}, false negatives ${r.falseNegatives}, possible matches for review ${r.possibleMatches}\n` +
      `  parameters: m by ${(r.parameters as { m: string }).m}, ${(r.seconds as number).toFixed(2)} s\n`,
  );
}

export function registerMpiCommands(program: Command): void {
  const mpi = program.command('mpi').description('master patient index: duplicate detection, evaluation');
  mpi
    .command('evaluate')
    .description('run the matcher on a labelled CSV and print pairs compared, precision, recall, F1 and the confusion counts')
    .argument('<file>', 'labelled CSV (optionally .gz)')
    .requiredOption('--format <format>', 'febrl | splink | cdc')
    .option('--seed <file>', 'cdc: the seed patient index (default: the test file name with "test" replaced by "seed")')
    .option('--config <file>', 'matcher configuration (JSON) laid over the defaults: thresholds, comparisons, blocking...')
    .option('--json', 'print JSON')
    .action((file: string, opts: EvaluateOptions) => {
      const r = evaluateFile(file, opts);
      if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else printEvaluation(r);
    });
  mpi
    .command('run')
    .description('find duplicate patients in the whole store: fit the model by EM, record auto-links, raise possible-duplicate review Tasks')
    .option('--data <dir>', 'embedded database folder (default ./.custodian, or CUSTODIAN_DATA); ignored when DATABASE_URL is set')
    .option('--config <file>', 'matcher configuration (JSON) laid over the defaults: thresholds, comparisons, blocking...')
    .option('--json', 'print a JSON summary')
    .action(async (opts: { data?: string; json?: boolean; config?: string }) => {
      const config = matcherConfigFile(opts.config);
      const db = await openStore(storeConfig(opts));
      try {
        const s = await runDuplicateDetection(db, config);
        const m = await mpiMetrics(db);
        if (opts.json) process.stdout.write(`${JSON.stringify({ ...s, metrics: m }, null, 2)}\n`);
        else {
          process.stdout.write(
            `${s.patients} patients, ${s.pairsCompared} pairs compared in ${s.seconds.toFixed(1)} s (m by ${s.parameters.m}, ${s.parameters.iterations} EM iterations)\n` +
              `  ${s.matches} matches (auto-linked, ${s.persons} persons with more than one record), ${s.possibleMatches} possible matches, ${s.tasksCreated} new review tasks\n` +
              `  duplicate error rate ${(m.duplicateErrorRate * 100).toFixed(2)}% (${m.possibleDuplicates} open possible duplicates / ${m.patients} records)\n`,
          );
        }
      } finally {
        await db.close();
      }
    });
}
