/**
 * Code edits for one encounter's code set: validity and billability for the date of service,
 * 7th characters, Medicare Code Editor (age, sex, manifestation and unacceptable principal),
 * Excludes1 pairs, code-first / use-additional-code sequencing, POA indicators. Each edit is a check
 * with the shape the check engine (src/checks) shares: id, title, severity, status, numerator,
 * denominator and the offending codes with the reason and the rule.
 */
import type { Terminology } from './catalog.js';
import { codeRefs, inRange } from './tabular.js';
import { HCPCS, ICD10CM, ICD10PCS, canonicalSystem, formatCode, normalizeCode } from './systems.js';

export interface EncounterCodeSet {
  /** ISO date of service (discharge date for inpatient). */
  dateOfService: string;
  setting: 'inpatient' | 'outpatient';
  /** Age in years at the date of service. */
  age?: number;
  sex?: 'male' | 'female' | 'other' | 'unknown';
  /** ICD-10-CM diagnoses in sequence: the first is the principal (first-listed) diagnosis. */
  diagnoses: { code: string; poa?: string }[];
  /** ICD-10-PCS (default) or HCPCS procedures. */
  procedures?: { code: string; system?: string }[];
}

export type CheckStatus = 'passed' | 'failed' | 'not-applicable' | 'error';

export interface Finding { codes: string[]; message: string; rule: string }

export interface CheckResult {
  id: string;
  title: string;
  severity: 'error' | 'warning';
  status: CheckStatus;
  numerator: number;
  denominator: number;
  findings: Finding[];
}

/** MCE age ranges (years), from the MCE documentation (v37: newborn 0; pediatric 0-17; maternity 9-64; adult 15-124). */
export const MCE_AGE: Record<string, [number, number, string]> = {
  Newborn_Only: [0, 0, 'newborn (age 0)'],
  Pediatric_Only: [0, 17, 'pediatric (age 0-17)'],
  Maternity_Only: [9, 64, 'maternity (age 9-64)'],
  Adult_Only: [15, 124, 'adult (age 15-124)'],
};

const POA_VALUES = new Set(['Y', 'N', 'U', 'W']);

export const EDIT_TITLES: Record<string, [string, 'error' | 'warning']> = {
  'invalid-code': ['Code not valid on the date of service', 'error'],
  'non-billable': ['Header code, not billable', 'error'],
  'seventh-character': ['Missing 7th character or placeholder X', 'error'],
  'mce-age': ['MCE age conflict', 'error'],
  'mce-sex': ['MCE sex conflict', 'error'],
  'manifestation-principal': ['Manifestation code as principal diagnosis', 'error'],
  'unacceptable-principal': ['Unacceptable principal diagnosis', 'error'],
  excludes1: ['Excludes1 codes reported together', 'error'],
  'code-first': ['Code-first instruction not followed', 'error'],
  'use-additional-code': ['Use-additional-code instruction not followed', 'warning'],
  'poa-missing': ['POA indicator missing or invalid', 'error'],
  'poa-exempt': ['POA indicator on an exempt code', 'warning'],
};

