import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { evaluateFile } from '../../src/cli/mpi-command.js';

const fx = (f: string): string => path.join(import.meta.dirname, 'fixtures', f);

describe('mpi evaluate on public benchmarks', () => {
  const targets: [string, string, number][] = [
    ['febrl-dataset1.csv.gz', 'febrl', 0.993],
    ['febrl-dataset2.csv.gz', 'febrl', 0.988],
    ['febrl-dataset3.csv.gz', 'febrl', 0.985],
    ['splink-fake_1000.csv.gz', 'splink', 0.9],
  ];
  for (const [file, format, target] of targets) {
    it(`${file}: F1 at least ${target}`, () => {
      const r = evaluateFile(fx(file), { format }) as { f1: number; truePositives: number; falsePositives: number; falseNegatives: number; truePairs: number; pairsCompared: number; records: number };
      assert.ok(r.f1 >= target, `F1 ${r.f1}`);
      assert.equal(r.truePositives + r.falseNegatives, r.truePairs);
      // Blocking keeps the comparisons near-linear, far below all n(n-1)/2 pairs.
      assert.ok(r.pairsCompared < (r.records * (r.records - 1)) / 2 / 100);
    });
  }

  it('CDC sample suite: reports each case against its expectation', () => {
    const r = evaluateFile(fx('cdc-sample_test_data.csv.gz'), { format: 'cdc' }) as { cases: number; correct: number; results: { caseId: string; correct: boolean }[] };
    assert.equal(r.cases, 6);
    assert.equal(r.results.length, 6);
    // Hyphenated, camel-cased and transposed names find their person.
    for (const id of ['1', '2', '3', '4', '5']) assert.ok(r.results.find((c) => c.caseId === id)?.correct, `case ${id}`);
  });

  it('rejects an unknown format', () => {
    assert.throws(() => evaluateFile(fx('febrl-dataset1.csv.gz'), { format: 'xml' }), /Unknown format/);
  });
});
