/** The patient chart's timeline: encounters, newest first, each with the records that point at it. */
import type { CodeableConcept, Period, Reference, Resource } from './fhir-types.js';

export const TIMELINE_TYPES = ['DocumentReference', 'Condition', 'Procedure', 'Observation', 'MedicationRequest', 'Claim', 'DiagnosticReport', 'Immunization'] as const;

export interface Encounterish extends Resource {
  period?: Period;
  type?: CodeableConcept[];
  class?: { code?: string; display?: string };
  status?: string;
}

export interface TimelineEntry {
  encounter?: Encounterish;
  /** Sort key: the encounter's start (or the record's own date for the "no encounter" group). */
  date?: string;
  records: Record<string, Resource[]>;
  count: number;
}

function encounterRef(r: Resource): string | undefined {
  const e = (r as { encounter?: Reference; context?: { encounter?: Reference[] }; item?: { encounter?: Reference[] }[] });
  const ref = e.encounter?.reference ?? e.context?.encounter?.[0]?.reference ?? e.item?.[0]?.encounter?.[0]?.reference;
  return ref?.replace(/^.*Encounter\//, '');
}

export function recordDate(r: Resource): string | undefined {
  const x = r as Record<string, unknown>;
  for (const k of ['effectiveDateTime', 'onsetDateTime', 'performedDateTime', 'authoredOn', 'recordedDate', 'date', 'created', 'occurrenceDateTime', 'issued']) {
    if (typeof x[k] === 'string') return x[k] as string;
  }
  const p = (x.performedPeriod ?? x.effectivePeriod ?? x.period) as Period | undefined;
  return p?.start;
}

export function buildTimeline(encounters: Encounterish[], records: Resource[]): TimelineEntry[] {
  const byId = new Map<string, TimelineEntry>();
  for (const e of encounters) if (e.id) byId.set(e.id, { encounter: e, date: e.period?.start, records: {}, count: 0 });
  const orphan: TimelineEntry = { records: {}, count: 0 };
  for (const r of records) {
    const ref = encounterRef(r);
    const entry = (ref && byId.get(ref)) || orphan;
    (entry.records[r.resourceType] ??= []).push(r);
    entry.count += 1;
    if (entry === orphan) {
      const d = recordDate(r);
      if (d && (!orphan.date || d > orphan.date)) orphan.date = d;
    }
  }
  const list = [...byId.values()].sort((a, b) => (b.date ?? '').localeCompare(a.date ?? ''));
  if (orphan.count > 0) list.push(orphan);
  return list;
}
