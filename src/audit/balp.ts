/**
 * AuditEvent builders shaped by IHE Basic Audit Log Patterns (BALP): who (agent), what patient and
 * data (entity), what action, when (recorded), from where (network address), why (purposeOfUse).
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const EVENT_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const PURPOSE = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const CUSTODIAN_AUDIT = 'http://custodian.dev/fhir/CodeSystem/audit-event';

export type AuditKind =
  | { type: 'rest'; interaction: 'read' | 'vread' | 'history' | 'search' | 'create' | 'update' | 'delete' | 'transaction' | 'operation' }
  | { type: 'login' }
  | { type: 'logout' }
  | { type: 'break-the-glass' }
  | { type: 'export' }
  | { type: 'merge' }
  | { type: 'disclosure' }
  | { type: 'user-admin' }
  | { type: 'access-denied' };

export interface AuditInput {
  kind: AuditKind;
  success: boolean;
  recorded?: Date;
  user?: { username: string; id?: string; roles?: string[] };
  clientAddress?: string;
  patientIds?: string[];
  /** References of the data touched (`Observation/1`); search results list every id returned. */
  references?: string[];
  query?: string;
  purposeOfUse?: string; // v3-ActReason code, e.g. TREAT, ETREAT (break-the-glass), HOPERAT
  reason?: string;
  description?: string;
}

const ACTIONS: Record<string, AuditEvent['action']> = {
  read: 'R', vread: 'R', history: 'R', search: 'E', create: 'C', update: 'U', delete: 'D', transaction: 'E', operation: 'E',
};

function typeAndSubtype(kind: AuditKind): { type: Coding; subtype: Coding[]; action: AuditEvent['action'] } {
  switch (kind.type) {
    case 'rest':
      return { type: { system: EVENT_TYPE, code: 'rest', display: 'RESTful Operation' }, subtype: [{ system: RESTFUL, code: kind.interaction }], action: ACTIONS[kind.interaction] };
    case 'login':
      return { type: { system: DCM, code: '110114', display: 'User Authentication' }, subtype: [{ system: DCM, code: '110122', display: 'Login' }], action: 'E' };
    case 'logout':
      return { type: { system: DCM, code: '110114', display: 'User Authentication' }, subtype: [{ system: DCM, code: '110123', display: 'Logout' }], action: 'E' };
    case 'export':
      return { type: { system: DCM, code: '110106', display: 'Export' }, subtype: [{ system: CUSTODIAN_AUDIT, code: 'export' }], action: 'R' };
    case 'access-denied':
      return { type: { system: DCM, code: '110113', display: 'Security Alert' }, subtype: [{ system: CUSTODIAN_AUDIT, code: 'access-denied' }], action: 'E' };
    default:
      return { type: { system: DCM, code: '110113', display: 'Security Alert' }, subtype: [{ system: CUSTODIAN_AUDIT, code: kind.type }], action: kind.type === 'merge' ? 'U' : 'E' };
  }
}

export function buildAuditEvent(input: AuditInput): AuditEvent {
  const { type, subtype, action } = typeAndSubtype(input.kind);
  const agent: AuditEventAgent[] = [];
  const user: AuditEventAgent = {
    type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
    who: input.user ? { identifier: { system: 'http://custodian.dev/users', value: input.user.username }, display: input.user.username } : { display: 'anonymous' },
    requestor: true,
  };
  if (input.user?.roles?.length) user.role = input.user.roles.map((r) => ({ coding: [{ system: 'http://custodian.dev/fhir/CodeSystem/role', code: r }] }));
  if (input.clientAddress) user.network = { address: input.clientAddress, type: '2' };
  if (input.purposeOfUse) user.purposeOfUse = [{ coding: [{ system: PURPOSE, code: input.purposeOfUse }] }];
  agent.push(user);
  agent.push({ type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] }, who: { display: 'Custodian' }, requestor: false });

  const entity: AuditEventEntity[] = [];
  for (const p of [...new Set(input.patientIds ?? [])]) {
    entity.push({ what: { reference: `Patient/${p}` }, type: { system: ENTITY_TYPE, code: '1', display: 'Person' }, role: { system: OBJECT_ROLE, code: '1', display: 'Patient' } });
  }
  for (const r of input.references ?? []) {
    if (r.startsWith('Patient/') && (input.patientIds ?? []).includes(r.slice(8))) continue;
    entity.push({ what: { reference: r }, type: { system: ENTITY_TYPE, code: '2', display: 'System Object' }, role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' } });
  }
  if (input.query !== undefined) {
    entity.push({ type: { system: ENTITY_TYPE, code: '2', display: 'System Object' }, role: { system: OBJECT_ROLE, code: '24', display: 'Query' }, query: Buffer.from(input.query).toString('base64') });
  }
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    type,
    subtype,
    action,
    recorded: (input.recorded ?? new Date()).toISOString(),
    outcome: input.success ? '0' : '4',
    agent,
    source: { observer: { display: 'Custodian' }, type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }] },
    entity: entity.length ? entity : undefined,
  };
  if (input.reason || input.description) event.outcomeDesc = [input.description, input.reason ? `reason: ${input.reason}` : undefined].filter(Boolean).join('; ');
  return event;
}