export function runCodeEdits(t: Terminology, enc: EncounterCodeSet): CheckResult[] {
  const date = enc.dateOfService;
  const dx = enc.diagnoses.map((d, i) => ({ ...d, i, code: normalizeCode(d.code), l: t.lookup(ICD10CM, d.code, date) }));
  const px = (enc.procedures ?? []).map((p) => {
    const system = canonicalSystem(p.system ?? ICD10PCS);
    return { code: normalizeCode(p.code), system, l: t.lookup(system, p.code, date) };
  });
  const results: CheckResult[] = [];
  const f = (c: string): string => formatCode(ICD10CM, c);
  const add = (id: string, denominator: number, findings: Finding[], applicable = true): void => {
    const [title, severity] = EDIT_TITLES[id]!;
    results.push({ id, title, severity, status: !applicable ? 'not-applicable' : findings.length ? 'failed' : 'passed', numerator: findings.length, denominator, findings });
  };
  const valid = dx.filter((d) => d.l.found && d.l.billable);
  const all = [...dx.map((d) => ({ code: d.code, system: ICD10CM, l: d.l })), ...px];

  add('invalid-code', all.length, all.filter((c) => !c.l.found && !c.l.needsSeventhCharacter).map((c) => ({
    codes: [c.l.code], rule: `${c.l.systemName} ${c.l.release?.version ?? ''}`.trim(),
    message: `${c.l.code} is not a ${c.l.systemName} code on ${date}${c.l.release ? ` (release ${c.l.release.version}${c.l.releaseOutOfDate ? ', the date is outside every loaded release' : ''})` : ''}`,
  })));
  add('non-billable', all.length, all.filter((c) => c.l.found && !c.l.billable && !c.l.needsSeventhCharacter).map((c) => ({
    codes: [c.l.code], rule: 'ICD-10-CM Official Guidelines I.B.2 (code to the highest specificity)',
    message: `${c.l.code} ${c.l.display} is a header; use one of ${(c.l.children ?? []).slice(0, 5).map((x) => x.code).join(', ')}${(c.l.children?.length ?? 0) > 5 ? ', ...' : ''}`,
  })));
  add('seventh-character', dx.length, dx.filter((d) => d.l.needsSeventhCharacter).map((d) => ({
    codes: [d.l.code], rule: 'ICD-10-CM Official Guidelines I.B.3 (7th characters and placeholder X)',
    message: `${d.l.code} needs a 7th character: ${(d.l.completions ?? []).map((x) => x.code).join(', ')}`,
  })));

  // MCE
  const ageF: Finding[] = [];
  const sexF: Finding[] = [];
  const mceCodes = [...valid.map((d) => ({ code: d.code, type: 'D' as const, shown: f(d.code) })), ...px.filter((p) => p.system === ICD10PCS && p.l.found).map((p) => ({ code: p.code, type: 'P' as const, shown: p.code }))];
  for (const c of mceCodes) {
    const flags = t.mceFlags(c.code, c.type, date);
    for (const fl of flags) {
      const range = MCE_AGE[fl];
      if (range && enc.age !== undefined && (enc.age < range[0] || enc.age > range[1])) {
        ageF.push({ codes: [c.shown], rule: `MCE ${fl}`, message: `${c.shown} is a ${range[2]} code; the patient is ${enc.age}` });
      }
      if ((fl === 'Female_Only' && enc.sex === 'male') || (fl === 'Male_Only' && enc.sex === 'female')) {
        sexF.push({ codes: [c.shown], rule: `MCE ${fl}`, message: `${c.shown} is for ${fl === 'Female_Only' ? 'females' : 'males'} only; the patient is ${enc.sex}` });
      }
    }
  }
  add('mce-age', mceCodes.length, ageF, enc.age !== undefined);
  add('mce-sex', mceCodes.length, sexF, enc.sex === 'male' || enc.sex === 'female');
  const principal = dx[0];
  const pFlags = principal && principal.l.found ? t.mceFlags(principal.code, 'D', date) : [];
  add('manifestation-principal', principal ? 1 : 0, pFlags.includes('Principal_Manifestation') ? [{ codes: [f(principal!.code)], rule: 'MCE Principal_Manifestation; ICD-10-CM Guidelines I.A.13', message: `${f(principal!.code)} is a manifestation code and cannot be the principal diagnosis: code the underlying condition first` }] : [], !!principal);
  add('unacceptable-principal', principal ? 1 : 0, pFlags.includes('Principal_Unacceptable') && enc.setting === 'inpatient' ? [{ codes: [f(principal!.code)], rule: 'MCE Principal_Unacceptable', message: `${f(principal!.code)} is not acceptable as a principal diagnosis` }] : [], !!principal && enc.setting === 'inpatient');

  // Tabular instructions
  const chains = new Map(valid.map((d) => [d.code, t.tabularChain(d.code, date)]));
  const ex1: Finding[] = [];
  const seenPairs = new Set<string>();
  for (const a of valid) {
    for (const e of chains.get(a.code) ?? []) {
      for (const note of e.excludes1 ?? []) {
        const refs = codeRefs(note);
        for (const b of valid) {
          if (b.code === a.code || b.code.startsWith(e.code)) continue;
          if (refs.some((r) => inRange(b.code, r))) {
            const key = [a.code, b.code].sort().join('|');
            if (seenPairs.has(key)) continue;
            seenPairs.add(key);
            ex1.push({ codes: [f(a.code), f(b.code)], rule: `Excludes1 at ${f(e.code)}: "${note}"`, message: `${f(a.code)} and ${f(b.code)} must not be coded together (Excludes1 at ${f(e.code)})` });
          }
        }
      }
    }
  }
  add('excludes1', valid.length, ex1);

  const cf: Finding[] = [];
  const ua: Finding[] = [];
  let uaDen = 0;
  for (const a of valid) {
    const chain = chains.get(a.code) ?? [];
    for (const e of chain) {
      for (const note of e.codeFirst ?? []) {
        const refs = codeRefs(note);
        const after = valid.find((b) => b.i > a.i && b.code !== a.code && refs.some((r) => inRange(b.code, r)));
        if (after) cf.push({ codes: [f(a.code), f(after.code)], rule: `Code first at ${f(e.code)}: "${note}"`, message: `${f(after.code)} must be sequenced before ${f(a.code)}` });
      }
    }
    // use additional code: instructions at the code or a subcategory (category-wide notes are often "if applicable")
    for (const e of chain.filter((x) => x.code.length > 3)) {
      const notes = e.useAdditionalCode ?? [];
      // one instruction per entry, met by any code it names; "if known" / "if applicable" ones are optional
      if (!notes.length || /if (known|applicable)/i.test(notes[0]!)) continue;
      const refs = notes.flatMap(codeRefs);
      if (!refs.length) continue;
      uaDen++;
      const others = [...dx.filter((b) => b.code !== a.code).map((b) => b.code), ...px.map((p) => p.code)];
      if (!others.some((b) => refs.some((r) => inRange(b, r)))) ua.push({ codes: [f(a.code)], rule: `Use additional code at ${f(e.code)}: "${notes.join(' ')}"`, message: `${f(a.code)}: use additional code ${notes.join(' ').replace(/^code\s+/i, '')}` });
    }
  }
  add('code-first', valid.length, cf);
  add('use-additional-code', uaDen, ua);

  const inpatient = enc.setting === 'inpatient';
  const poaMissing: Finding[] = [];
  const poaExempt: Finding[] = [];
  for (const d of valid) {
    const exempt = t.isPoaExempt(d.code, date) === true;
    const v = (d.poa ?? '').trim().toUpperCase();
    if (exempt) {
      if (v && v !== '1') poaExempt.push({ codes: [f(d.code)], rule: 'CDC POA-exempt list; UB-04 POA guidelines', message: `${f(d.code)} is exempt from POA reporting: leave the indicator blank (or 1), not "${v}"` });
    } else if (!POA_VALUES.has(v)) {
      poaMissing.push({ codes: [f(d.code)], rule: 'ICD-10-CM Guidelines Appendix I (POA: Y, N, U, W)', message: v ? `${f(d.code)} has invalid POA indicator "${v}"; use Y, N, U or W` : `${f(d.code)} needs a POA indicator (Y, N, U or W)` });
    }
  }
  add('poa-missing', inpatient ? valid.length : 0, poaMissing, inpatient);
  add('poa-exempt', inpatient ? valid.length : 0, poaExempt, inpatient);
  return results;
}

/** Only the failed edits. */
export function failedEdits(results: CheckResult[]): CheckResult[] {
  return results.filter((r) => r.status === 'failed');
}

export { HCPCS };
