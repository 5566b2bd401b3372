/**
 * MPI benchmark: accuracy on the public labelled suites (test/mpi/fixtures), and whole-population
 * duplicate detection on N synthetic patients with injected duplicates (names drawn from the
 * fixtures' name lists, random birth dates, addresses, SSNs; 10% duplicated with typos).
 *
 *   node --import tsx bench/mpi.ts [--n 100000] [--json]
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateFile, readText } from '../src/cli/mpi-command.js';
import { parseFebrl, parseSplink } from '../src/mpi/datasets.js';
import { DEFAULT_CONFIG } from '../src/mpi/default-config.js';
import { evaluateDedup } from '../src/mpi/evaluate.js';
import { rng } from '../src/mpi/model.js';
import type { PersonRecord } from '../src/mpi/types.js';

const FX = path.join(path.dirname(fileURLToPath(import.meta.url)), '../test/mpi/fixtures');
const args = process.argv.slice(2);
const n = Number(args[args.indexOf('--n') + 1] ?? 0) || 100_000;
const json = args.includes('--json');

const suites: [string, string][] = [
  ['febrl-dataset1.csv.gz', 'febrl'],
  ['febrl-dataset2.csv.gz', 'febrl'],
  ['febrl-dataset3.csv.gz', 'febrl'],
  ['splink-fake_1000.csv.gz', 'splink'],
  ['cdc-nbs_test.csv.gz', 'cdc'],
  ['cdc-sample_test_data.csv.gz', 'cdc'],
];
const results: Record<string, unknown>[] = [];
for (const [file, format] of suites) {
  const r = evaluateFile(path.join(FX, file), { format });
  results.push(r);
  if (!json) {
    if (format === 'cdc') console.log(`${file}: ${r.correct}/${r.cases} cases as expected (${(r.accuracy as number).toFixed(3)})`);
    else console.log(`${file}: F1 ${(r.f1 as number).toFixed(4)} P ${(r.precision as number).toFixed(4)} R ${(r.recall as number).toFixed(4)}, ${r.pairsCompared} pairs, ${(r.seconds as number).toFixed(2)} s`);
  }
}

// Synthetic population.
const names = [parseFebrl(readText(path.join(FX, 'febrl-dataset3.csv.gz'))), parseSplink(readText(path.join(FX, 'splink-fake_1000.csv.gz')))].flatMap((s) => s.records);
const givens = [...new Set(names.map((r) => r.given?.[0]).filter((x): x is string => !!x))];
const families = [...new Set(names.map((r) => r.family).filter((x): x is string => !!x))];
const streets = [...new Set(names.map((r) => r.address?.street).filter((x): x is string => !!x))];
const r = rng(42);
const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
const typo = <S extends string | undefined>(s: S): S => {
  if (!s || s.length < 3) return s;
  const i = 1 + Math.floor(r() * (s.length - 2));
  const k = r();
  if (k < 0.33) return (s.slice(0, i) + s.slice(i + 1)) as S; // deletion
  if (k < 0.66) return (s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2)) as S; // transposition
  return (s.slice(0, i) + 'aeiou'[Math.floor(r() * 5)] + s.slice(i + 1)) as S; // substitution
};
const pad = (x: number, w: number): string => String(x).padStart(w, '0');
const records: PersonRecord[] = [];
const clusters: string[] = [];
const originals = Math.round(n / 1.1);
for (let i = 0; i < originals; i++) {
  records.push({
    id: `o${i}`,
    given: [pick(givens)],
    family: pick(families),
    birthDate: `${1930 + Math.floor(r() * 90)}-${pad(1 + Math.floor(r() * 12), 2)}-${pad(1 + Math.floor(r() * 28), 2)}`,
    sex: r() < 0.5 ? 'female' : 'male',
    address: { number: String(1 + Math.floor(r() * 300)), street: pick(streets), postcode: pad(Math.floor(r() * 9000) + 1000, 4) },
    ssn: pad(Math.floor(r() * 1e9), 9),
  });
  clusters.push(`o${i}`);
}
for (let i = originals; i < n; i++) {
  const k = Math.floor(r() * originals);
  const o = records[k]!;
  const d: PersonRecord = structuredClone(o);
  d.id = `d${i}`;
  const errors = 1 + Math.floor(r() * 3);
  for (let e = 0; e < errors; e++) {
    const f = Math.floor(r() * 6);
    if (f === 0) d.given = [typo(d.given![0]!)];
    else if (f === 1) d.family = typo(d.family!);
    else if (f === 2) d.birthDate = d.birthDate!.slice(0, 8) + pad(1 + Math.floor(r() * 28), 2);
    else if (f === 3) d.ssn = r() < 0.5 ? undefined : typo(d.ssn);
    else if (f === 4) d.address = { ...d.address, number: String(1 + Math.floor(r() * 300)) };
    else d.address = { ...d.address, postcode: typo(d.address?.postcode) };
  }
  records.push(d);
  clusters.push(`o${k}`);
}
const rss0 = process.memoryUsage().rss;
let peak = rss0;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 200);
const t0 = performance.now();
const ev = evaluateDedup({ records, clusters }, DEFAULT_CONFIG, () => performance.now());
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
const scale = { records: n, seconds: (performance.now() - t0) / 1000, pairsCompared: ev.pairsCompared, precision: ev.precision, recall: ev.recall, f1: ev.f1, peakRssMb: Math.round(peak / 1048576) };
if (json) console.log(JSON.stringify({ suites: results.map((x) => ({ ...x, results: undefined })), scale }, null, 2));
else console.log(`synthetic ${n} patients (10% injected duplicates): ${scale.pairsCompared} pairs compared, P ${scale.precision.toFixed(4)} R ${scale.recall.toFixed(4)} F1 ${scale.f1.toFixed(4)}, ${scale.seconds.toFixed(1)} s, peak RSS ${scale.peakRssMb} MB`);
