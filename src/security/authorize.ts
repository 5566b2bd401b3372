/** The authorisation decision for one request: route rule + the caller's permissions + SMART scopes. */
import { fhirPermission, type Permission } from './roles.js';
import type { RouteRule } from './route-permissions.js';
import { scopeAllows, type Interaction } from './smart-scopes.js';

export interface Caller {
  permissions: ReadonlySet<string>;
  /** SMART scope string of the token; undefined = roles only. */
  scope?: string;
}

export type Decision = { allow: true; patientOnly?: boolean } | { allow: false; status: 401 | 403; reason: string };

export interface FhirTarget {
  resourceType: string;
  interaction: Interaction;
}

function fhirDecision(caller: Caller, t: FhirTarget): Decision {
  const write = t.interaction === 'create' || t.interaction === 'update' || t.interaction === 'delete';
  const p = fhirPermission(write ? 'write' : 'read', t.resourceType);
  if (!p) return { allow: false, status: 403, reason: `Nobody may ${t.interaction} ${t.resourceType} through the FHIR API` };
  if (!caller.permissions.has(p)) return { allow: false, status: 403, reason: `Permission ${p} is needed to ${t.interaction} ${t.resourceType}` };
  const s = scopeAllows(caller.scope, t.interaction, t.resourceType);
  if (!s.allowed) return { allow: false, status: 403, reason: `The token's scopes do not allow ${t.interaction} on ${t.resourceType}` };
  return { allow: true, patientOnly: s.patientOnly };
}

/**
 * Decides a request. `caller` undefined means no valid token. `targets` are the FHIR interactions the
 * request performs (one for a REST call, one per entry for a transaction or batch).
 */
export function authorize(rule: RouteRule | undefined, caller: Caller | undefined, targets: FhirTarget[] = []): Decision {
  if (!rule) return { allow: false, status: 403, reason: 'This route declares no permission (deny by default)' };
  if (rule.kind === 'public') return { allow: true };
  if (!caller) return { allow: false, status: 401, reason: 'Authentication required' };
  if (rule.kind === 'permission') {
    return caller.permissions.has(rule.permission) ? { allow: true } : { allow: false, status: 403, reason: `Permission ${rule.permission} is needed` };
  }
  if (targets.length === 0) {
    return rule.kind === 'fhir-bundle' ? { allow: true } : { allow: false, status: 403, reason: 'No resource type in the request' };
  }
  let patientOnly = false;
  for (const t of targets) {
    const d = fhirDecision(caller, t);
    if (!d.allow) return d;
    patientOnly ||= d.patientOnly === true;
  }
  return { allow: true, patientOnly };
}

export function hasPermission(caller: Caller, p: Permission): boolean {
  return caller.permissions.has(p);
}
