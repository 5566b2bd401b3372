/**
 * The shipped data-quality check instances: data, not code (the types are in src/checks). Each row
 * names its check type, parameters, severity, threshold (percent of the denominator allowed to
 * offend) and Kahn category, as OHDSI DQD's inst/csv tables do.
 */
import type { CheckInstance, CheckSeverity, KahnCategory, KahnSubcategory } from '../checks/types.js';

type Row = [id: string, title: string, type: string, resourceType: string, severity: CheckSeverity, category: KahnCategory, subcategory: KahnSubcategory, params: Record<string, unknown>, extra?: Partial<CheckInstance>];

const SNOMED = 'http://snomed.info/sct';
const LOINC = 'http://loinc.org';
const code = (...codes: string[]): { path: string; in: string[] } => ({ path: 'code.coding.code', in: codes });

/** The search parameter whose index rows (sp_reference) hold exactly the references at each path. */
const REF_PARAM: Record<string, string> = {
  'subject.reference': 'subject', 'participant.individual.reference': 'participant', 'serviceProvider.reference': 'service-provider',
  'encounter.reference': 'encounter', 'context.encounter.reference': 'encounter', 'author.reference': 'author', 'patient.reference': 'patient',
  'result.reference': 'result', 'claim.reference': 'claim', 'focus.reference': 'focus',
};

