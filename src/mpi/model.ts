/**
 * Fellegi-Sunter: m/u probabilities estimated from the data by EM over the candidate pairs (u
 * initialised from random pairs), term-frequency adjustment of exact name agreement, and scoring
 * with a per-field explanation.
 */
import { ColumnComparer, toColumns, type Columns } from './columns.js';
import { compareAll, fieldValue, alignNames, tfKey } from './compare.js';
import { dayFirstReading, type Prepared } from './prepare.js';
import type { ComparisonConfig, FieldExplanation, MatcherConfig, ModelParameters, PairScore, TypoCorroboration } from './types.js';

/** A small deterministic PRNG (mulberry32), so that estimates are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const normaliseProbs = (counts: number[], pseudo: number): number[] => {
  const total = counts.reduce((s, c) => s + c + pseudo, 0);
  return counts.map((c) => (c + pseudo) / total);
};

/** u from comparisons of random pairs (nearly all non-matches). */
export function estimateU(records: Prepared[], config: MatcherConfig, seed = 1, columns?: Columns): number[][] {
  const n = records.length;
  const counts = config.comparisons.map((c) => c.levels.map(() => 0));
  if (n < 2) return config.comparisons.map((c) => c.u.slice());
  const total = Math.min(config.em.uSamplePairs, (n * (n - 1)) / 2);
  const r = rng(seed);
  const comparer = new ColumnComparer(columns ?? toColumns(records), config);
  const K = config.comparisons.length;
  const levels = new Int8Array(K);
  for (let s = 0; s < total; s++) {
    const i = Math.floor(r() * n);
    let j = Math.floor(r() * (n - 1));
    if (j >= i) j++;
    comparer.compareInto(i, j, levels, 0);
    for (let k = 0; k < K; k++) if (levels[k]! >= 0) counts[k]![levels[k]!]!++;
  }
  return counts.map((c, k) => {
    const seen = c.reduce((a, b) => a + b, 0);
    // Too few observations: keep the default.
    if (seen < 100) return config.comparisons[k]!.u.slice();
    return normaliseProbs(c, 0.5);
  });
}

export function termFrequencies(records: Prepared[], config: MatcherConfig): Record<number, Map<string, number>> {
  const out: Record<number, Map<string, number>> = {};
  config.comparisons.forEach((c, k) => {
    if (!c.termFrequency) return;
    const counts = new Map<string, number>();
    let total = 0;
    for (const p of records) {
      const v = tfKey(c.kind, p);
      if (!v) continue;
      counts.set(v, (counts.get(v) ?? 0) + 1);
      total++;
    }
    const tf = new Map<string, number>();
    for (const [v, c2] of counts) tf.set(v, c2 / total);
    out[k] = tf;
  });
  return out;
}

/** The comparison vectors of the candidate pairs, one Int8 per comparison. */
export function comparePairs(records: Prepared[], pairs: Uint32Array, config: MatcherConfig, columns: Columns = toColumns(records)): Int8Array {
  const K = config.comparisons.length;
  const out = new Int8Array((pairs.length / 2) * K);
  const comparer = new ColumnComparer(columns, config);
  for (let p = 0; p < pairs.length / 2; p++) comparer.compareInto(pairs[2 * p]!, pairs[2 * p + 1]!, out, p * K);
  return out;
}

/**
 * The distinct comparison vectors of the candidate pairs and how many pairs have each: EM works on
 * these (a few thousand however many millions of pairs).
 */
export function comparisonPatterns(gamma: Int8Array, K: number): { vectors: Int8Array; counts: Float64Array } {
  const P = gamma.length / K;
  const index = new Map<number, number>();
  const counts: number[] = [];
  const vectors: number[] = [];
  for (let p = 0; p < P; p++) {
    let key = 0;
    for (let k = 0; k < K; k++) key = key * 8 + (gamma[p * K + k]! + 1);
    const at = index.get(key);
    if (at !== undefined) counts[at]!++;
    else {
      index.set(key, counts.length);
      counts.push(1);
      for (let k = 0; k < K; k++) vectors.push(gamma[p * K + k]!);
    }
  }
  return { vectors: Int8Array.from(vectors), counts: Float64Array.from(counts) };
}

