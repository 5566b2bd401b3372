/** Canonical code-system URIs (terminology.hl7.org NamingSystems, THO 7.0.1) and their accepted aliases. */

export const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
export const ICD10PCS = 'http://www.cms.gov/Medicare/Coding/ICD10';
export const HCPCS = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
export const CARC = 'https://x12.org/codes/claim-adjustment-reason-codes';
export const RARC = 'https://x12.org/codes/remittance-advice-remark-codes';

export const SYSTEM_NAMES: Record<string, string> = {
  [ICD10CM]: 'ICD-10-CM',
  [ICD10PCS]: 'ICD-10-PCS',
  [HCPCS]: 'HCPCS Level II',
  [CARC]: 'CARC',
  [RARC]: 'RARC',
};

const ALIASES: Record<string, string> = {
  'icd-10-cm': ICD10CM,
  icd10cm: ICD10CM,
  cm: ICD10CM,
  'http://terminology.hl7.org/codesystem/icd10cm': ICD10CM,
  'urn:oid:2.16.840.1.113883.6.90': ICD10CM,
  'icd-10-pcs': ICD10PCS,
  icd10pcs: ICD10PCS,
  pcs: ICD10PCS,
  'http://terminology.hl7.org/codesystem/icd10pcs': ICD10PCS,
  'urn:oid:2.16.840.1.113883.6.4': ICD10PCS,
  hcpcs: HCPCS,
  'http://www.cms.gov/medicare/coding/hcpcsreleasecodesets': HCPCS,
  'urn:oid:2.16.840.1.113883.6.285': HCPCS,
  carc: CARC,
  rarc: RARC,
};

/** Resolves a URI, OID or short name (icd-10-cm, pcs, hcpcs, carc, rarc) to the canonical URI; unknown values come back unchanged. */
export function canonicalSystem(s: string): string {
  if (SYSTEM_NAMES[s]) return s;
  return ALIASES[s.toLowerCase()] ?? s;
}

/** Codes are kept without the ICD-10-CM dot and upper-cased. */
export function normalizeCode(code: string): string {
  return code.trim().toUpperCase().replace(/\./g, '');
}

/** The display form of a code: ICD-10-CM gets its dot after the third character. */
export function formatCode(system: string, code: string): string {
  if (system === ICD10CM && code.length > 3) return `${code.slice(0, 3)}.${code.slice(3)}`;
  return code;
}
