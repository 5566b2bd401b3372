/**
 * A matcher configuration given as data (a JSON file: `custodian mpi run --config FILE`, `serve
 * --mpi-config FILE`), laid over the defaults and checked before any record is compared. Settings
 * left out keep their default; `comparisons` entries change the default comparison of their kind
 * (or add a new kind, or drop one with "remove": true); `blocking` and each `skipValues` list
 * replace the default's. Every error names the setting and why it is refused.
 */
import { BLOCKING_KEYS } from './blocking.js';
import { COMPARISON_KINDS as KINDS } from './compare.js';
import { DEFAULT_CONFIG } from './default-config.js';
import type { BlockingRule, ComparisonConfig, ComparisonKind, MatcherConfig, TypoCorroboration } from './types.js';

const TOP = ['comparisons', 'blocking', 'maxBlockSize', 'thresholds', 'prior', 'skipValues', 'similarity', 'em'];
const COMPARISON_KEYS = ['kind', 'levels', 'm', 'u', 'termFrequency', 'conflictFrom', 'onConflict', 'typoCorroboration', 'sameIdentity', 'remove'];

export class MatcherConfigError extends Error {
  override name = 'MatcherConfigError';
}

const fail = (path: string, why: string): never => {
  throw new MatcherConfigError(`${path}: ${why}`);
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isProbability = (v: unknown): v is number => typeof v === 'number' && v > 0 && v < 1;

function onlyKeys(v: Record<string, unknown>, allowed: string[], path: string): void {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) fail(`${path}.${k}`, `unknown setting (known: ${allowed.join(', ')})`);
}

function integer(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(path, `must be a whole number of at least ${min}`);
  return v as number;
}

function strings(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(path, 'must be a list of strings');
  return v as string[];
}

function probabilities(v: unknown, path: string): number[] {
  if (!Array.isArray(v) || v.length < 2) fail(path, 'must be a list of at least two probabilities');
  (v as unknown[]).forEach((x, i) => isProbability(x) || fail(`${path}[${i}]`, 'must be a probability strictly between 0 and 1'));
  return v as number[];
}

function corroboration(v: unknown, path: string, kinds: ComparisonKind[]): TypoCorroboration[] {
  if (!Array.isArray(v)) fail(path, 'must be a list of { kind, maxLevel, missing? }');
  return (v as unknown[]).map((t, i) => {
    const p = `${path}[${i}]`;
    if (!isObject(t)) return fail(p, 'must be { kind, maxLevel, missing? }');
    onlyKeys(t, ['kind', 'maxLevel', 'missing'], p);
    if (!kinds.includes(t.kind as ComparisonKind)) fail(`${p}.kind`, `no comparison of kind ${JSON.stringify(t.kind)} in the configuration`);
    if (t.missing !== undefined && typeof t.missing !== 'boolean') fail(`${p}.missing`, 'must be true or false');
    return { kind: t.kind as ComparisonKind, maxLevel: integer(t.maxLevel, `${p}.maxLevel`, 0), ...(t.missing !== undefined ? { missing: t.missing as boolean } : {}) };
  });
}

function comparisons(v: unknown, base: ComparisonConfig[]): ComparisonConfig[] {
  if (!Array.isArray(v)) return fail('comparisons', 'must be a list of comparisons, each with its kind');
  const out = base.map((c) => ({ ...c }));
  (v as unknown[]).forEach((entry, i) => {
    const p = `comparisons[${i}]`;
    if (!isObject(entry)) return fail(p, 'must be an object with a kind');
    onlyKeys(entry, COMPARISON_KEYS, p);
    const kind = entry.kind as ComparisonKind;
    if (!KINDS.includes(kind)) fail(`${p}.kind`, `must be one of ${KINDS.join(', ')}`);
    const at = out.findIndex((c) => c.kind === kind);
    if (entry.remove === true) {
      if (at < 0) fail(p, `there is no ${kind} comparison to remove`);
      out.splice(at, 1);
      return;
    }
    if (at < 0 && !(entry.levels && entry.m && entry.u)) fail(p, `a new ${kind} comparison needs its levels, m and u`);
    const c: ComparisonConfig = at >= 0 ? out[at]! : { kind, levels: [], m: [], u: [] };
    if (entry.levels !== undefined) c.levels = strings(entry.levels, `${p}.levels`);
    if (entry.m !== undefined) c.m = probabilities(entry.m, `${p}.m`);
    if (entry.u !== undefined) c.u = probabilities(entry.u, `${p}.u`);
    if (c.levels.length < 2 || c.m.length !== c.levels.length || c.u.length !== c.levels.length) fail(p, `levels, m and u must be lists of the same length, two or more (now ${c.levels.length}, ${c.m.length}, ${c.u.length})`);
    if (entry.termFrequency !== undefined) c.termFrequency = entry.termFrequency === true;
    if (entry.conflictFrom !== undefined) c.conflictFrom = integer(entry.conflictFrom, `${p}.conflictFrom`, 1);
    if (c.conflictFrom !== undefined && c.conflictFrom >= c.levels.length) fail(`${p}.conflictFrom`, `must be a level of the comparison (0-${c.levels.length - 1})`);
    if (entry.onConflict !== undefined) {
      if (!['review', 'non-match', 'typo-review'].includes(entry.onConflict as string)) fail(`${p}.onConflict`, 'must be review, non-match or typo-review');
      c.onConflict = entry.onConflict as ComparisonConfig['onConflict'];
    }
    if (at < 0) out.push(c);
  });
  // Corroborations name comparisons, so they are read once every comparison is known.
  const kinds = out.map((c) => c.kind);
  (v as Record<string, unknown>[]).forEach((entry, i) => {
    const c = out.find((x) => x.kind === entry.kind);
    if (!c) return;
    if (entry.typoCorroboration !== undefined) c.typoCorroboration = corroboration(entry.typoCorroboration, `comparisons[${i}].typoCorroboration`, kinds);
    if (entry.sameIdentity !== undefined) c.sameIdentity = corroboration(entry.sameIdentity, `comparisons[${i}].sameIdentity`, kinds);
  });
  for (const c of out) {
    for (const t of [...(c.typoCorroboration ?? []), ...(c.sameIdentity ?? [])]) {
      if (!kinds.includes(t.kind)) fail(`comparisons (${c.kind})`, `its corroboration names ${t.kind}, which the configuration no longer compares`);
    }
  }
  return out;
}