/** EM over the candidate pairs' comparison vectors: m, u and the match proportion lambda. */
export function estimateParameters(records: Prepared[], gamma: Int8Array, config: MatcherConfig, seed = 1, columns?: Columns): ModelParameters {
  const K = config.comparisons.length;
  const P = gamma.length / K;
  const { vectors, counts } = comparisonPatterns(gamma, K);
  const V = counts.length;
  // lambda is the match probability of a random pair of the whole population (pairs that blocking
  // leaves out count as non-matches), so that scores use population-calibrated u and prior.
  const n = records.length;
  const allPairs = Math.max(1, (n * (n - 1)) / 2);
  let m = config.comparisons.map((c) => c.m.slice());
  let u = estimateU(records, config, seed, columns);
  const uSampled = records.length >= 50;
  let lambda = Math.min(0.5, Math.max(1e-9, (P * config.prior) / allPairs));
  let iterations = 0;
  let emOk = false;
  if (P > 0) {
    const g = new Float64Array(V);
    for (let it = 0; it < config.em.maxIterations; it++) {
      iterations = it + 1;
      // E step
      for (let v = 0; v < V; v++) {
        let lm = Math.log(lambda);
        let lu = Math.log(1 - lambda);
        for (let k = 0; k < K; k++) {
          const l = vectors[v * K + k]!;
          if (l < 0) continue;
          lm += Math.log(m[k]![l]!);
          lu += Math.log(u[k]![l]!);
        }
        g[v] = 1 / (1 + Math.exp(lu - lm));
      }
      // M step
      const mc = config.comparisons.map((c) => c.levels.map(() => 0));
      const uc = config.comparisons.map((c) => c.levels.map(() => 0));
      let sum = 0;
      for (let v = 0; v < V; v++) {
        const gm = g[v]! * counts[v]!;
        const gu = (1 - g[v]!) * counts[v]!;
        sum += gm;
        for (let k = 0; k < K; k++) {
          const l = vectors[v * K + k]!;
          if (l < 0) continue;
          mc[k]![l]! += gm;
          uc[k]![l]! += gu;
        }
      }
      const newLambda = Math.min(Math.max(sum / allPairs, 1e-9), 0.5);
      if (sum < config.em.minMatches) break;
      const newM = mc.map((c, k) => (c.reduce((a, b) => a + b, 0) < 5 ? m[k]! : normaliseProbs(c, 0.01)));
      // u stays as estimated from random pairs: among blocked pairs the non-matches agree on the
      // blocking fields far more often than in the population, which would bias u (Splink does the same).
      const newU = uSampled ? u : uc.map((c, k) => (c.reduce((a, b) => a + b, 0) < 5 ? u[k]! : normaliseProbs(c, 0.01)));
      const delta = Math.abs(newLambda - lambda) + newM.reduce((s, row, k) => s + row.reduce((t, v, l) => t + Math.abs(v - m[k]![l]!), 0), 0);
      m = newM;
      u = newU;
      lambda = newLambda;
      emOk = true;
      if (delta < 1e-6) break;
    }
  }
  // Without EM (too few candidate pairs), assume about one duplicate per five records.
  if (!emOk) lambda = Math.min(1e-4, 0.2 / Math.max(n, 1));
  return {
    m,
    u,
    lambda,
    tf: termFrequencies(records, config),
    source: { m: emOk ? 'em' : 'default', u: emOk ? 'sample' : uSampled ? 'sample' : 'default', iterations, pairs: P },
  };
}

/** Parameters without EM: defaults for m, u from the data when there is enough. */
export function defaultParameters(records: Prepared[], config: MatcherConfig): ModelParameters {
  return {
    m: config.comparisons.map((c) => c.m.slice()),
    u: records.length >= 50 ? estimateU(records, config) : config.comparisons.map((c) => c.u.slice()),
    lambda: Math.min(1e-4, 0.2 / Math.max(records.length, 1)),
    tf: termFrequencies(records, config),
    source: { m: 'default', u: records.length >= 50 ? 'sample' : 'default', iterations: 0, pairs: 0 },
  };
}

const log2 = (x: number): number => Math.log(x) / Math.LN2;

const statsCache = new WeakMap<Map<string, number>, { avg: number; min: number }>();
function tfStats(tf: Map<string, number>): { avg: number; min: number } {
  let s = statsCache.get(tf);
  if (!s) {
    let avg = 0;
    let min = 1;
    for (const f of tf.values()) {
      avg += f * f;
      if (f < min) min = f;
    }
    s = { avg, min };
    statsCache.set(tf, s);
  }
  return s;
}

/**
 * The weight of one comparison level, with the term-frequency adjustment on exact agreement. A
 * weaker level never outweighs a stronger one (rare levels get tiny sampled u otherwise).
 */
