import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import damerauLevenshtein from 'talisman/metrics/damerau-levenshtein.js';
import talismanJaroWinkler from 'talisman/metrics/jaro-winkler.js';
import { readText } from '../../src/cli/mpi-command.js';
import { candidatePairs } from '../../src/mpi/blocking.js';
import { ColumnComparer, PairMemo, toColumns } from '../../src/mpi/columns.js';
import { compareInto } from '../../src/mpi/compare.js';
import { parseCdc, parseFebrl, parseSplink } from '../../src/mpi/datasets.js';
import { DEFAULT_CONFIG } from '../../src/mpi/default-config.js';
import { deduplicate, deduplicateWith } from '../../src/mpi/matcher.js';
import { comparePairs, rng } from '../../src/mpi/model.js';
import { parallelComparison } from '../../src/mpi/pair-workers.js';
import { prepare } from '../../src/mpi/prepare.js';
import { jaroWinkler, withinOneEdit } from '../../src/mpi/string-metrics.js';
import type { MatcherConfig, PersonRecord } from '../../src/mpi/types.js';

const fx = (f: string): string => path.join(import.meta.dirname, 'fixtures', f);
// Every comparison kind, the combined address one too.
const config: MatcherConfig = { ...DEFAULT_CONFIG, comparisons: [...DEFAULT_CONFIG.comparisons, { kind: 'address', levels: ['a', 'b', 'c', 'd', 'e'], m: [0.8, 0.1, 0.05, 0.03, 0.02], u: [0.001, 0.01, 0.05, 0.1, 0.839] }] };
const today = new Date('2026-06-01T00:00:00Z');

/** Variants that reach the rarer paths: transposed names, middle names, previous and double-barrelled names, lists. */
function variants(records: PersonRecord[], seed: number): PersonRecord[] {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  return records.map((x, i) => {
    const v: PersonRecord = structuredClone(x);
    v.id = `${x.id}-v`;
    const k = r();
    if (k < 0.15 && v.given?.[0] && v.family) [v.given, v.family] = [[v.family], v.given[0]];
    else if (k < 0.3) v.given = [...(v.given ?? []), pick(records).given?.[0] ?? 'ann'];
    else if (k < 0.4) v.previousFamily = [pick(records).family ?? 'smith', ...(r() < 0.5 && x.family ? [x.family] : [])];
    else if (k < 0.5) v.given = [pick(['a', 'j', 'bill', 'william', 'ann', 'anne']), ...(v.given ?? [])];
    else if (k < 0.6 && v.family) v.family = r() < 0.5 ? `${v.family}-${pick(records).family ?? 'lopez'}` : `${pick(records).family ?? 'van'} ${v.family}`;
    if (r() < 0.4) v.phone = [`555-01${i % 10}-${1000 + (i % 7)}`, ...(r() < 0.5 ? [`555-01${(i + 1) % 10}-${1000 + (i % 7)}`] : [])];
    if (r() < 0.3) v.email = [`${v.given?.[0] ?? 'x'}.${i % 5}@example.org`];
    if (r() < 0.3) v.identifiers = [`mrn|${i % 50}`, ...(r() < 0.3 ? [`other|${i % 3}`] : [])];
    if (r() < 0.2) v.address = { ...v.address, number: String(i % 13), street: pick(records).address?.street };
    return v;
  });
}

function sets(): { name: string; records: PersonRecord[] }[] {
  const cdc = parseCdc(readText(fx('cdc-nbs_seed.csv.gz')), readText(fx('cdc-nbs_test.csv.gz')));
  const out = [
    { name: 'FEBRL 1', records: parseFebrl(readText(fx('febrl-dataset1.csv.gz'))).records },
    { name: 'FEBRL 2', records: parseFebrl(readText(fx('febrl-dataset2.csv.gz'))).records },
    { name: 'fake_1000', records: parseSplink(readText(fx('splink-fake_1000.csv.gz'))).records },
    { name: 'CDC nbs', records: [...cdc.seed, ...cdc.cases.map((c) => c.record)] },
  ];
  return [...out, ...out.map((s, i) => ({ name: `${s.name} + variants`, records: [...s.records, ...variants(s.records, i + 1)] }))];
}

