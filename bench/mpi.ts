/**
 * MPI benchmark: accuracy on the public labelled suites (test/mpi/fixtures), and whole-population
 * duplicate detection (pure matcher, in memory) on N synthetic patients with injected duplicates
 * (bench/mpi-population.ts: Synthea-shaped demographics, 10% duplicated with 1-3 changes).
 *
 *   node --import tsx bench/mpi.ts [--n 100000] [--population-only] [--threads 2] [--json]
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateFile } from '../src/cli/mpi-command.js';
import { DEFAULT_CONFIG } from '../src/mpi/default-config.js';
import { evaluateDedupWith } from '../src/mpi/evaluate.js';
import { parallelComparison } from '../src/mpi/pair-workers.js';
import { prepare } from '../src/mpi/prepare.js';
import { syntheticPopulation } from './mpi-population.js';

const FX = path.join(path.dirname(fileURLToPath(import.meta.url)), '../test/mpi/fixtures');
const args = process.argv.slice(2);
const n = Number(args[args.indexOf('--n') + 1] ?? 0) || 100_000;
const json = args.includes('--json');
const onlyPopulation = args.includes('--population-only');
// Threads comparing pairs in the population run (this one and workers); default one per CPU.
const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : availableParallelism();

const suites: [string, string, string?][] = [
  ['febrl-dataset1.csv.gz', 'febrl'],
  ['febrl-dataset2.csv.gz', 'febrl'],
  ['febrl-dataset3.csv.gz', 'febrl'],
  ['splink-fake_1000.csv.gz', 'splink'],
  ['cdc-nbs_test.csv.gz', 'cdc'],
  ['cdc-sample_test_data.csv.gz', 'cdc'],
  // CDC's regrade of nbs plus permutation cases, against the nbs seed index.
  ['cdc-better_test.csv.gz', 'cdc', 'cdc-nbs_seed.csv.gz'],
];
const results: Record<string, unknown>[] = [];
for (const [file, format, seed] of onlyPopulation ? [] : suites) {
  const r = evaluateFile(path.join(FX, file), { format, ...(seed ? { seed: path.join(FX, seed) } : {}) });
  results.push(r);
  if (!json) {
    if (format === 'cdc') console.log(`${file}: ${r.correct}/${r.cases} cases as expected (${(r.accuracy as number).toFixed(3)})`);
    else console.log(`${file}: F1 ${(r.f1 as number).toFixed(4)} P ${(r.precision as number).toFixed(4)} R ${(r.recall as number).toFixed(4)}, ${r.pairsCompared} pairs, ${(r.seconds as number).toFixed(2)} s`);
  }
}

// Synthetic population (bench/mpi-population.ts): generated before the clock starts.
const pop = syntheticPopulation(n);
const rss0 = process.memoryUsage().rss;
let peak = rss0;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
// Baseline in the same run: one linear pass that normalises every record.
const tb = performance.now();
for (const rec of pop.records) prepare(rec, DEFAULT_CONFIG);
const baselineSeconds = (performance.now() - tb) / 1000;
const t0 = performance.now();
let chunksByThread: number[] = [];
const ev = await evaluateDedupWith(parallelComparison(threads, { onDone: (c) => (chunksByThread = c) }), pop, DEFAULT_CONFIG, () => performance.now());
const seconds = (performance.now() - t0) / 1000;
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
const scale = {
  records: n,
  threads,
  chunksByThread,
  seconds,
  baselinePrepareSeconds: baselineSeconds,
  ratioToBaseline: seconds / baselineSeconds,
  pairsCompared: ev.pairsCompared,
  pairsByRule: ev.pairsByRule,
  skippedBlocks: ev.skippedBlocks,
  timings: ev.timings,
  truePairs: ev.truePairs,
  truePairsBlocked: ev.truePairsBlocked,
  possibleMatches: ev.possibleMatches,
  precision: ev.precision,
  recall: ev.recall,
  f1: ev.f1,
  peakRssMb: Math.round(peak / 1048576),
  cpuUserSeconds: process.cpuUsage().user / 1e6,
};
if (json) console.log(JSON.stringify({ suites: results.map((x) => ({ ...x, results: undefined })), scale }, null, 2));
else {
  console.log(`synthetic ${n} patients (10% injected duplicates): ${scale.pairsCompared} pairs compared, P ${scale.precision.toFixed(4)} R ${scale.recall.toFixed(4)} F1 ${scale.f1.toFixed(4)} (${ev.truePairsBlocked}/${ev.truePairs} true pairs blocked, ${ev.possibleMatches} possible), ${scale.seconds.toFixed(1)} s = ${scale.ratioToBaseline.toFixed(1)}x the prepare pass (${baselineSeconds.toFixed(1)} s), peak RSS ${scale.peakRssMb} MB`);
  console.log(`  ${threads} threads comparing (chunks done by each ${JSON.stringify(chunksByThread)}); steps ${JSON.stringify(ev.timings)}; pairs by rule ${JSON.stringify(ev.pairsByRule)}; ${ev.skippedBlocks} blocks over the cap`);
}
