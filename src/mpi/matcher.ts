/** The matcher as callers use it: deduplicate a set of records, or score one record against candidates. */
import { blockingKeys, candidatePairs } from './blocking.js';
import { comparePairs, defaultParameters, estimateParameters, explainPair, scorePairs, type Explanation } from './model.js';
import { prepare, type Prepared } from './prepare.js';
import type { MatcherConfig, ModelParameters, PairScore, PersonRecord } from './types.js';

export interface DedupResult {
  prepared: Prepared[];
  params: ModelParameters;
  pairsCompared: number;
  skippedBlocks: number;
  /** Candidate pairs added by each blocking rule. */
  pairsByRule: number[];
  /** Every candidate pair as [i, j] (indexes into the records). */
  pairs: Uint32Array;
  /** The pairs classified match or possible. */
  scores: PairScore[];
  /** Seconds spent in each step. */
  timings: { prepare: number; blocking: number; comparing: number; fitting: number; scoring: number };
}

/** Finds duplicate pairs within records: blocking, comparison, EM, scoring. */
export function deduplicate(records: PersonRecord[], config: MatcherConfig, params?: ModelParameters): DedupResult {
  let t = performance.now();
  const lap = (): number => {
    const now = performance.now();
    const s = (now - t) / 1000;
    t = now;
    return s;
  };
  const prepared = records.map((r) => prepare(r, config));
  const tPrepare = lap();
  const { pairs, skippedBlocks, pairsByRule } = candidatePairs(prepared, config);
  const tBlocking = lap();
  const gamma = comparePairs(prepared, pairs, config);
  const tComparing = lap();
  const p = params ?? estimateParameters(prepared, gamma, config);
  const tFitting = lap();
  const { scores } = scorePairs(prepared, pairs, gamma, p, config);
  const timings = { prepare: tPrepare, blocking: tBlocking, comparing: tComparing, fitting: tFitting, scoring: lap() };
  return { prepared, params: p, pairsCompared: pairs.length / 2, skippedBlocks, pairsByRule, pairs, scores, timings };
}

/** Parameters for a population (EM when it holds enough duplicates, defaults with sampled u otherwise). */
export function fitParameters(records: PersonRecord[], config: MatcherConfig): ModelParameters {
  const prepared = records.map((r) => prepare(r, config));
  const { pairs } = candidatePairs(prepared, config);
  if (pairs.length === 0) return defaultParameters(prepared, config);
  return estimateParameters(prepared, comparePairs(prepared, pairs, config), config);
}

export interface Candidate {
  record: PersonRecord;
  explanation: Explanation;
}

/** Whether two records share a blocking key (so the one could be a candidate for the other). */
export function sharesBlock(a: Prepared, b: Prepared, config: MatcherConfig): boolean {
  const ka = new Set(blockingKeys(a, config));
  return blockingKeys(b, config).some((k) => ka.has(k));
}

/** Scores a query against candidate records, best first. */
export function matchRecord(query: PersonRecord, candidates: PersonRecord[], params: ModelParameters, config: MatcherConfig): Candidate[] {
  const q = prepare(query, config);
  return candidates
    .filter((c) => c.id !== query.id)
    .map((c) => ({ record: c, explanation: explainPair(q, prepare(c, config), params, config) }))
    .sort((x, y) => y.explanation.weight - x.explanation.weight);
}

/** Persons: connected components of the pairs classified as matches (only components of 2+). */
export function clusterMatches(n: number, scores: PairScore[]): number[][] {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  for (const s of scores) if (s.classification === 'match') parent[find(s.a)] = find(s.b);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = find(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}
