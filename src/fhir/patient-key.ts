/**
 * The patient a resource's token rows are filed under (sp_token.patient, migration 045).
 *
 * A search such as `Observation?subject:Patient.family=beer&code=http://loinc.org|8302-2` asks for
 * the rows of one code among a few patients' resources. Through the code alone it reads every
 * patient's (37,758 body heights in a million resources); through the patients alone every one of
 * their observations (6,888), each then probed for its code. Filed under the patient, the rows of
 * that code are found with one index descent per patient (84 here, 378 rows).
 *
 * A type has a key when its `patient` search parameter has at most one value per resource (every
 * clinical type whose patient is `subject`, `patient` or `beneficiary`, 0..1): then "the resource's
 * patient is P" and "the resource's `patient` rows point at Patient P" say the same, and the search
 * may read either. A type whose `patient` can hold several values (Provenance, AuditEvent: every
 * target that is a Patient) has no key and its rows no patient. Only the rows of the parameters a
 * search narrows by patient are filed (filedUnderPatient).
 */
import type { ReferenceRow } from './index-values.js';
import { searchParam } from './search-parameters.js';

/** Where a type's patient is read from: reference rows under `code` pointing at a Patient. */
export interface PatientKey {
  /** The index code of the reference rows (Observation: `subject`, where `patient` is stored). */
  code: string;
}

const cache = new Map<string, PatientKey | null>();

/** The type's patient key, or undefined when its patient can be more than one. */
export function patientKey(resourceType: string): PatientKey | undefined {
  let key = cache.get(resourceType);
  if (key === undefined) {
    key = findKey(resourceType);
    cache.set(resourceType, key);
  }
  return key ?? undefined;
}

function findKey(resourceType: string): PatientKey | null {
  const sp = searchParam(resourceType, 'patient');
  if (!sp || sp.type !== 'reference') return null;
  const at = sp.storedAs;
  if (at && (at.codes.length !== 1 || at.targetType !== 'Patient')) return null;
  const code = at ? (at.codes[0] as string) : sp.code;
  // the rows read are the stored parameter's, so it is the one that must have one value at most
  const stored = searchParam(resourceType, code);
  if (!stored || stored.type !== 'reference' || !stored.singleRow || stored.storedAs) return null;
  return { code };
}

/** The id of the Patient a resource's `patient` rows point at, or null (none, or not a key type). */
export function patientOf(resourceType: string, references: readonly ReferenceRow[]): string | null {
  const key = patientKey(resourceType);
  if (!key) return null;
  for (const r of references) if (r.code === key.code && r.targetType === 'Patient') return r.targetId;
  return null;
}

const filed = new Map<string, boolean>();

/**
 * Whether a type's token rows under this index code are filed under the patient. Not those of the
 * resource's meta (`_tag`, `_security`, `_profile`: the same few values on nearly every resource,
 * a million `_tag` rows in Synthea's records), nor a composite's (`code-value-concept$...`, searched
 * through the composite's own rows), nor an identifier's (`identifier`, `identifier:of-type`: each
 * value already picks out its records). The index then holds the rows a search narrows by patient:
 * codes, categories, types, statuses.
 */
export function filedUnderPatient(resourceType: string, code: string): boolean {
  const k = `${resourceType} ${code}`;
  let f = filed.get(k);
  if (f === undefined) {
    const sp = code.startsWith('_') || code.includes('$') || code.includes(':') ? undefined : searchParam(resourceType, code);
    f = !!sp && sp.type === 'token' && !sp.identifier && (sp.storedAs?.codes ?? [code]).every((c) => c === code || filedUnderPatient(resourceType, c));
    filed.set(k, f);
  }
  return f;
}

/**
 * Whether the rows a reference parameter reads, narrowed to Patient targets, are the type's
 * patient key rows: a filter on them (a chain `subject:Patient.family=...`, `patient.family=...`)
 * can then be answered through the patient on the token rows.
 */
export function readsPatientKey(resourceType: string, code: string): boolean {
  const key = patientKey(resourceType);
  if (!key) return false;
  const sp = searchParam(resourceType, code);
  if (!sp || sp.type !== 'reference') return false;
  const at = sp.storedAs;
  if (at) return at.codes.length === 1 && at.codes[0] === key.code && (at.targetType === undefined || at.targetType === 'Patient');
  return sp.code === key.code;
}
