/** Accuracy on labelled data: pairwise precision, recall and F1, and CDC-style case outcomes. */
import { blockingKeys } from './blocking.js';
import { clusterMatches, deduplicate, deduplicateWith, fitParameters, type DedupResult } from './matcher.js';
import { explainPair } from './model.js';
import { prepare } from './prepare.js';
import type { CdcCase, LabelledSet } from './datasets.js';
import type { PairComparison } from './pair-workers.js';
import type { MatcherConfig } from './types.js';

export interface DedupEvaluation {
  records: number;
  pairsCompared: number;
  truePairs: number;
  /** True pairs that blocking put in the candidate set. */
  truePairsBlocked: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  possibleMatches: number;
  precision: number;
  recall: number;
  f1: number;
  parameters: { m: string; iterations: number; lambda: number };
  pairsByRule: number[];
  skippedBlocks: number;
  timings: DedupResult['timings'];
  seconds: number;
}

const pairKey = (i: number, j: number, n: number): number => Math.min(i, j) * n + Math.max(i, j);

export function evaluateDedup(set: LabelledSet, config: MatcherConfig, now: () => number = () => 0): DedupEvaluation {
  const t0 = now();
  return scoreDedup(set, deduplicate(set.records, config), now, t0);
}

/** evaluateDedup with the pairs compared by `compare` (on worker threads: pair-workers.ts). */
export async function evaluateDedupWith(compare: PairComparison, set: LabelledSet, config: MatcherConfig, now: () => number = () => 0): Promise<DedupEvaluation> {
  const t0 = now();
  return scoreDedup(set, await deduplicateWith(compare, set.records, config), now, t0);
}

function scoreDedup(set: LabelledSet, result: DedupResult, now: () => number, t0: number): DedupEvaluation {
  const n = set.records.length;
  const byCluster = new Map<string, number[]>();
  set.clusters.forEach((c, i) => byCluster.set(c, [...(byCluster.get(c) ?? []), i]));
  const truth = new Set<number>();
  for (const ids of byCluster.values()) for (let x = 0; x < ids.length; x++) for (let y = x + 1; y < ids.length; y++) truth.add(pairKey(ids[x]!, ids[y]!, n));
  let blocked = 0;
  for (let p = 0; p < result.pairs.length; p += 2) if (truth.has(pairKey(result.pairs[p]!, result.pairs[p + 1]!, n))) blocked++;
  const possible = result.scores.filter((s) => s.classification === 'possible').length;
  // Linked records form persons (connected components of the match pairs); every pair within a
  // person is a predicted duplicate, as the index would report it.
  let tp = 0;
  let fp = 0;
  for (const members of clusterMatches(n, result.scores)) {
    for (let x = 0; x < members.length; x++)
      for (let y = x + 1; y < members.length; y++) {
        if (truth.has(pairKey(members[x]!, members[y]!, n))) tp++;
        else fp++;
      }
  }
  const fn = truth.size - tp;
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = truth.size ? tp / truth.size : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return {
    records: n,
    pairsCompared: result.pairsCompared,
    truePairs: truth.size,
    truePairsBlocked: blocked,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    possibleMatches: possible,
    precision,
    recall,
    f1,
    parameters: { m: result.params.source.m, iterations: result.params.source.iterations, lambda: result.params.lambda },
    pairsByRule: result.pairsByRule,
    skippedBlocks: result.skippedBlocks,
    timings: result.timings,
    seconds: (now() - t0) / 1000,
  };
}

export interface CdcCaseResult {
  caseId: string;
  expected: CdcCase['expected'];
  predicted: 'match' | 'possible_match' | 'no_match';
  bestId?: string;
  probability?: number;
  correct: boolean;
}

