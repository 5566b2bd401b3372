/** Run summaries (overall and per Kahn category) and comparison of two runs. */
import type { CheckResult } from './types.js';

export interface CategorySummary {
  passed: number;
  failed: number;
  notApplicable: number;
  errors: number;
  /** passed / (passed + failed) * 100, or null when nothing applied. */
  score: number | null;
}

export interface Summary extends CategorySummary {
  checks: number;
  byCategory: Record<string, CategorySummary>;
}

function tally(results: CheckResult[]): CategorySummary {
  const passed = results.filter((r) => r.status === 'passed').length;
  const failed = results.filter((r) => r.status === 'failed').length;
  return {
    passed,
    failed,
    notApplicable: results.filter((r) => r.status === 'not-applicable').length,
    errors: results.filter((r) => r.status === 'error').length,
    score: passed + failed ? Math.round((passed / (passed + failed)) * 1000) / 10 : null,
  };
}

export function summarize(results: CheckResult[]): Summary {
  const byCategory: Record<string, CategorySummary> = {};
  for (const cat of [...new Set(results.map((r) => r.category))].sort()) byCategory[cat] = tally(results.filter((r) => r.category === cat));
  return { checks: results.length, ...tally(results), byCategory };
}

export interface CheckChange {
  checkId: string;
  title: string;
  before?: CheckResult;
  after?: CheckResult;
  /** 'new-failure' | 'fixed' | 'worse' | 'better' | 'same' | 'added' | 'removed' */
  change: string;
  numeratorDelta: number;
}

/** Compares two runs check by check (previous may be undefined: everything is 'added'). */
export function compareResults(previous: CheckResult[] | undefined, current: CheckResult[]): CheckChange[] {
  const before = new Map((previous ?? []).map((r) => [r.checkId, r]));
  const out: CheckChange[] = [];
  for (const a of current) {
    const b = before.get(a.checkId);
    let change = 'added';
    if (b) {
      if (b.status !== 'failed' && a.status === 'failed') change = 'new-failure';
      else if (b.status === 'failed' && a.status !== 'failed') change = 'fixed';
      else if (a.numerator > b.numerator) change = 'worse';
      else if (a.numerator < b.numerator) change = 'better';
      else change = 'same';
    }
    out.push({ checkId: a.checkId, title: a.title, before: b, after: a, change, numeratorDelta: a.numerator - (b?.numerator ?? 0) });
    before.delete(a.checkId);
  }
  for (const b of before.values()) out.push({ checkId: b.checkId, title: b.title, before: b, change: 'removed', numeratorDelta: -b.numerator });
  return out;
}
