/**
 * Chart deficiencies: what is missing or unauthenticated in a record, found from the record itself,
 * each opened as a work-item Task (DESIGN.md "One shape for every work item") for the responsible
 * practitioner with a due date, and closed automatically when the record is completed.
 * Pure functions: the store loads the resources and writes the Tasks.
 */
import type { DocumentReference, Encounter, Procedure, Reference, Resource, Task } from '@medplum/fhirtypes';
import { dateRange } from '../fhir/dates.js';

export const WORK_TYPE_SYSTEM = 'http://custodian.dev/fhir/CodeSystem/work-type';
export const DEFICIENCY_SYSTEM = 'http://custodian.dev/fhir/CodeSystem/deficiency-type';
export const CMS_RULE = 'CMS 42 CFR 482.24(c)(4)(viii): the record is complete within 30 days of discharge';

export type DeficiencyCode = 'discharge-summary' | 'history-physical' | 'operative-report' | 'unsigned-note' | 'unsigned-order' | 'missing-diagnosis';

export interface DeficiencyType {
  code: DeficiencyCode;
  display: string;
  enabled: boolean;
  /** The clock: hours after its anchor (admission, discharge, procedure or document date). */
  dueHours: number;
  anchor: 'admission' | 'discharge' | 'event';
  rule: string;
}

export interface DeficiencyConfig {
  types: DeficiencyType[];
  /** Encounter classes whose records are tracked (inpatient by default). */
  encounterClasses: string[];
  /** LOINC document types. */
  dischargeSummaryTypes: string[];
  historyPhysicalTypes: string[];
  operativeReportTypes: string[];
  /** SNOMED codes of surgical procedures needing an operative report (plus category 387713003). */
  surgicalProcedureCodes: string[];
  /** A record is delinquent this many days after discharge (CMS CoP: 30). */
  delinquentAfterDays: number;
}

export const DEFAULT_DEFICIENCY_CONFIG: DeficiencyConfig = {
  types: [
    { code: 'discharge-summary', display: 'Missing discharge summary', enabled: true, dueHours: 72, anchor: 'discharge', rule: `Discharge summary within 72 hours of discharge (common practice); ${CMS_RULE}` },
    { code: 'history-physical', display: 'Missing history and physical within 24 hours of admission', enabled: true, dueHours: 24, anchor: 'admission', rule: 'H&P within 24 hours of admission (CMS 42 CFR 482.22(c)(5)(i), 482.24(c)(4)(i))' },
    { code: 'operative-report', display: 'Missing operative report', enabled: true, dueHours: 24, anchor: 'event', rule: 'Operative report immediately after surgery (CMS 42 CFR 482.51(b)(6))' },
    { code: 'unsigned-note', display: 'Unsigned or unauthenticated note', enabled: true, dueHours: 30 * 24, anchor: 'discharge', rule: `Entries authenticated (CMS 42 CFR 482.24(c)(1)); ${CMS_RULE}` },
    { code: 'unsigned-order', display: 'Missing signature on an order', enabled: true, dueHours: 30 * 24, anchor: 'discharge', rule: `Orders dated and authenticated (CMS 42 CFR 482.24(c)(1)); ${CMS_RULE}` },
    { code: 'missing-diagnosis', display: 'Missing diagnosis on an encounter', enabled: true, dueHours: 30 * 24, anchor: 'discharge', rule: `Final diagnosis recorded (CMS 42 CFR 482.24(c)(4)(vii)); ${CMS_RULE}` },
  ],
  encounterClasses: ['IMP', 'ACUTE', 'NONAC'],
  dischargeSummaryTypes: ['18842-5'],
  historyPhysicalTypes: ['34117-2'],
  operativeReportTypes: ['11504-8'],
  surgicalProcedureCodes: ['80146002', '232717009', '415070008', '18286008', '699253003', '274031008', '433112001', '44946007'],
  delinquentAfterDays: 30,
};

export interface Deficiency {
  type: DeficiencyCode;
  /** The record the work is about: the encounter, document, procedure or order. */
  focus: string;
  patient?: string;
  encounter?: string;
  owner?: string;
  /** ISO due date of the item's clock. */
  due: string;
  /** ISO discharge of the encounter, when known. */
  discharge?: string;
}