function levelWeight(params: ModelParameters, k: number, level: number, value: string): number {
  const w = rawWeight(params, k, level, value);
  if (level === 0) return w;
  let cap = Infinity;
  for (let l = 0; l < level; l++) cap = Math.min(cap, rawWeight(params, k, l, ''));
  return Math.min(w, cap);
}

function rawWeight(params: ModelParameters, k: number, level: number, value: string): number {
  const m = params.m[k]![level]!;
  let u = params.u[k]![level]!;
  const tf = params.tf[k];
  if (level === 0 && tf && value) {
    const { avg, min } = tfStats(tf);
    const f = tf.get(value) ?? min;
    // Scale u by how common this value is relative to an average exact agreement.
    if (avg > 0) u = Math.min(0.5, Math.max(1e-7, (u * f) / avg));
  }
  return log2(m / u);
}

/** Why a pair is not auto-linked whatever its score, and what it is at best. */
export interface PairCap {
  reason: string;
  /** 'possible': review at most; 'non-match': neither linked nor queued. */
  cap: 'possible' | 'non-match';
}

/**
 * A birth date that is no possible date is a data error to resolve by a person, not evidence to
 * link on (review); two different values of a personal identifier are a conflict (its onConflict
 * says whether that is review or two people).
 */
export function pairCap(a: Prepared, b: Prepared, levels: ArrayLike<number>, config: MatcherConfig, offset = 0): PairCap | undefined {
  let review: PairCap | undefined;
  if (a.dobInvalid || b.dobInvalid) {
    // An impossible date one keystroke from the other record's date is that date mistyped, unless
    // it also reads as another possible date written day first: two readings, for a person to decide.
    const k = config.comparisons.findIndex((c) => c.kind === 'birthDate');
    const otherReading = (x: Prepared, y: Prepared): boolean => {
      const r = x.dobInvalid ? dayFirstReading(x.dob) : undefined;
      return r !== undefined && r !== y.dob;
    };
    const ambiguous = otherReading(a, b) || otherReading(b, a);
    if (k < 0 || levels[offset + k]! !== 1 || a.dob.length !== b.dob.length || ambiguous) review = { reason: 'invalid birth date', cap: 'possible' };
  }
  for (let k = 0; k < config.comparisons.length; k++) {
    const c = config.comparisons[k]!;
    if (c.conflictFrom === undefined || levels[offset + k]! < c.conflictFrom) continue;
    // Only numbers of the identifier's own scheme conflict (an SSN as the SSA issues them); other
    // numbers in the field are compared with typo tolerance like any identifier.
    if (c.kind === 'ssn' && !(isUsSsn(a.ssn) && isUsSsn(b.ssn))) continue;
    if (c.onConflict === 'non-match' || (c.onConflict === 'typo-review' && !conflictCorroborated(c, levels[offset + k]!, levels, config, offset))) {
      return { reason: `conflicting ${c.kind}`, cap: 'non-match' };
    }
    review ??= { reason: `conflicting ${c.kind}`, cap: 'possible' };
  }
  return review;
}

const FIRST_NAMES_AGREE: TypoCorroboration[] = [{ kind: 'given', maxLevel: 1 }];

/**
 * Whether the rest of the identity says a 'typo-review' conflict is one person's wrong number
 * (review) rather than two people: a one-keystroke conflict that the typoCorroboration holds for
 * (by default, the first names agree), or any conflict that the sameIdentity holds for.
 */
function conflictCorroborated(c: ComparisonConfig, level: number, levels: ArrayLike<number>, config: MatcherConfig, offset: number): boolean {
  if (level === c.conflictFrom && agrees(c.typoCorroboration ?? FIRST_NAMES_AGREE, levels, config, offset)) return true;
  return c.sameIdentity !== undefined && c.sameIdentity.length > 0 && agrees(c.sameIdentity, levels, config, offset);
}

/** Whether every listed comparison agrees at its level or better (or is missing, where allowed). */
function agrees(tests: TypoCorroboration[], levels: ArrayLike<number>, config: MatcherConfig, offset: number): boolean {
  for (const t of tests) {
    const k = config.comparisons.findIndex((x) => x.kind === t.kind);
    const l = k < 0 ? -1 : levels[offset + k]!;
    if (l < 0 ? !t.missing : l > t.maxLevel) return false;
  }
  return true;
}

/** A number the SSA could have issued: 9 digits, area not 000, 666 or 9xx, group not 00, serial not 0000. */
export function isUsSsn(s: string): boolean {
  return /^(?!000|666|9)\d{3}(?!00)\d{2}(?!0000)\d{4}$/.test(s);
}