describe('mpi columns', () => {
  for (const { name, records } of sets()) {
    it(`${name}: the column comparer gives compareInto's levels on every candidate pair and on random pairs`, () => {
      const prepared = records.map((x) => prepare(x, config, today));
      const { pairs } = candidatePairs(prepared, config);
      const r = rng(3);
      const all = Array.from(pairs);
      for (let s = 0; s < 20000; s++) all.push(Math.floor(r() * prepared.length), Math.floor(r() * prepared.length));
      const comparer = new ColumnComparer(toColumns(prepared), config);
      const K = config.comparisons.length;
      const want = new Int8Array(K);
      const got = new Int8Array(K);
      for (let p = 0; p < all.length; p += 2) {
        // Both orders: the comparisons need not be symmetric.
        for (const [a, b] of [
          [all[p]!, all[p + 1]!],
          [all[p + 1]!, all[p]!],
        ] as const) {
          compareInto(prepared[a]!, prepared[b]!, config, want, 0);
          comparer.compareInto(a, b, got, 0);
          assert.deepEqual(got, want, `${prepared[a]!.id} / ${prepared[b]!.id}`);
        }
      }
    });
  }

  it("withinOneEdit is talisman's Damerau-Levenshtein <= 1", () => {
    const r = rng(7);
    const alpha = 'abc';
    const str = (n: number): string => Array.from({ length: n }, () => alpha[Math.floor(r() * 3)]).join('');
    let near = 0;
    for (let t = 0; t < 200_000; t++) {
      const a = str(Math.floor(r() * 7));
      let b = r() < 0.5 ? str(Math.floor(r() * 7)) : a;
      if (b === a) {
        for (let e = 1 + Math.floor(r() * 2); e > 0; e--) {
          const i = Math.floor(r() * (b.length + 1));
          const op = Math.floor(r() * 4);
          const ch = alpha[Math.floor(r() * 3)]!;
          if (op === 0) b = b.slice(0, i) + ch + b.slice(i);
          else if (op === 1) b = b.slice(0, i) + b.slice(i + 1);
          else if (op === 2) b = b.slice(0, i) + ch + b.slice(i + 1);
          else if (i + 1 < b.length) b = b.slice(0, i) + b[i + 1] + b[i] + b.slice(i + 2);
        }
      }
      const want = damerauLevenshtein(a, b) <= 1;
      if (want) near++;
      assert.equal(withinOneEdit(a, b), want, `${a} / ${b}`);
    }
    assert.ok(near > 50_000 && near < 150_000);
  });

  it("jaroWinkler is talisman's Jaro-Winkler, to the last bit", () => {
    const r = rng(11);
    const str = (alpha: string, n: number): string => Array.from({ length: n }, () => alpha[Math.floor(r() * alpha.length)]).join('');
    for (let t = 0; t < 200_000; t++) {
      const alpha = t % 2 ? 'ab' : 'abcdefgh';
      const a = str(alpha, Math.floor(r() * 12));
      const b = r() < 0.3 ? a.slice(0, Math.floor(r() * a.length)) + str(alpha, Math.floor(r() * 4)) : str(alpha, Math.floor(r() * 12));
      assert.equal(jaroWinkler(a, b), talismanJaroWinkler(a, b), `${a} / ${b}`);
    }
    // Long strings (the scratch buffers grow) and real names.
    const long = str('abc', 300);
    assert.equal(jaroWinkler(long, `x${long}`), talismanJaroWinkler(long, `x${long}`));
    for (const [a, b] of [['martha', 'marhta'], ['dwayne', 'duane'], ['dixon', 'dicksonx'], ['', 'a'], ['a', '']]) assert.equal(jaroWinkler(a!, b!), talismanJaroWinkler(a!, b!));
  });

  it('PairMemo remembers per ordered pair, grows, and starts again at its limit', () => {
    const m = new PairMemo(5000);
    for (let i = 0; i < 4000; i++) m.set(i, i + 1, i % 100);
    for (let i = 0; i < 4000; i++) assert.equal(m.get(i, i + 1), i % 100);
    assert.equal(m.get(1, 0), -1);
    for (let i = 0; i < 2000; i++) m.set(i + 1, i, 7);
    assert.equal(m.get(0, 1), -1);
    assert.equal(m.get(1999 + 1, 1999), 7);
  });
});

describe('mpi pairs compared on worker threads', () => {
  it('gives the levels this thread gives, and the same duplicates', async () => {
    const set = parseFebrl(readText(fx('febrl-dataset3.csv.gz')));
    const prepared = set.records.map((x) => prepare(x, DEFAULT_CONFIG));
    const { pairs } = candidatePairs(prepared, DEFAULT_CONFIG);
    const columns = toColumns(prepared);
    // The worker compares every chunk (this thread only what it might leave).
    let byThread: number[] = [];
    const parallel = await parallelComparison(2, { minPairs: 0, chunkPairs: 64, callerCompares: false, onDone: (b) => (byThread = b) })(columns, pairs, DEFAULT_CONFIG);
    assert.deepEqual(byThread, [0, Math.ceil(pairs.length / 2 / 64)]);
    assert.deepEqual(Int8Array.from(parallel), comparePairs(prepared, pairs, DEFAULT_CONFIG, columns));
    const one = deduplicate(set.records, DEFAULT_CONFIG);
    const two = await deduplicateWith(parallelComparison(2, { minPairs: 0, chunkPairs: 64 }), set.records, DEFAULT_CONFIG);
    assert.deepEqual(two.scores, one.scores);
    assert.deepEqual(two.params, one.params);
  });
});