const HOUR = 3_600_000;
const ref = (r: Resource): string => `${r.resourceType}/${r.id}`;
const lo = (t?: string): number | undefined => {
  const r = t ? dateRange(t) : undefined;
  return r ? Date.parse(r.lo) : undefined;
};
const codes = (cc?: { coding?: Array<{ code?: string }> }): string[] => (cc?.coding ?? []).map((c) => c.code ?? '');
const practitioner = (refs: Array<Reference | undefined>): string | undefined => refs.map((r) => r?.reference).find((r) => r?.startsWith('Practitioner/'));

function encounterOwner(e: Encounter): string | undefined {
  const ps = e.participant ?? [];
  const attender = ps.find((p) => p.type?.some((t) => codes(t).some((c) => c === 'ATND' || c === 'DIS')));
  return practitioner([attender?.individual, ...ps.map((p) => p.individual)]);
}

const signed = (d: DocumentReference): boolean => (d.docStatus === 'final' || d.docStatus === 'amended') && (d.authenticator?.reference ?? '') !== '';

/** Finds the open deficiencies in the given resources (encounters, documents, procedures, conditions, orders). */
export function findDeficiencies(resources: Resource[], config: DeficiencyConfig = DEFAULT_DEFICIENCY_CONFIG): Deficiency[] {
  const enabled = new Map(config.types.filter((t) => t.enabled).map((t) => [t.code, t]));
  const encounters = new Map<string, Encounter>();
  const docsByEnc = new Map<string, DocumentReference[]>();
  const dxEncounters = new Set<string>();
  for (const r of resources) {
    if (r.resourceType === 'Encounter') encounters.set(ref(r), r);
    if (r.resourceType === 'DocumentReference' && r.status !== 'entered-in-error' && r.docStatus !== 'entered-in-error') {
      for (const e of r.context?.encounter ?? []) if (e.reference) docsByEnc.set(e.reference, [...(docsByEnc.get(e.reference) ?? []), r]);
    }
    if (r.resourceType === 'Condition' && r.encounter?.reference) dxEncounters.add(r.encounter.reference);
  }
  const tracked = (e?: Encounter): e is Encounter => !!e && e.status === 'finished' && config.encounterClasses.includes(e.class?.code ?? '') && !!e.period?.end;
  const dueFrom = (t: DeficiencyType, e: Encounter | undefined, event?: string): string => {
    const base = t.anchor === 'admission' ? lo(e?.period?.start) : t.anchor === 'discharge' ? (lo(e?.period?.end) ?? lo(event)) : (lo(event) ?? lo(e?.period?.end));
    return new Date((base ?? 0) + t.dueHours * HOUR).toISOString();
  };
  const out: Deficiency[] = [];
  const add = (code: DeficiencyCode, focus: string, e: Encounter | undefined, owner: string | undefined, patient: string | undefined, event?: string): void => {
    const t = enabled.get(code);
    if (!t) return;
    out.push({ type: code, focus, patient, encounter: e ? ref(e) : undefined, owner, due: dueFrom(t, e, event), discharge: e?.period?.end ? new Date(lo(e.period.end)!).toISOString() : undefined });
  };
  const hasDoc = (e: Encounter, types: string[], pred: (d: DocumentReference) => boolean = () => true): boolean =>
    (docsByEnc.get(ref(e)) ?? []).some((d) => codes(d.type).some((c) => types.includes(c)) && pred(d));

  for (const e of encounters.values()) {
    if (!tracked(e)) continue;
    const owner = encounterOwner(e);
    const patient = e.subject?.reference;
    if (!hasDoc(e, config.dischargeSummaryTypes, (d) => d.docStatus !== 'preliminary')) add('discharge-summary', ref(e), e, owner, patient);
    const admit = lo(e.period?.start);
    if (!hasDoc(e, config.historyPhysicalTypes, (d) => admit === undefined || (lo(d.date) ?? Infinity) <= admit + 24 * HOUR)) add('history-physical', ref(e), e, owner, patient);
    if (!dxEncounters.has(ref(e)) && !(e.diagnosis ?? []).length) add('missing-diagnosis', ref(e), e, owner, patient);
  }
  for (const r of resources) {
    if (r.resourceType === 'Procedure') {
      const p = r as Procedure;
      const e = encounters.get(p.encounter?.reference ?? '');
      const surgical = codes(p.category).includes('387713003') || codes(p.code).some((c) => config.surgicalProcedureCodes.includes(c));
      if (p.status === 'completed' && surgical && tracked(e) && !hasDoc(e, config.operativeReportTypes)) {
        add('operative-report', ref(p), e, practitioner((p.performer ?? []).map((x) => x.actor)) ?? encounterOwner(e), p.subject?.reference, p.performedPeriod?.end ?? p.performedPeriod?.start ?? p.performedDateTime);
      }
    }
    if (r.resourceType === 'DocumentReference') {
      const d = r as DocumentReference;
      if (d.status !== 'current' || d.docStatus === 'entered-in-error' || signed(d)) continue;
      const e = encounters.get(d.context?.encounter?.[0]?.reference ?? '');
      add('unsigned-note', ref(d), e, practitioner(d.author ?? []) ?? (e && encounterOwner(e)), d.subject?.reference, d.date);
    }
    if (r.resourceType === 'MedicationRequest' || r.resourceType === 'ServiceRequest') {
      const o = r as { status?: string; intent?: string; requester?: Reference; encounter?: Reference; subject?: Reference; authoredOn?: string };
      if (o.status !== 'draft' || o.intent === 'proposal' || o.intent === 'plan') continue;
      const e = encounters.get(o.encounter?.reference ?? '');
      add('unsigned-order', ref(r), e, practitioner([o.requester]) ?? (e && encounterOwner(e)), o.subject?.reference, o.authoredOn);
    }
  }
  return out.sort((a, b) => (a.focus + a.type).localeCompare(b.focus + b.type));
}

