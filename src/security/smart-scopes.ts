/**
 * SMART on FHIR scopes (v1 `patient/Observation.read`, v2 `user/Observation.rs`): what a token may do on
 * the FHIR API, on top of its user's roles. A token without resource scopes is limited by roles only.
 */
export type ScopeContext = 'patient' | 'user' | 'system';
export type Interaction = 'create' | 'read' | 'update' | 'delete' | 'search';

export interface ResourceScope {
  context: ScopeContext;
  resourceType: string; // or '*'
  interactions: Set<Interaction>;
}

const V2 = /^[cruds]+$/;
const LETTER: Record<string, Interaction> = { c: 'create', r: 'read', u: 'update', d: 'delete', s: 'search' };

export function parseScope(scope: string): ResourceScope | undefined {
  const m = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)(\?.*)?$/.exec(scope.trim());
  if (!m) return undefined;
  const [, context, resourceType, perms] = m as unknown as [string, ScopeContext, string, string];
  let interactions: Interaction[];
  if (perms === 'read') interactions = ['read', 'search'];
  else if (perms === 'write') interactions = ['create', 'update', 'delete'];
  else if (perms === '*') interactions = ['create', 'read', 'update', 'delete', 'search'];
  else if (V2.test(perms)) interactions = [...perms].map((c) => LETTER[c] as Interaction);
  else return undefined;
  return { context, resourceType, interactions: new Set(interactions) };
}

export function parseScopes(scope: string | undefined): ResourceScope[] {
  return (scope ?? '').split(/\s+/).filter(Boolean).map(parseScope).filter((s): s is ResourceScope => s !== undefined);
}

export interface ScopeDecision {
  allowed: boolean;
  /** True when only patient/ scopes allow it: the request is confined to the token's patient. */
  patientOnly: boolean;
}

/** Whether the scopes allow an interaction on a type; undefined scope string = no SMART limit. */
export function scopeAllows(scope: string | undefined, interaction: Interaction, resourceType: string): ScopeDecision {
  if (scope === undefined) return { allowed: true, patientOnly: false };
  const matching = parseScopes(scope).filter(
    (s) => (s.resourceType === '*' || s.resourceType === resourceType) && s.interactions.has(interaction),
  );
  if (matching.length === 0) return { allowed: false, patientOnly: false };
  return { allowed: true, patientOnly: matching.every((s) => s.context === 'patient') };
}
