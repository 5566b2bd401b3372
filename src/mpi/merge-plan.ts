/**
 * Merge and unmerge as pure plans: which references to re-point, the resulting source and target
 * Patients, and the Provenance that makes the merge undoable.
 */
import type { Patient, Provenance, Reference, Resource } from '@medplum/fhirtypes';

/** Resource types that record history and keep pointing at the record they were about. */
export const NOT_REPOINTED = new Set(['Provenance', 'AuditEvent']);

export const MERGE_ACTIVITY = { system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'MERGE', display: 'merge' };
export const UNMERGE_ACTIVITY = { system: 'http://custodian.dev/fhir/CodeSystem/data-operation', code: 'unmerge', display: 'unmerge' };

/** Whether a reference string points at Patient/id (relative, absolute or versioned). */
export function pointsAt(ref: string, id: string): boolean {
  const m = /(?:^|\/)Patient\/([^/]+)(?:\/_history\/[^/]+)?$/.exec(ref);
  return !!m && m[1] === id;
}

/** A copy of resource with every reference to Patient/fromId re-pointed to Patient/toId; count of changes. */
export function repoint<T>(resource: T, fromId: string, toId: string): { resource: T; changed: number } {
  let changed = 0;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k === 'reference' && typeof x === 'string' && pointsAt(x, fromId)) {
          o[k] = `Patient/${toId}`;
          changed++;
        } else o[k] = walk(x);
      }
      return o;
    }
    return v;
  };
  return { resource: walk(resource) as T, changed };
}

/** The source after a merge: inactive, replaced-by the target. */
export function retiredSource(source: Patient, targetId: string): Patient {
  const links = (source.link ?? []).filter((l) => !(l.type === 'replaced-by' && l.other.reference === `Patient/${targetId}`));
  return { ...source, active: false, link: [...links, { other: { reference: `Patient/${targetId}` }, type: 'replaced-by' }] };
}

/** The target after a merge: replaces the source; a given result patient (R5 result-patient) wins. */
export function survivingTarget(target: Patient, sourceId: string, result?: Patient): Patient {
  const base = result ? { ...result, id: target.id, meta: target.meta } : target;
  const links = (base.link ?? []).filter((l) => !(l.type === 'replaces' && l.other.reference === `Patient/${sourceId}`));
  return { ...base, link: [...links, { other: { reference: `Patient/${sourceId}` }, type: 'replaces' }] };
}

export interface WrittenVersion {
  resourceType: string;
  id: string;
  versionId: number;
}

export const versioned = (w: WrittenVersion): Reference => ({ reference: `${w.resourceType}/${w.id}/_history/${w.versionId}` });

/** The Provenance of a merge: its targets are the exact versions the merge wrote (undo restores the one before each). */
export function mergeProvenance(id: string, sourceId: string, sourceVersion: number, targetId: string, written: WrittenVersion[], recorded: string, who: string): Provenance {
  return {
    resourceType: 'Provenance',
    id,
    target: written.map(versioned),
    recorded,
    activity: { coding: [MERGE_ACTIVITY], text: 'merge' },
    reason: [{ text: `Patient/${sourceId} merged into Patient/${targetId}` }],
    agent: [{ who: { display: who } }],
    entity: [
      { role: 'source', what: { reference: `Patient/${sourceId}/_history/${sourceVersion}` } },
      { role: 'revision', what: { reference: `Patient/${targetId}` } },
    ],
  };
}

export interface UndoStep {
  resourceType: string;
  id: string;
  /** The version the merge wrote; the current version must still be this one. */
  mergedVersion: number;
}

/** What an unmerge restores, read from a merge Provenance. */
export function undoSteps(p: Provenance): UndoStep[] {
  return (p.target ?? []).map((t) => {
    const m = /^([A-Za-z]+)\/([^/]+)\/_history\/(\d+)$/.exec(t.reference ?? '');
    if (!m) throw new Error(`Provenance target ${t.reference} is not a versioned reference`);
    return { resourceType: m[1]!, id: m[2]!, mergedVersion: Number(m[3]) };
  });
}

export function isMergeProvenance(p: Resource): p is Provenance {
  return p.resourceType === 'Provenance' && !!(p as Provenance).activity?.coding?.some((c) => c.code === MERGE_ACTIVITY.code && c.system === MERGE_ACTIVITY.system);
}