/** A short stable id for the Task of one deficiency (FNV-1a over type and focus). */
export function deficiencyTaskId(type: string, focus: string): string {
  let h = 0x811c9dc5;
  for (const ch of `${type}|${focus}`) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let h2 = 0x1b873593;
  for (const ch of `${focus}|${type}`) {
    h2 ^= ch.charCodeAt(0);
    h2 = Math.imul(h2, 0x01000193) >>> 0;
  }
  return `def-${type}-${h.toString(16).padStart(8, '0')}${h2.toString(16).padStart(8, '0')}`;
}

export const isDeficiencyTask = (t: Resource): t is Task =>
  t.resourceType === 'Task' && (t.code?.coding?.[0]?.system === WORK_TYPE_SYSTEM && t.code.coding[0].code === 'deficiency');

export function deficiencyTask(d: Deficiency, config: DeficiencyConfig, authoredOn: string): Task {
  const t = config.types.find((x) => x.code === d.type)!;
  const delinquentAt = d.discharge ? new Date(Date.parse(d.discharge) + config.delinquentAfterDays * 24 * HOUR).toISOString() : undefined;
  return {
    resourceType: 'Task',
    id: deficiencyTaskId(d.type, d.focus),
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: WORK_TYPE_SYSTEM, code: 'deficiency', display: 'Chart deficiency' }, { system: DEFICIENCY_SYSTEM, code: d.type, display: t.display }], text: t.display },
    businessStatus: { text: 'awaiting completion' },
    focus: { reference: d.focus },
    ...(d.patient ? { for: { reference: d.patient } } : {}),
    ...(d.encounter ? { encounter: { reference: d.encounter } } : {}),
    ...(d.owner ? { owner: { reference: d.owner } } : {}),
    requester: { display: `Custodian deficiency rule ${d.type}` },
    authoredOn,
    restriction: { period: { end: d.due } },
    note: [{ text: t.rule }],
    ...(delinquentAt ? { input: [{ type: { text: 'delinquent-after' }, valueDateTime: delinquentAt }] } : {}),
  };
}

/**
 * The Task writes that bring the worklist in line with the record: new deficiencies open a Task,
 * a deficiency found again re-opens its Task, and an open Task whose deficiency is gone is completed.
 */
export function reconcileDeficiencyTasks(found: Deficiency[], existing: Task[], now: Date, config: DeficiencyConfig = DEFAULT_DEFICIENCY_CONFIG): Task[] {
  const byId = new Map(existing.filter(isDeficiencyTask).map((t) => [t.id!, t]));
  const writes: Task[] = [];
  const seen = new Set<string>();
  for (const d of found) {
    const id = deficiencyTaskId(d.type, d.focus);
    if (seen.has(id)) continue;
    seen.add(id);
    const cur = byId.get(id);
    const want = deficiencyTask(d, config, cur?.authoredOn ?? now.toISOString());
    if (!cur || cur.status === 'completed' || cur.status === 'cancelled') writes.push(want);
  }
  for (const t of byId.values()) {
    if (seen.has(t.id!) || t.status === 'completed' || t.status === 'cancelled') continue;
    writes.push({ ...t, status: 'completed', businessStatus: { text: 'completed' }, lastModified: now.toISOString(), output: [{ type: { text: 'resolution' }, valueString: 'The record was completed; closed automatically' }] });
  }
  return writes;
}
