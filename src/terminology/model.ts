/** The terminology data model: releases of code systems and the CMS/CDC edit lists that go with them. */

export interface Concept {
  /** Normalised code: upper case, no dot. */
  code: string;
  display: string;
  short?: string;
  /** Billable (valid for reporting) or a header. */
  billable: boolean;
  /** ICD-10-CM: exempt from POA reporting (when the release carries the flag). */
  poaExempt?: boolean;
  /** HCPCS: procedure or modifier. ICD-10-PCS: procedure class. */
  kind?: string;
}

/** One Tabular List entry (category, subcategory or code) and its instructional notes. */
export interface TabularEntry {
  code: string;
  desc: string;
  parent?: string;
  includes?: string[];
  inclusionTerms?: string[];
  excludes1?: string[];
  excludes2?: string[];
  codeFirst?: string[];
  useAdditionalCode?: string[];
  codeAlso?: string[];
  /** 7th characters defined at this entry (inherited by its descendants). */
  sevenChr?: { char: string; desc: string }[];
}

export type MceEditType =
  | 'Newborn_Only' | 'Pediatric_Only' | 'Maternity_Only' | 'Adult_Only'
  | 'Female_Only' | 'Male_Only' | 'Principal_Manifestation' | 'Principal_Unacceptable'
  | 'Principal_Questionable_Admit' | 'Noncovered_Always' | 'Limited_Coverage' | string;

export interface MceEntry {
  type: MceEditType;
  /** D diagnosis, P procedure. */
  codeType: 'D' | 'P';
  code: string;
}

/** An index entry: the index path ("Fracture, hip") and the code it leads to. */
export interface IndexTerm { term: string; code: string }

export type ReleaseKind = 'codes' | 'tabular' | 'mce' | 'poa-exempt' | 'index';

export interface Release {
  system: string;
  kind: ReleaseKind;
  version: string;
  /** ISO date (inclusive). */
  effectiveFrom: string;
  /** ISO date (inclusive); undefined when open. */
  effectiveTo?: string;
  /** Where it came from (file name). */
  source: string;
  /** Entry and billable counts, when known without loading the content (lazy releases). */
  count?: number;
  billableCount?: number;
  concepts?: Concept[];
  tabular?: TabularEntry[];
  mce?: MceEntry[];
  poaExempt?: string[];
  index?: IndexTerm[];
}

export interface ReleaseSummary {
  system: string;
  kind: ReleaseKind;
  version: string;
  effectiveFrom: string;
  effectiveTo?: string;
  source: string;
  count: number;
  billable?: number;
}

export function summarize(r: Release): ReleaseSummary {
  const count = r.count ?? r.concepts?.length ?? r.tabular?.length ?? r.mce?.length ?? r.poaExempt?.length ?? r.index?.length ?? 0;
  const s: ReleaseSummary = { system: r.system, kind: r.kind, version: r.version, effectiveFrom: r.effectiveFrom, source: r.source, count };
  if (r.effectiveTo) s.effectiveTo = r.effectiveTo;
  if (r.billableCount !== undefined) s.billable = r.billableCount;
  else if (r.kind === 'codes' && r.concepts) s.billable = r.concepts.filter((c) => c.billable).length;
  return s;
}