export interface CdcEvaluation {
  cases: number;
  correct: number;
  accuracy: number;
  seedRecords: number;
  /**
   * RecordLinker's own scoring (tests/algorithm/scripts/calculate_metrics.py): only certain and
   * certainly-not grades are counted as right or wrong; possible matches are counted apart.
   */
  recordLinkerMetrics: { truePositives: number; trueNegatives: number; falsePositives: number; falseNegatives: number; sensitivity: number; specificity: number; ppv: number; f1: number; possibleGradedMatch: number; possibleGradedNoMatch: number; gradedPossible: number };
  results: CdcCaseResult[];
}

/**
 * Each test case is matched against the seed index (candidates by blocking). Parameters come from
 * the seed and the cases together (EM when they hold enough duplicates). A case is right when its
 * top candidate's grade is the expected one (and, for a match, the top candidate is the expected
 * person); "failed" (invalid input) is right when nothing is auto-matched.
 */
export function evaluateCdc(seed: LabelledSet['records'], cases: CdcCase[], config: MatcherConfig): CdcEvaluation {
  const params = fitParameters([...seed, ...cases.map((c) => c.record)], config);
  const prepared = seed.map((r) => prepare(r, config));
  const index = new Map<string, number[]>();
  prepared.forEach((p, i) => {
    for (const k of blockingKeys(p, config)) index.set(k, [...(index.get(k) ?? []), i]);
  });
  const results: CdcCaseResult[] = cases.map((c) => {
    const q = prepare(c.record, config);
    const ids = new Set<number>();
    for (const k of blockingKeys(q, config)) for (const i of index.get(k) ?? []) ids.add(i);
    // Best by weight: probabilities of strong candidates all round to 1.
    let best: { id: string; probability: number; weight: number; classification: string } | undefined;
    for (const i of ids) {
      const e = explainPair(q, prepared[i]!, params, config);
      if (!best || e.weight > best.weight) best = { id: prepared[i]!.id, probability: e.probability, weight: e.weight, classification: e.classification };
    }
    const predicted = !best || best.classification === 'non-match' ? 'no_match' : best.classification === 'match' ? 'match' : 'possible_match';
    let correct: boolean;
    if (c.expected === 'match') correct = predicted === 'match' && best?.id === c.matchId;
    else if (c.expected === 'possible_match') correct = predicted === 'possible_match';
    else correct = predicted !== 'match';
    if (c.expected === 'no_match') correct = predicted === 'no_match';
    return { caseId: c.caseId, expected: c.expected, predicted, bestId: best?.id, probability: best?.probability, correct };
  });
  const correct = results.filter((r) => r.correct).length;
  const n = (f: (r: CdcCaseResult) => boolean): number => results.filter(f).length;
  // A match to the wrong person is a false positive.
  const tp = n((r) => r.expected === 'match' && r.predicted === 'match' && r.correct);
  const tn = n((r) => r.expected === 'no_match' && r.predicted === 'no_match');
  const fp = n((r) => r.predicted === 'match' && (r.expected === 'no_match' || (r.expected === 'match' && !r.correct)));
  const fn = n((r) => r.expected === 'match' && r.predicted === 'no_match');
  const ratio = (a: number, b: number): number => (b ? a / b : 0);
  const recordLinkerMetrics = {
    truePositives: tp,
    trueNegatives: tn,
    falsePositives: fp,
    falseNegatives: fn,
    sensitivity: ratio(tp, tp + fn),
    specificity: ratio(tn, tn + fp),
    ppv: ratio(tp, tp + fp),
    f1: ratio(2 * tp, 2 * tp + fp + fn),
    possibleGradedMatch: n((r) => r.expected === 'possible_match' && r.predicted === 'match'),
    possibleGradedNoMatch: n((r) => r.expected === 'possible_match' && r.predicted === 'no_match'),
    gradedPossible: n((r) => r.predicted === 'possible_match'),
  };
  return { cases: cases.length, correct, accuracy: cases.length ? correct / cases.length : 0, seedRecords: seed.length, recordLinkerMetrics, results };
}
