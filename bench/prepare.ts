/**
 * The importer's own cost, without a database: the prepare step of the bulk import (read, parse,
 * validate, index, hash, stored form: records/import-prepare.ts) over the first files of a folder,
 * in a worker thread set up as the import's workers are (their young generation), against a
 * baseline measured in the same worker: reading and JSON.parse of the same files, which any
 * importer pays.
 *
 *   node --import tsx bench/prepare.ts [--bundles DIR] [--files 300] [--against /path/to/other/checkout] [--young-mb N]
 *
 * --against: also prepares every file with another checkout's code (a `git worktree` of an earlier
 * commit, with node_modules), in a second worker, alternating file by file with this one, so that
 * the machine's drift (which moves whole-import runs by 10-20% here) falls on both alike; prints
 * the ratio of the two. --young-mb: the workers' young generation instead of the import's
 * (PREPARE_WORKER_LIMITS). Figures are milliseconds of the preparing thread per resource.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PREPARE_WORKER_LIMITS } from '../src/records/import-files.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const DIR = arg('--bundles') ?? path.resolve('../shared/data/synthea/r4-bundles');
const FILES = Number(arg('--files') ?? 300);
const AGAINST = arg('--against');
const YOUNG = arg('--young-mb');
const LIMITS = YOUNG ? { maxYoungGenerationSizeMb: Number(YOUNG) } : PREPARE_WORKER_LIMITS;
const WARM = 20;

/** The worker: loads one checkout's prepare step and times it, and the baseline, file by file. */
const workerCode = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
(async () => {
  const { register } = await import('tsx/esm/api');
  register();
  const prep = await import(workerData.root + '/src/records/import-prepare.ts');
  (await import(workerData.root + '/src/fhir/definitions.ts')).loadDefinitions();
  parentPort.on('message', (file) => {
    let t = performance.now();
    JSON.parse(readFileSync(file, 'utf8'));
    const parse = performance.now() - t;
    t = performance.now();
    const p = prep.prepareFile(file, false, false);
    const prepare = performance.now() - t;
    parentPort.postMessage({ parse, prepare, resources: p.kind === 'ready' ? p.writes.length : 0, kind: p.kind });
  });
  parentPort.postMessage('ready');
})();
`;

interface Timing { parse: number; prepare: number; resources: number; kind: string }

function start(root: string): Promise<(file: string) => Promise<Timing>> {
  const worker = new Worker(workerCode, { eval: true, workerData: { root }, resourceLimits: LIMITS });
  worker.unref();
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () => {
      resolve((file) => new Promise((res) => {
        worker.once('message', (m: Timing) => res(m));
        worker.postMessage(file);
      }));
    });
  });
}

async function main(): Promise<void> {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort().slice(0, FILES + WARM).map((f) => path.join(DIR, f));
  if (files.length <= WARM) throw new Error(`${DIR}: fewer than ${WARM + 1} bundles`);
  const sides: { name: string; run: (f: string) => Promise<Timing>; parse: number; prepare: number; resources: number }[] = [
    { name: 'this checkout', run: await start(path.resolve('.')), parse: 0, prepare: 0, resources: 0 },
  ];
  if (AGAINST) sides.push({ name: AGAINST, run: await start(path.resolve(AGAINST)), parse: 0, prepare: 0, resources: 0 });
  let bytes = 0;
  for (let i = 0; i < files.length; i++) {
    const file = files[i] as string;
    if (i >= WARM) bytes += readFileSync(file).length;
    // alternate which side goes first
    const order = i % 2 ? [...sides].reverse() : sides;
    for (const s of order) {
      const t = await s.run(file);
      if (t.kind !== 'ready') throw new Error(`${file}: ${t.kind}`);
      if (i < WARM) continue;
      s.parse += t.parse;
      s.prepare += t.prepare;
      s.resources += t.resources;
    }
  }
  const per = (ms: number, n: number): number => +(ms / n).toFixed(4);
  console.log(JSON.stringify({
    files: files.length - WARM,
    megabytes: +(bytes / 1e6).toFixed(1),
    youngGenerationMb: LIMITS.maxYoungGenerationSizeMb,
    sides: sides.map((s) => ({
      code: s.name,
      resources: s.resources,
      prepareMsPerResource: per(s.prepare, s.resources),
      baselineParseMsPerResource: per(s.parse, s.resources),
      ratioToParse: +(s.prepare / s.parse).toFixed(2),
    })),
    ...(sides.length === 2 ? { ratioThisToAgainst: +((sides[0] as { prepare: number }).prepare / (sides[1] as { prepare: number }).prepare).toFixed(3) } : {}),
  }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
