/** The CapabilityStatement: what this server really supports, built from the same tables the server uses. */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { allResourceTypes } from './definitions.js';
import { compositeParamsFor, searchParamsFor } from './search-parameters.js';

export function capabilityStatement(baseUrl: string, version: string): CapabilityStatement {
  const resource = allResourceTypes().map((type) => ({
    type,
    profile: `http://hl7.org/fhir/StructureDefinition/${type}`,
    interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map((code) => ({ code })) as CapabilityStatementRestResource['interaction'],
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalUpdate: true,
    conditionalDelete: 'single',
    searchParam: [
      { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id' },
      { name: '_lastUpdated', type: 'date', definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated' },
      ...[...searchParamsFor(type).values()].map((sp) => ({ name: sp.code, type: sp.type, definition: sp.definition.url })),
      ...[...compositeParamsFor(type).values()].map((cp) => ({ name: cp.code, type: 'composite' as const, definition: cp.definition.url })),
    ] as CapabilityStatementRestResource['searchParam'],
    operation: [{ name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' }],
  })) as unknown as CapabilityStatementRestResource[];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'Custodian', version },
    implementation: { description: 'Custodian FHIR R4 record store', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        resource,
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'history-system' }],
      },
    ],
  } as CapabilityStatement;
}
