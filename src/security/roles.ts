/** Roles and the permissions they grant. Deny by default: a permission not listed here is not held. */

export const ROLES = [
  'him-technician',
  'coder',
  'cdi-specialist',
  'billing',
  'him-manager',
  'privacy-officer',
  'auditor',
  'provider',
  'integration',
  'admin',
] as const;
export type Role = (typeof ROLES)[number];

/** Resource-type groups for FHIR writes (reads need fhir.read; AuditEvent reads need audit.read). */
export const WRITE_GROUPS = ['clinical', 'administrative', 'workflow', 'financial', 'conformance'] as const;
export type WriteGroup = (typeof WRITE_GROUPS)[number];

/** Sensitivity labels (meta.security codes) and the permission that lifts each. */
export const SENSITIVE_PERMISSIONS = [
  'sensitive.R', // restricted (v3-Confidentiality)
  'sensitive.V', // very restricted
  'sensitive.ETH', // substance use, 42 CFR Part 2
  'sensitive.PSY', // mental health
  'sensitive.HIV',
  'sensitive.SEX', // sexual and reproductive health
] as const;

export const PERMISSIONS = [
  'fhir.read',
  ...WRITE_GROUPS.map((g) => `fhir.write.${g}` as const),
  'fhir.history', // system-wide history
  'fhir.export',
  'users.manage',
  'audit.read',
  'disclosures.read',
  'disclosures.write',
  'break-glass',
  'mpi.read',
  'mpi.write',
  'checks.read',
  'checks.run',
  'quality.read',
  'quality.run',
  'terminology.read',
  'terminology.write',
  'coding.read',
  'coding.write',
  'claims.read',
  'claims.write',
  'interfaces.read',
  'interfaces.write',
  'jobs.read',
  'self', // /api/me, logout
  ...SENSITIVE_PERMISSIONS,
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const COMMON: Permission[] = ['self', 'fhir.read', 'terminology.read', 'jobs.read'];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  'him-technician': [...COMMON, 'fhir.write.workflow', 'fhir.write.administrative', 'mpi.read', 'mpi.write', 'checks.read', 'checks.run', 'quality.read',
    'disclosures.read', 'disclosures.write', 'break-glass', 'coding.read', 'fhir.export'],
  coder: [...COMMON, 'fhir.write.workflow', 'coding.read', 'coding.write', 'checks.read', 'checks.run', 'quality.read', 'claims.read', 'break-glass'],
  'cdi-specialist': [...COMMON, 'fhir.write.workflow', 'coding.read', 'checks.read', 'quality.read', 'break-glass'],
  billing: [...COMMON, 'fhir.write.workflow', 'fhir.write.financial', 'claims.read', 'claims.write', 'checks.read', 'checks.run', 'coding.read'],
  'him-manager': [...COMMON, 'fhir.write.workflow', 'mpi.read', 'checks.read', 'checks.run', 'quality.read', 'quality.run', 'coding.read', 'claims.read',
    'disclosures.read', 'fhir.history', 'fhir.export'],
  // the privacy officer reviews access to sensitive records, so sees them (every access is audited)
  'privacy-officer': [...COMMON, 'fhir.write.workflow', 'audit.read', 'disclosures.read', 'disclosures.write', 'fhir.history', 'mpi.read', 'quality.read',
    ...SENSITIVE_PERMISSIONS],
  auditor: [...COMMON, 'audit.read', 'disclosures.read', 'checks.read', 'quality.read', 'coding.read', 'claims.read', 'fhir.history'],
  provider: [...COMMON, 'fhir.write.clinical', 'fhir.write.workflow', 'break-glass', 'coding.read'],
  integration: [...COMMON, 'fhir.write.clinical', 'fhir.write.administrative', 'fhir.write.workflow', 'fhir.write.financial', 'fhir.write.conformance',
    'terminology.write', 'interfaces.read', 'interfaces.write', 'fhir.export', 'fhir.history'],
  admin: [...COMMON, 'users.manage', 'audit.read', 'fhir.write.conformance', 'terminology.write', 'interfaces.read', 'interfaces.write', 'checks.read',
    'checks.run', 'quality.read', 'quality.run', 'mpi.read', 'coding.read', 'claims.read', 'fhir.history', 'fhir.export', 'disclosures.read'],
};

export function isRole(r: string): r is Role {
  return (ROLES as readonly string[]).includes(r);
}

export function permissionsOf(roles: readonly string[]): Set<Permission> {
  const s = new Set<Permission>();
  for (const r of roles) if (isRole(r)) for (const p of ROLE_PERMISSIONS[r]) s.add(p);
  return s;
}

const ADMINISTRATIVE = new Set(['Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'Location', 'HealthcareService', 'Endpoint', 'RelatedPerson',
  'Person', 'Group', 'Device']);
const WORKFLOW = new Set(['Task', 'Communication', 'CommunicationRequest', 'Provenance', 'Flag', 'List', 'Basic', 'DocumentManifest', 'Consent']);
const FINANCIAL = new Set(['Claim', 'ClaimResponse', 'ExplanationOfBenefit', 'Coverage', 'CoverageEligibilityRequest', 'CoverageEligibilityResponse',
  'Account', 'ChargeItem', 'ChargeItemDefinition', 'Invoice', 'PaymentNotice', 'PaymentReconciliation', 'EnrollmentRequest', 'EnrollmentResponse']);
const CONFORMANCE = new Set(['CodeSystem', 'ValueSet', 'ConceptMap', 'NamingSystem', 'StructureDefinition', 'SearchParameter', 'OperationDefinition',
  'CapabilityStatement', 'ImplementationGuide', 'Library', 'Measure', 'Questionnaire', 'PlanDefinition', 'ActivityDefinition', 'CompartmentDefinition',
  'StructureMap', 'TerminologyCapabilities', 'GraphDefinition', 'MessageDefinition']);
/** Resource types nobody writes through the FHIR API (the audit trail is appended by the server only). */
const SYSTEM_ONLY = new Set(['AuditEvent']);

export function writeGroup(resourceType: string): WriteGroup | undefined {
  if (SYSTEM_ONLY.has(resourceType)) return undefined;
  if (ADMINISTRATIVE.has(resourceType)) return 'administrative';
  if (WORKFLOW.has(resourceType)) return 'workflow';
  if (FINANCIAL.has(resourceType)) return 'financial';
  if (CONFORMANCE.has(resourceType)) return 'conformance';
  return 'clinical';
}

/** The permission a FHIR interaction on a resource type needs; undefined when nobody may do it. */
export function fhirPermission(action: 'read' | 'write', resourceType: string): Permission | undefined {
  if (resourceType === 'AuditEvent') return action === 'read' ? 'audit.read' : undefined;
  if (action === 'read') return 'fhir.read';
  const g = writeGroup(resourceType);
  return g ? `fhir.write.${g}` : undefined;
}