const rows: Row[] = [
  // ---- completeness: required and expected elements ----
  ['patient-identifier', 'Patient has an identifier', 'required', 'Patient', 'error', 'completeness', '', { path: 'identifier.value' }],
  ['patient-mrn', 'Patient has a medical record number (identifier type MR)', 'required', 'Patient', 'error', 'completeness', '', { path: 'identifier[type.coding.code=MR].value' }, { dependsOn: ['patient-identifier'] }],
  ['patient-birthdate', 'Patient has a birth date', 'required', 'Patient', 'error', 'completeness', '', { path: 'birthDate' }],
  ['patient-gender', 'Patient has an administrative sex', 'required', 'Patient', 'error', 'completeness', '', { path: 'gender' }],
  ['patient-name', 'Patient has a family name', 'required', 'Patient', 'error', 'completeness', '', { path: 'name.family' }],
  ['patient-address', 'Patient has an address', 'required', 'Patient', 'warning', 'completeness', '', { path: 'address' }],
  ['encounter-subject', 'Encounter names its patient', 'required', 'Encounter', 'error', 'completeness', '', { path: 'subject.reference' }],
  ['encounter-class', 'Encounter has a class', 'required', 'Encounter', 'error', 'completeness', '', { path: 'class.code' }],
  ['encounter-type', 'Encounter has a type', 'required', 'Encounter', 'warning', 'completeness', '', { path: 'type.coding.code' }],
  ['encounter-period-start', 'Encounter has a start', 'required', 'Encounter', 'error', 'completeness', '', { path: 'period.start' }],
  ['encounter-period-end', 'Finished encounter has an end', 'required', 'Encounter', 'error', 'completeness', '', { path: 'period.end', when: { path: 'status', in: ['finished'] } }],
  ['encounter-participant', 'Encounter has a participating practitioner', 'required', 'Encounter', 'warning', 'completeness', '', { path: 'participant.individual.reference' }],
  ['condition-code', 'Condition is coded', 'required', 'Condition', 'error', 'completeness', '', { path: 'code.coding.code' }],
  ['condition-subject', 'Condition names its patient', 'required', 'Condition', 'error', 'completeness', '', { path: 'subject.reference' }],
  ['condition-onset', 'Condition has an onset', 'required', 'Condition', 'warning', 'completeness', '', { paths: ['onsetDateTime', 'onsetPeriod.start', 'onsetAge.value', 'onsetString'] }, { threshold: 5 }],
  ['observation-code', 'Observation is coded', 'required', 'Observation', 'error', 'completeness', '', { path: 'code.coding.code' }],
  ['observation-subject', 'Observation names its patient', 'required', 'Observation', 'error', 'completeness', '', { path: 'subject.reference' }],
  ['observation-effective', 'Observation has an effective time', 'required', 'Observation', 'warning', 'completeness', '', { paths: ['effectiveDateTime', 'effectivePeriod.start', 'effectiveInstant'] }],
  ['procedure-code', 'Procedure is coded', 'required', 'Procedure', 'error', 'completeness', '', { path: 'code.coding.code' }],
  ['procedure-subject', 'Procedure names its patient', 'required', 'Procedure', 'error', 'completeness', '', { path: 'subject.reference' }],
  ['procedure-performed', 'Completed procedure has a performed time', 'required', 'Procedure', 'warning', 'completeness', '', { paths: ['performedDateTime', 'performedPeriod.start'], when: { path: 'status', in: ['completed'] } }],
  ['document-type', 'Document has a type', 'required', 'DocumentReference', 'error', 'completeness', '', { path: 'type.coding.code' }],
  ['document-subject', 'Document names its patient', 'required', 'DocumentReference', 'error', 'completeness', '', { path: 'subject.reference' }],
  ['document-docstatus', 'Document has a document status', 'required', 'DocumentReference', 'warning', 'completeness', '', { path: 'docStatus' }],
  ['document-author', 'Document has an author', 'required', 'DocumentReference', 'error', 'completeness', '', { path: 'author.reference' }],
  ['document-authenticator', 'Final document has an authenticator (signature)', 'required', 'DocumentReference', 'error', 'completeness', '', { path: 'authenticator.reference', when: { path: 'docStatus', in: ['final', 'amended'] } }],
  ['document-encounter', 'Document is linked to an encounter', 'required', 'DocumentReference', 'warning', 'completeness', '', { path: 'context.encounter.reference' }],
  ['medreq-medication', 'Medication request names the medication', 'required', 'MedicationRequest', 'error', 'completeness', '', { paths: ['medicationCodeableConcept.coding.code', 'medicationReference.reference'] }],
  ['medreq-requester', 'Medication request has a requester', 'required', 'MedicationRequest', 'warning', 'completeness', '', { path: 'requester.reference' }],
  ['claim-patient', 'Claim names its patient', 'required', 'Claim', 'error', 'completeness', '', { path: 'patient.reference' }],
  ['claim-provider', 'Claim names its provider', 'required', 'Claim', 'warning', 'completeness', '', { path: 'provider.reference' }],
  ['immunization-vaccine', 'Immunization is coded', 'required', 'Immunization', 'error', 'completeness', '', { path: 'vaccineCode.coding.code' }],

  // ---- conformance: values and formats ----
  ['patient-gender-values', 'Patient sex is a FHIR administrative-gender code', 'allowed-values', 'Patient', 'error', 'conformance', 'value', { path: 'gender', values: ['male', 'female', 'other', 'unknown'] }, { dependsOn: ['patient-gender'] }],
  ['patient-birthdate-format', 'Patient birth date is a valid FHIR date', 'pattern', 'Patient', 'error', 'conformance', 'value', { path: 'birthDate', regex: '^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$' }, { dependsOn: ['patient-birthdate'] }],
  ['patient-ssn-format', 'Social security number is formatted NNN-NN-NNNN', 'pattern', 'Patient', 'warning', 'conformance', 'value', { path: 'identifier[system=http://hl7.org/fhir/sid/us-ssn].value', regex: '^[0-9]{3}-?[0-9]{2}-?[0-9]{4}$' }],
  ['practitioner-npi-format', 'Practitioner NPI has 10 digits', 'pattern', 'Practitioner', 'error', 'conformance', 'value', { path: 'identifier[system=http://hl7.org/fhir/sid/us-npi].value', regex: '^[0-9]{10}$' }],
  ['encounter-class-values', 'Encounter class is a v3 ActCode encounter code', 'allowed-values', 'Encounter', 'error', 'conformance', 'value', { path: 'class.code', values: ['AMB', 'EMER', 'FLD', 'HH', 'IMP', 'ACUTE', 'NONAC', 'OBSENC', 'PRENC', 'SS', 'VR'] }, { dependsOn: ['encounter-class'] }],
  ['encounter-status-values', 'Encounter status is a FHIR code', 'allowed-values', 'Encounter', 'error', 'conformance', 'value', { path: 'status', values: ['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled', 'entered-in-error', 'unknown'] }],
  ['observation-status-values', 'Observation status is a FHIR code', 'allowed-values', 'Observation', 'error', 'conformance', 'value', { path: 'status', values: ['registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled', 'entered-in-error', 'unknown'] }],
  ['condition-clinical-status-values', 'Condition clinical status is a FHIR code', 'allowed-values', 'Condition', 'error', 'conformance', 'value', { path: 'clinicalStatus.coding.code', values: ['active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved'] }],
  ['document-docstatus-values', 'Document status is a FHIR composition-status code', 'allowed-values', 'DocumentReference', 'error', 'conformance', 'value', { path: 'docStatus', values: ['preliminary', 'final', 'amended', 'entered-in-error'] }],
  ['condition-code-system', 'Condition code is from SNOMED CT or ICD-10', 'allowed-values', 'Condition', 'warning', 'conformance', 'value', { path: 'code.coding.system', values: [SNOMED, 'http://hl7.org/fhir/sid/icd-10-cm', 'http://hl7.org/fhir/sid/icd-10'] }],
  ['observation-loinc-format', 'LOINC codes are well formed (digits, dash, check digit)', 'pattern', 'Observation', 'error', 'conformance', 'value', { path: `code.coding[system=${LOINC}].code`, regex: '^[0-9]{1,7}-[0-9]$' }],
  ['condition-snomed-format', 'SNOMED CT condition codes are numeric identifiers', 'pattern', 'Condition', 'error', 'conformance', 'value', { path: `code.coding[system=${SNOMED}].code`, regex: '^[0-9]{6,18}$' }],
  ['condition-icd10cm-format', 'ICD-10-CM condition codes are well formed', 'pattern', 'Condition', 'error', 'conformance', 'value', { path: 'code.coding[system=http://hl7.org/fhir/sid/icd-10-cm].code', regex: '^[A-TV-Z][0-9][0-9AB](\\.?[0-9A-TV-Z]{1,4})?$' }],
  ['observation-ucum', 'Quantities use UCUM units', 'allowed-values', 'Observation', 'warning', 'conformance', 'value', { path: 'valueQuantity.system', values: ['http://unitsofmeasure.org'] }],
  ['unit-body-height', 'Body height is in cm or inches', 'allowed-values', 'Observation', 'error', 'conformance', 'value', { path: 'valueQuantity.code', values: ['cm', '[in_i]', 'm'], when: code('8302-2') }],
  ['unit-body-weight', 'Body weight is in kg, g or pounds', 'allowed-values', 'Observation', 'error', 'conformance', 'value', { path: 'valueQuantity.code', values: ['kg', 'g', '[lb_av]'], when: code('29463-7') }],
  ['unit-glucose', 'Glucose is in mg/dL or mmol/L', 'allowed-values', 'Observation', 'error', 'conformance', 'value', { path: 'valueQuantity.code', values: ['mg/dL', 'mmol/L'], when: code('2339-0', '2345-7') }],
  ['unit-hba1c', 'HbA1c is in %', 'allowed-values', 'Observation', 'error', 'conformance', 'value', { path: 'valueQuantity.code', values: ['%'], when: code('4548-4') }],

  // ---- conformance: relational (references to missing resources) ----
  ...(
    [
      ['Encounter', 'subject.reference'], ['Encounter', 'participant.individual.reference'], ['Encounter', 'serviceProvider.reference'],
      ['Condition', 'subject.reference'], ['Condition', 'encounter.reference'],
      ['Observation', 'subject.reference'], ['Observation', 'encounter.reference'],
      ['Procedure', 'subject.reference'], ['Procedure', 'encounter.reference'],
      ['DocumentReference', 'subject.reference'], ['DocumentReference', 'context.encounter.reference'], ['DocumentReference', 'author.reference'],
      ['MedicationRequest', 'subject.reference'], ['Immunization', 'patient.reference'], ['DiagnosticReport', 'result.reference'],
      ['Claim', 'patient.reference'], ['ExplanationOfBenefit', 'claim.reference'], ['Task', 'focus.reference'],
    ] as const
  ).map(([t, p]): Row => [`ref-${t.toLowerCase()}-${p.replace(/\.reference$/, '').replace(/\./g, '-').toLowerCase()}`, `${t}.${p.replace(/\.reference$/, '')} points to an existing resource`, 'reference-exists', t, 'error', 'conformance', 'relational', { path: p, param: REF_PARAM[p] }]),

  // ---- plausibility: temporal ----
  ['patient-birth-before-death', 'Patient is born before death', 'date-order', 'Patient', 'error', 'plausibility', 'temporal', { startPath: 'birthDate', endPath: 'deceasedDateTime' }, { dependsOn: ['patient-birthdate'] }],
  ['patient-birthdate-future', 'Patient birth date is not in the future', 'not-future', 'Patient', 'error', 'plausibility', 'temporal', { path: 'birthDate' }, { onWrite: true }],
  ['patient-deceased-future', 'Patient death date is not in the future', 'not-future', 'Patient', 'error', 'plausibility', 'temporal', { path: 'deceasedDateTime' }, { onWrite: true }],
  ['encounter-end-after-start', 'Encounter does not end before it starts', 'date-order', 'Encounter', 'error', 'plausibility', 'temporal', { startPath: 'period.start', endPath: 'period.end' }, { onWrite: true }],
  ['encounter-finished-future', 'Finished encounter does not start in the future', 'not-future', 'Encounter', 'error', 'plausibility', 'temporal', { path: 'period.start', when: { path: 'status', in: ['finished'] } }, { onWrite: true }],
  ['condition-onset-future', 'Condition onset is not in the future', 'not-future', 'Condition', 'error', 'plausibility', 'temporal', { path: 'onsetDateTime' }, { onWrite: true }],
  ['condition-abatement-after-onset', 'Condition does not abate before onset', 'date-order', 'Condition', 'error', 'plausibility', 'temporal', { startPath: 'onsetDateTime', endPath: 'abatementDateTime' }, { onWrite: true }],
  ['observation-effective-future', 'Observation is not dated in the future', 'not-future', 'Observation', 'error', 'plausibility', 'temporal', { path: 'effectiveDateTime' }, { onWrite: true }],
  ['procedure-end-after-start', 'Procedure does not end before it starts', 'date-order', 'Procedure', 'error', 'plausibility', 'temporal', { startPath: 'performedPeriod.start', endPath: 'performedPeriod.end' }, { onWrite: true }],
  ['procedure-performed-future', 'Completed procedure is not in the future', 'not-future', 'Procedure', 'error', 'plausibility', 'temporal', { path: 'performedPeriod.start', when: { path: 'status', in: ['completed'] } }, { onWrite: true }],
  ['document-date-future', 'Document is not dated in the future', 'not-future', 'DocumentReference', 'error', 'plausibility', 'temporal', { path: 'date' }, { onWrite: true }],
  ['encounter-within-life', 'Encounter happens between birth and death', 'within-life', 'Encounter', 'error', 'plausibility', 'temporal', { datePath: 'period.start' }],
  ['condition-within-life', 'Condition onset is between birth and death', 'within-life', 'Condition', 'error', 'plausibility', 'temporal', { datePath: 'onsetDateTime' }],
  ['observation-within-life', 'Observation is between birth and death', 'within-life', 'Observation', 'error', 'plausibility', 'temporal', { datePath: 'effectiveDateTime' }],
  ['procedure-within-life', 'Procedure is between birth and death', 'within-life', 'Procedure', 'error', 'plausibility', 'temporal', { datePath: 'performedPeriod.start' }],
  ['immunization-within-life', 'Immunization is between birth and death', 'within-life', 'Immunization', 'error', 'plausibility', 'temporal', { datePath: 'occurrenceDateTime', subjectPath: 'patient.reference' }],
  ['medreq-within-life', 'Medication is ordered between birth and death', 'within-life', 'MedicationRequest', 'error', 'plausibility', 'temporal', { datePath: 'authoredOn' }],
  ['procedure-within-encounter', 'Procedure is performed during its encounter (24 h slack)', 'within-encounter', 'Procedure', 'warning', 'plausibility', 'temporal', { startPath: 'performedPeriod.start', slackHours: 24 }],
  ['observation-within-encounter', 'Observation is taken during its encounter (24 h slack)', 'within-encounter', 'Observation', 'warning', 'plausibility', 'temporal', { startPath: 'effectiveDateTime', slackHours: 24 }],
  ['condition-within-encounter', 'Condition is recorded during its encounter (24 h slack)', 'within-encounter', 'Condition', 'warning', 'plausibility', 'temporal', { startPath: 'recordedDate', slackHours: 24 }],

  // ---- plausibility: atemporal (values by LOINC, sex- and age-specific codes) ----
  ...(
    [
      ['8302-2', 'Body height (cm)', 20, 260, 'cm'], ['29463-7', 'Body weight (kg)', 0.2, 500, 'kg'], ['39156-5', 'Body mass index', 5, 150, undefined],
      ['8867-4', 'Heart rate', 10, 350, undefined], ['9279-1', 'Respiratory rate', 2, 100, undefined], ['8310-5', 'Body temperature (Cel)', 25, 46, 'Cel'],
      ['8331-1', 'Oral temperature (Cel)', 25, 46, 'Cel'], ['2339-0', 'Glucose (mg/dL)', 5, 2000, 'mg/dL'], ['4548-4', 'HbA1c (%)', 2, 25, undefined],
      ['2947-0', 'Sodium (mmol/L)', 90, 200, undefined], ['6298-4', 'Potassium (mmol/L)', 1, 12, undefined], ['718-7', 'Hemoglobin (g/dL)', 1, 25, undefined],
      ['38483-4', 'Creatinine (mg/dL)', 0.05, 30, undefined], ['72514-3', 'Pain severity (0-10)', 0, 10, undefined],
    ] as const
  ).map(([loinc, name, min, max, unit]): Row => [
    `range-${loinc}`, `${name} is within ${min}-${max}`, 'plausible-range', 'Observation', 'error', 'plausibility', 'atemporal',
    { min, max, when: code(loinc), ...(unit ? { unit } : {}) },
  ]),
  ['range-8480-6', 'Systolic blood pressure is within 20-300 mm[Hg]', 'plausible-range', 'Observation', 'error', 'plausibility', 'atemporal', { path: 'component[code.coding.code=8480-6].valueQuantity.value', min: 20, max: 300, when: { path: 'component.code.coding.code', in: ['8480-6'] } }],
  ['range-8462-4', 'Diastolic blood pressure is within 10-250 mm[Hg]', 'plausible-range', 'Observation', 'error', 'plausibility', 'atemporal', { path: 'component[code.coding.code=8462-4].valueQuantity.value', min: 10, max: 250, when: { path: 'component.code.coding.code', in: ['8462-4'] } }],
  ['sex-prostate-condition', 'Prostate conditions are recorded for male patients', 'patient-sex', 'Condition', 'error', 'plausibility', 'atemporal', { codes: ['126906006', '92691004', '399068003', '254900004'], sex: 'male' }],
  ['sex-pregnancy-condition', 'Pregnancy conditions are recorded for female patients', 'patient-sex', 'Condition', 'error', 'plausibility', 'atemporal', { codes: ['72892002', '19169002', '35999006', '47200007', '79586000'], sex: 'female' }],
  ['sex-obstetric-procedure', 'Obstetric and gynaecological procedures are recorded for female patients', 'patient-sex', 'Procedure', 'error', 'plausibility', 'atemporal', { codes: ['66348005', '31208007', '714812005', '65200003', '46706006', '68254000', '274804006', '225158009', '169230002', '90226004'], sex: 'female' }],
  ['age-childbirth', 'Childbirth mother is aged 10-60', 'patient-age', 'Procedure', 'warning', 'plausibility', 'atemporal', { codes: ['66348005', '31208007'], datePath: 'performedPeriod.start', minAge: 10, maxAge: 60 }],
  ['age-pregnancy', 'Pregnancy is recorded at age 10-60', 'patient-age', 'Condition', 'warning', 'plausibility', 'atemporal', { codes: ['72892002', '19169002', '35999006'], datePath: 'onsetDateTime', minAge: 10, maxAge: 60 }],
  ['age-alzheimers', "Alzheimer's disease is recorded at age 30 or over", 'patient-age', 'Condition', 'warning', 'plausibility', 'atemporal', { codes: ['26929004'], datePath: 'onsetDateTime', minAge: 30 }],
  ['age-prostate-cancer', 'Prostate neoplasm is recorded at age 18 or over', 'patient-age', 'Condition', 'warning', 'plausibility', 'atemporal', { codes: ['126906006', '92691004'], datePath: 'onsetDateTime', minAge: 18 }],

  // ---- uniqueness ----
  ['patient-duplicate-mrn', 'No two patients share a medical record number', 'duplicate', 'Patient', 'error', 'plausibility', 'uniqueness', { keyPaths: ['identifier[type.coding.code=MR].system', 'identifier[type.coding.code=MR].value'] }],
  ['patient-duplicate-demographics', 'No two patients share name, birth date and sex (possible duplicate)', 'duplicate', 'Patient', 'warning', 'plausibility', 'uniqueness', { keyPaths: ['name.family', 'name.given', 'birthDate', 'gender'] }],
  ['encounter-duplicate', 'No encounter is recorded twice (patient, class, type and start)', 'duplicate', 'Encounter', 'warning', 'plausibility', 'uniqueness', { keyPaths: ['subject.reference', 'class.code', 'type.coding.code', 'period.start'] }],

  // ---- cross-record consistency ----
  ['claim-diagnosis-condition', 'Claim diagnoses match a condition recorded on the encounter', 'claim-diagnosis-condition', 'Claim', 'error', 'conformance', 'relational', {}],
  ['procedure-note', 'A coded procedure has a procedure note on its encounter', 'has-related', 'Procedure', 'warning', 'completeness', '', { via: 'encounter.reference', relatedType: 'DocumentReference', relatedParam: 'encounter', relatedPath: 'context.encounter.reference', when: { path: 'status', in: ['completed'] } }],
  ['inpatient-diagnosis', 'An inpatient encounter has a diagnosis (a Condition on the encounter)', 'has-related', 'Encounter', 'warning', 'completeness', '', { via: 'self', relatedType: 'Condition', relatedParam: 'encounter', relatedPath: 'encounter.reference', when: { path: 'class.code', in: ['IMP', 'ACUTE', 'NONAC'] } }],
];

export const QUALITY_CHECKS: CheckInstance[] = rows.map(([id, title, type, resourceType, severity, category, subcategory, params, extra]) => ({
  id, title, type, resourceType, severity, category, subcategory, params, threshold: 0, ...extra,
}));

/** The instances to run on every write of one resource (e.g. a future birth date). */
export const ON_WRITE_CHECKS: CheckInstance[] = QUALITY_CHECKS.filter((c) => c.onWrite);

export function selectChecks(ids?: string[]): CheckInstance[] {
  if (!ids || ids.length === 0) return QUALITY_CHECKS;
  const unknown = ids.filter((id) => !QUALITY_CHECKS.some((c) => c.id === id));
  if (unknown.length) throw new Error(`Unknown check id: ${unknown.join(', ')}`);
  return QUALITY_CHECKS.filter((c) => ids.includes(c.id));
}