function classify(probability: number, config: MatcherConfig, cap?: PairCap): PairScore['classification'] {
  if (cap?.cap === 'non-match') return 'non-match';
  if (probability >= config.thresholds.match && !cap) return 'match';
  return probability >= config.thresholds.possible ? 'possible' : 'non-match';
}

function toProbability(weight: number): number {
  return 1 / (1 + Math.pow(2, -weight));
}

export interface PairScores {
  /** Total weight of every candidate pair, in the order of the pairs. */
  weights: Float64Array;
  /** The pairs classified match or possible (non-matches are left out). */
  scores: PairScore[];
}

/** Scores every candidate pair from its comparison vector. */
export function scorePairs(records: Prepared[], pairs: Uint32Array, gamma: Int8Array, params: ModelParameters, config: MatcherConfig): PairScores {
  const K = config.comparisons.length;
  const prior = log2(params.lambda / (1 - params.lambda));
  // Level weights once; only exact agreement on a term-frequency comparison depends on the value.
  const table = config.comparisons.map((c, k) => c.levels.map((_, l) => levelWeight(params, k, l, '')));
  // The exact-level weight of a term-frequency comparison depends on the value: once per record
  // (the left record's value, as explainPair takes it).
  const tfWeights = config.comparisons.map((c, k) => {
    if (!params.tf[k]) return undefined;
    const byValue = new Map<string, number>();
    return Float64Array.from(records, (r) => {
      const v = tfKey(c.kind, r);
      let w = byValue.get(v);
      if (w === undefined) byValue.set(v, (w = levelWeight(params, k, 0, v)));
      return w;
    });
  });
  // No pair below this weight reaches the possible threshold (toProbability is increasing); the
  // margin keeps the test on the probability itself, as before, for pairs near the threshold.
  const possible = config.thresholds.possible;
  const minWeight = possible > 0 && possible < 1 ? log2(possible / (1 - possible)) - 1e-6 : -Infinity;
  const P = pairs.length / 2;
  const weights = new Float64Array(P);
  const scores: PairScore[] = [];
  for (let p = 0; p < P; p++) {
    const a = pairs[2 * p]!;
    let w = prior;
    for (let k = 0; k < K; k++) {
      const l = gamma[p * K + k]!;
      if (l < 0) continue;
      const tfw = tfWeights[k];
      w += l === 0 && tfw ? tfw[a]! : table[k]![l]!;
    }
    weights[p] = w;
    if (w < minWeight) continue;
    const probability = toProbability(w);
    if (probability < config.thresholds.possible) continue;
    const b = pairs[2 * p + 1]!;
    const classification = classify(probability, config, pairCap(records[a]!, records[b]!, gamma, config, p * K));
    if (classification !== 'non-match') scores.push({ a, b, weight: w, probability, classification });
  }
  return { weights, scores };
}

export interface Explanation {
  fields: FieldExplanation[];
  prior: number;
  weight: number;
  probability: number;
  classification: PairScore['classification'];
  namesTransposed: boolean;
  /** Why the pair is not auto-linked whatever its score (it goes to review, or is a non-match for a conflicting identifier). */
  reviewReason?: string;
}

/** One pair, scored with its per-field levels and weights, as a reviewer sees it. */
export function explainPair(a: Prepared, b: Prepared, params: ModelParameters, config: MatcherConfig): Explanation {
  const levels = compareAll(a, b, config);
  const aligned = alignNames(a, b, config);
  const prior = log2(params.lambda / (1 - params.lambda));
  let weight = prior;
  const fields: FieldExplanation[] = config.comparisons.map((c, k) => {
    const l = levels[k]!;
    const left = fieldValue(c.kind, a) || undefined;
    const right = fieldValue(c.kind, b) || undefined;
    if (l < 0) return { comparison: c.kind, level: 'missing', weight: 0, left, right };
    const w = levelWeight(params, k, l, l === 0 && c.termFrequency ? tfKey(c.kind, a) : '');
    weight += w;
    return { comparison: c.kind, level: c.levels[l]!, weight: Math.round(w * 100) / 100, left, right };
  });
  const probability = toProbability(weight);
  const cap = pairCap(a, b, levels, config);
  return { fields, prior, weight, probability, classification: classify(probability, config, cap), namesTransposed: aligned !== b, ...(cap ? { reviewReason: cap.reason } : {}) };
}
