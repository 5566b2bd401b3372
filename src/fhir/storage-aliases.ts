/**
 * Search parameters whose index rows would repeat other parameters' rows, found from the
 * definitions' expressions: such a parameter is not indexed, and its searches read the others' rows.
 *
 * - A narrowed reference: Observation `patient` is `Observation.subject.where(resolve() is Patient)`,
 *   the `subject` rows that point at a Patient (most clinical types; likewise Encounter
 *   `practitioner`, Appointment `location`).
 * - A union: Observation `combo-code` is `Observation.code | Observation.component.code`, the rows
 *   of `code` and of `component-code` (likewise combo-value-quantity, combo-value-concept,
 *   combo-data-absent-reason).
 * - A union of composites: `combo-code-value-quantity` over `Observation | Observation.component`
 *   pairs the same components as `code-value-quantity` (base Observation) and
 *   `component-code-value-quantity` (base Observation.component), so its rows are theirs.
 *
 * One difference from evaluating the narrowed expression: FHIRPath's resolve() gives nothing for an
 * absolute URL, while the base parameter's row reads the type and id from it, so `patient=1` now
 * also finds `subject: http://other/fhir/Patient/1`, as `subject=Patient/1` always did (5 of the
 * 709 R4 examples hold such a reference).
 *
 * In Synthea's records these are about a quarter of all index rows (every Observation's code twice,
 * its subject twice, its value twice), written and indexed for nothing.
 */
/** Where an aliased parameter's rows are: under these codes, references to this type only. */
export interface StoredAs {
  codes: string[];
  targetType?: string;
}

/** What is read of a search parameter (search-parameters.ts SearchParam). */
interface Param { code: string; type: string; expression: string }
/** What is read of a composite parameter (search-parameters.ts CompositeParam). */
interface Composite { code: string; definition: { expression?: string; component?: { expression?: string }[] } }

/** The parts of a FHIRPath union (`a | b`) at the top level, normalised, that apply to `resourceType`. */
export function unionTerms(resourceType: string, expression: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  let quote = false;
  const push = (end: number): void => {
    const t = expression.slice(start, end).trim().replace(/\s+/g, ' ');
    if (t === resourceType || t.startsWith(`${resourceType}.`) || t.startsWith(`(${resourceType}.`)) out.push(t);
  };
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'") quote = !quote;
    if (quote) continue;
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      push(i);
      start = i + 1;
    }
  }
  push(expression.length);
  return out;
}

const NARROWED = /^(.+)\.where\(resolve\(\) is ([A-Z][A-Za-z]+)\)$/;

/** The aliased parameters of one resource type (the others are indexed as they are). */
export function storageAliases(resourceType: string, params: ReadonlyMap<string, Param>): Map<string, StoredAs> {
  const terms = new Map([...params.values()].map((p) => [p.code, unionTerms(resourceType, p.expression)]));
  const out = new Map<string, StoredAs>();
  for (const p of params.values()) {
    const mine = terms.get(p.code) as string[];
    if (mine.length === 0) continue;
    if (p.type === 'reference' && mine.length === 1) {
      const m = NARROWED.exec(mine[0] as string);
      if (!m) continue;
      const base = [...params.values()].find((q) => q !== p && q.type === 'reference' && sameTerms(terms.get(q.code) as string[], [m[1] as string]));
      if (base) out.set(p.code, { codes: [base.code], targetType: m[2] as string });
      continue;
    }
    // every term of the union is exactly one other parameter's (of the same type)
    const cover = exactCover(mine, [...params.values()].filter((q) => q !== p && q.type === p.type), (q) => terms.get(q.code) as string[]);
    if (cover) out.set(p.code, { codes: cover.map((q) => q.code).sort() });
  }
  // an alias of an alias would read rows nobody writes
  for (const [code, a] of out) if (a.codes.some((c) => out.has(c))) out.delete(code);
  return out;
}

/** The composites of one type whose rows are other composites' rows, with those composites. */
export function compositeUnions<C extends Composite>(resourceType: string, composites: ReadonlyMap<string, C>): Map<string, C[]> {
  const out = new Map<string, C[]>();
  const components = (c: C): string => (c.definition.component ?? []).map((x) => x.expression ?? '').join(' ; ');
  const bases = (c: C): string[] => unionTerms(resourceType, c.definition.expression ?? '');
  for (const c of composites.values()) {
    // every base of the union is exactly one other composite's, pairing the same components
    const cover = exactCover(bases(c), [...composites.values()].filter((q) => q !== c && components(q) === components(c)), bases);
    if (cover) out.set(c.code, cover);
  }
  return out;
}

/**
 * The candidates whose terms partition `mine` (two or more, each holding some of its terms and
 * nothing else, together all of them once), or undefined.
 */
function exactCover<T>(mine: string[], candidates: T[], termsOf: (t: T) => string[]): T[] | undefined {
  if (mine.length < 2) return undefined;
  const cover = candidates.filter((q) => {
    const theirs = termsOf(q);
    return theirs.length > 0 && theirs.length < mine.length && theirs.every((t) => mine.includes(t));
  });
  const covered = cover.flatMap(termsOf);
  return cover.length >= 2 && covered.length === mine.length && sameTerms(covered, mine) ? cover : undefined;
}

function sameTerms(a: string[], b: string[]): boolean {
  return a.length === b.length && new Set(a).size === a.length && a.every((t) => b.includes(t));
}