function blocking(v: unknown): (string[] | BlockingRule)[] {
  if (!Array.isArray(v) || v.length === 0) return fail('blocking', 'must be a non-empty list of rules');
  return (v as unknown[]).map((rule, i) => {
    const p = `blocking[${i}]`;
    const keys = Array.isArray(rule) ? rule : isObject(rule) ? rule.keys : undefined;
    if (!Array.isArray(keys) || keys.length === 0) fail(p, 'must be a list of keys, or { keys, maxBlockSize }');
    (keys as unknown[]).forEach((k, j) => BLOCKING_KEYS.includes(k as string) || fail(`${p}[${j}]`, `unknown blocking key ${JSON.stringify(k)} (known: ${BLOCKING_KEYS.join(', ')})`));
    if (Array.isArray(rule)) return rule as string[];
    onlyKeys(rule as Record<string, unknown>, ['keys', 'maxBlockSize'], p);
    return { keys: keys as string[], maxBlockSize: integer((rule as Record<string, unknown>).maxBlockSize, `${p}.maxBlockSize`, 2) };
  });
}

/** The configuration `json` describes, laid over `base` (the defaults); throws MatcherConfigError. */
export function matcherConfigFrom(json: unknown, base: MatcherConfig = DEFAULT_CONFIG): MatcherConfig {
  if (!isObject(json)) return fail('configuration', 'must be a JSON object');
  onlyKeys(json, TOP, 'configuration');
  const config: MatcherConfig = { ...base, thresholds: { ...base.thresholds }, similarity: { ...base.similarity }, em: { ...base.em }, skipValues: { ...base.skipValues } };
  if (json.comparisons !== undefined) config.comparisons = comparisons(json.comparisons, base.comparisons);
  if (json.blocking !== undefined) config.blocking = blocking(json.blocking);
  if (json.maxBlockSize !== undefined) config.maxBlockSize = integer(json.maxBlockSize, 'maxBlockSize', 2);
  if (json.prior !== undefined) config.prior = isProbability(json.prior) ? json.prior : fail('prior', 'must be a probability strictly between 0 and 1');
  if (json.thresholds !== undefined) {
    if (!isObject(json.thresholds)) fail('thresholds', 'must be { match, possible }');
    onlyKeys(json.thresholds as Record<string, unknown>, ['match', 'possible'], 'thresholds');
    Object.assign(config.thresholds, json.thresholds);
  }
  const { match, possible } = config.thresholds;
  if (typeof match !== 'number' || typeof possible !== 'number' || !(possible > 0 && possible < match && match <= 1)) {
    fail('thresholds', `need 0 < possible < match <= 1 (now possible ${possible}, match ${match})`);
  }
  if (json.similarity !== undefined) {
    if (!isObject(json.similarity)) fail('similarity', 'must be { high, low }');
    onlyKeys(json.similarity as Record<string, unknown>, ['high', 'low'], 'similarity');
    Object.assign(config.similarity, json.similarity);
  }
  const { high, low } = config.similarity;
  if (typeof high !== 'number' || typeof low !== 'number' || !(low > 0 && low < high && high <= 1)) fail('similarity', `need 0 < low < high <= 1 (now low ${low}, high ${high})`);
  if (json.em !== undefined) {
    if (!isObject(json.em)) fail('em', 'must be { maxIterations, uSamplePairs, minMatches }');
    onlyKeys(json.em as Record<string, unknown>, ['maxIterations', 'uSamplePairs', 'minMatches'], 'em');
    for (const [k, x] of Object.entries(json.em as Record<string, unknown>)) (config.em as Record<string, number>)[k] = integer(x, `em.${k}`, 1);
  }
  if (json.skipValues !== undefined) {
    if (!isObject(json.skipValues)) fail('skipValues', 'must be { given, family, fullName, any }, each a list');
    onlyKeys(json.skipValues as Record<string, unknown>, ['given', 'family', 'fullName', 'any'], 'skipValues');
    for (const [k, x] of Object.entries(json.skipValues as Record<string, unknown>)) (config.skipValues as Record<string, string[]>)[k] = strings(x, `skipValues.${k}`);
  }
  return config;
}
