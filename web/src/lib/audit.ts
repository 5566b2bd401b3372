/** AuditEvents (IHE BALP shapes) as rows of the audit viewer, and their CSV export. */
import { toCsv } from './csv.js';
import type { Coding, Reference, Resource } from './fhir-types.js';

export interface AuditEventLike extends Resource {
  type?: Coding;
  subtype?: Coding[];
  action?: string;
  recorded?: string;
  outcome?: string;
  outcomeDesc?: string;
  agent?: { who?: Reference; requestor?: boolean; network?: { address?: string }; role?: { coding?: Coding[] }[] }[];
  entity?: { what?: Reference; role?: Coding }[];
}

export interface AuditRow {
  id: string;
  recorded: string;
  user: string;
  roles: string;
  action: string;
  patients: string[];
  objects: string[];
  success: boolean;
  address: string;
  description: string;
}

const ACTIONS: Record<string, string> = { C: 'create', R: 'read', U: 'update', D: 'delete', E: 'execute' };

export function auditRow(e: AuditEventLike): AuditRow {
  const requestor = e.agent?.find((a) => a.requestor) ?? e.agent?.[0];
  const who = requestor?.who?.identifier?.value ?? requestor?.who?.display ?? 'unknown';
  const patients: string[] = [];
  const objects: string[] = [];
  for (const en of e.entity ?? []) {
    const ref = en.what?.reference;
    if (!ref) continue;
    if (en.role?.code === '1' && ref.startsWith('Patient/')) patients.push(ref.slice('Patient/'.length));
    else objects.push(ref);
  }
  const sub = e.subtype?.map((s) => s.display ?? s.code).filter(Boolean).join(', ');
  const kind = e.type?.display ?? e.type?.code ?? '';
  const action = [kind, sub || (e.action ? ACTIONS[e.action] ?? e.action : '')].filter(Boolean).join(': ');
  return {
    id: e.id ?? '',
    recorded: e.recorded ?? '',
    user: who,
    roles: (requestor?.role ?? []).map((r) => r.coding?.[0]?.code).filter(Boolean).join(' '),
    action,
    patients,
    objects,
    success: e.outcome === undefined || e.outcome === '0',
    address: requestor?.network?.address ?? '',
    description: e.outcomeDesc ?? '',
  };
}

export function auditCsv(rows: AuditRow[]): string {
  return toCsv(
    ['recorded', 'user', 'roles', 'action', 'outcome', 'patients', 'objects', 'address', 'description'],
    rows.map((r) => [r.recorded, r.user, r.roles, r.action, r.success ? 'success' : 'failure', r.patients.join(' '), r.objects.join(' '), r.address, r.description]),
  );
}
