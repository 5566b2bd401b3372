/**
 * Sensitive records. A resource is sensitive when its own meta.security, or that of a patient whose
 * compartment holds it, carries a label below; the viewer then needs the label's permission, or an
 * open break-the-glass grant for one of those patients.
 */
import type { Resource } from '@medplum/fhirtypes';

export const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
/** Our own label systems (meta.security codes under this prefix count as labels too). */
export const CUSTODIAN_SYSTEM_PREFIX = 'http://custodian.dev/';

/** meta.security code -> the label that governs it. */
const LABELS: Record<string, string> = {
  R: 'R', // restricted
  V: 'V', // very restricted
  ETH: 'ETH', // substance use (42 CFR Part 2)
  SUD: 'ETH',
  '42CFRPart2': 'ETH',
  PSY: 'PSY', // psychiatry / mental health
  MH: 'PSY',
  HIV: 'HIV',
  SEX: 'SEX', // sexuality and reproductive health
  STD: 'SEX',
  SDV: 'SEX',
};

export type Coding = { system?: string; code?: string };

/** The meta.security codes whose records a holder of these permissions may not see (for bulk paths). */
export function codesNotPermitted(permissions: ReadonlySet<string>): string[] {
  return Object.entries(LABELS).filter(([, label]) => !permissions.has(`sensitive.${label}`)).map(([code]) => code);
}

export function sensitiveLabels(security: readonly Coding[] | undefined): string[] {
  const out = new Set<string>();
  for (const c of security ?? []) {
    if (!c.code) continue;
    if (c.system && c.system !== CONFIDENTIALITY && c.system !== ACT_CODE && !c.system.startsWith(CUSTODIAN_SYSTEM_PREFIX)) continue;
    const l = LABELS[c.code];
    if (l) out.add(l);
  }
  return [...out];
}

export interface Viewer {
  permissions: ReadonlySet<string>;
  /** Patients opened by break-the-glass (unexpired grants). */
  breakGlassPatients: ReadonlySet<string>;
  /** A SMART patient/ token confines the viewer to this patient's compartment. */
  patientContext?: string;
}

export interface ResourceContext {
  /** Patients whose compartment holds the resource (the resource's own id for a Patient). */
  patientIds: readonly string[];
  /** Sensitive labels of those patients (patient id -> labels). */
  patientLabels: ReadonlyMap<string, readonly string[]>;
}

export type SeeDecision = { visible: true } | { visible: false; reason: 'label' | 'patient-context'; labels: string[] };

export function decideVisibility(viewer: Viewer, resource: Resource, ctx: ResourceContext): SeeDecision {
  if (viewer.patientContext && ctx.patientIds.length > 0 && !ctx.patientIds.includes(viewer.patientContext)) {
    return { visible: false, reason: 'patient-context', labels: [] };
  }
  const labels = new Set(sensitiveLabels(resource.meta?.security));
  for (const p of ctx.patientIds) for (const l of ctx.patientLabels.get(p) ?? []) labels.add(l);
  if (labels.size === 0) return { visible: true };
  if (ctx.patientIds.some((p) => viewer.breakGlassPatients.has(p))) return { visible: true };
  const missing = [...labels].filter((l) => !viewer.permissions.has(`sensitive.${l}`));
  return missing.length === 0 ? { visible: true } : { visible: false, reason: 'label', labels: missing };
}

/** The pure decision the search and read paths call: may this viewer see this resource? */
export function canSee(viewer: Viewer, resource: Resource, ctx: ResourceContext): boolean {
  return decideVisibility(viewer, resource, ctx).visible;
}
