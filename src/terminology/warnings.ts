/**
 * Validation on write: OperationOutcome warnings (never rejections) for a Condition, Procedure,
 * Claim or ExplanationOfBenefit that codes with ICD-10-CM/PCS or HCPCS a code that is unknown, or
 * not billable, at its date.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { LookupResult } from './catalog.js';
import { HCPCS, ICD10CM, ICD10PCS, canonicalSystem } from './systems.js';

export type LookupFn = (system: string, code: string, date?: string) => LookupResult;

const CHECKED = new Set([ICD10CM, ICD10PCS, HCPCS]);

type Json = Record<string, unknown>;

function codings(v: unknown, path: string, out: { system: string; code: string; path: string }[]): void {
  if (Array.isArray(v)) { v.forEach((x, i) => codings(x, `${path}[${i}]`, out)); return; }
  if (!v || typeof v !== 'object') return;
  const o = v as Json;
  if (typeof o.system === 'string' && typeof o.code === 'string') out.push({ system: o.system, code: o.code, path });
  for (const [k, x] of Object.entries(o)) if (x && typeof x === 'object') codings(x, path ? `${path}.${k}` : k, out);
}

function dateOf(r: Json): string | undefined {
  const pick = (...vals: unknown[]): string | undefined => vals.find((v): v is string => typeof v === 'string');
  const period = (p: unknown): string | undefined => (p && typeof p === 'object' ? pick((p as Json).start, (p as Json).end) : undefined);
  const raw = pick(r.onsetDateTime, r.recordedDate, r.performedDateTime, period(r.performedPeriod), period(r.onsetPeriod), period(r.billablePeriod), r.created);
  return raw?.slice(0, 10);
}

export function terminologyWarnings(resource: { resourceType: string } & Json, lookup: LookupFn): OperationOutcomeIssue[] {
  if (!['Condition', 'Procedure', 'Claim', 'ExplanationOfBenefit', 'Encounter'].includes(resource.resourceType)) return [];
  const date = dateOf(resource);
  const found: { system: string; code: string; path: string }[] = [];
  codings(resource, '', found);
  const issues: OperationOutcomeIssue[] = [];
  for (const c of found) {
    const system = canonicalSystem(c.system);
    if (!CHECKED.has(system)) continue;
    const l = lookup(system, c.code, date);
    if (!l.release) continue; // no release of this system loaded: nothing to say
    const expr = `${resource.resourceType}.${c.path.replace(/\[(\d+)\]/g, '[$1]')}`;
    if (!l.found && !l.needsSeventhCharacter) {
      issues.push({ severity: 'warning', code: 'code-invalid', diagnostics: `${l.code} is not a ${l.systemName} code${date ? ` on ${date}` : ''} (release ${l.release.version})`, expression: [expr] });
    } else if (!l.billable) {
      issues.push({ severity: 'warning', code: 'business-rule', diagnostics: l.message ?? `${l.code} is not billable`, expression: [expr] });
    }
  }
  return issues;
}
