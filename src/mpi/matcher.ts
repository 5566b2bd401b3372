/** The matcher as callers use it: deduplicate a set of records, or score one record against candidates. */
import { blockingKeys, candidatePairs, type BlockingResult } from './blocking.js';
import { toColumns, type Columns } from './columns.js';
import { comparePairs, defaultParameters, estimateParameters, explainPair, scorePairs, type Explanation } from './model.js';
import { prepare, type Prepared } from './prepare.js';
import type { PairComparison } from './pair-workers.js';
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

interface Compared {
  prepared: Prepared[];
  columns: Columns;
  pairs: Uint32Array;
  skippedBlocks: number;
  pairsByRule: number[];
  gamma: Int8Array;
  timings: Pick<DedupResult['timings'], 'prepare' | 'blocking' | 'comparing'>;
}

function stopwatch(): () => number {
  let t = performance.now();
  return () => {
    const now = performance.now();
    const s = (now - t) / 1000;
    t = now;
    return s;
  };
}

/** Blocking, then the comparison vectors of the candidate pairs (by `compare`, on this thread by default). */
function prepareAndBlock(records: PersonRecord[], config: MatcherConfig): { lap: () => number; prepared: Prepared[]; columns: Columns; tPrepare: number; tBlocking: number } & BlockingResult {
  const lap = stopwatch();
  const prepared = records.map((r) => prepare(r, config));
  const columns = toColumns(prepared);
  const tPrepare = lap();
  const blocked = candidatePairs(prepared, config);
  return { lap, prepared, columns, tPrepare, tBlocking: lap(), ...blocked };
}

function finish(c: Compared, config: MatcherConfig, params: ModelParameters | undefined): DedupResult {
  const lap = stopwatch();
  const p = params ?? estimateParameters(c.prepared, c.gamma, config, 1, c.columns);
  const tFitting = lap();
  const { scores } = scorePairs(c.prepared, c.pairs, c.gamma, p, config);
  const timings = { ...c.timings, fitting: tFitting, scoring: lap() };
  return { prepared: c.prepared, params: p, pairsCompared: c.pairs.length / 2, skippedBlocks: c.skippedBlocks, pairsByRule: c.pairsByRule, pairs: c.pairs, scores, timings };
}

/** Finds duplicate pairs within records: blocking, comparison, EM, scoring (on this thread). */
export function deduplicate(records: PersonRecord[], config: MatcherConfig, params?: ModelParameters): DedupResult {
  const b = prepareAndBlock(records, config);
  const gamma = comparePairs(b.prepared, b.pairs, config, b.columns);
  return finish({ ...b, gamma, timings: { prepare: b.tPrepare, blocking: b.tBlocking, comparing: b.lap() } }, config, params);
}

/**
 * deduplicate with the pairs compared by `compare` (parallelComparison in pair-workers.ts compares
 * them on worker threads); the result is the same.
 */
export async function deduplicateWith(compare: PairComparison, records: PersonRecord[], config: MatcherConfig, params?: ModelParameters): Promise<DedupResult> {
  const b = prepareAndBlock(records, config);
  const gamma = await compare(b.columns, b.pairs, config);
  return finish({ ...b, gamma, timings: { prepare: b.tPrepare, blocking: b.tBlocking, comparing: b.lap() } }, config, params);
}

/** Parameters for a population (EM when it holds enough duplicates, defaults with sampled u otherwise). */
export function fitParameters(records: PersonRecord[], config: MatcherConfig): ModelParameters {
  const prepared = records.map((r) => prepare(r, config));
  const { pairs } = candidatePairs(prepared, config);
  if (pairs.length === 0) return defaultParameters(prepared, config);
  const columns = toColumns(prepared);
  return estimateParameters(prepared, comparePairs(prepared, pairs, config, columns), config, 1, columns);
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
