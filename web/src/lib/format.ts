/** Display helpers for FHIR values. */
import type { CodeableConcept, HumanName, Patient } from './fhir-types.js';

export function humanName(n: HumanName | undefined): string {
  if (!n) return '';
  if (n.text) return n.text;
  return [...(n.given ?? []), n.family ?? ''].join(' ').replace(/\s+/g, ' ').trim();
}

/** The official (else first) name, without Synthea's trailing digits. */
export function patientName(p: Patient | undefined): string {
  if (!p) return '';
  const n = p.name?.find((x) => x.use === 'official') ?? p.name?.[0];
  return humanName(n).replace(/(\D)\d+\b/g, '$1') || `Patient/${p.id ?? '?'}`;
}

export function conceptText(c: CodeableConcept | undefined): string {
  if (!c) return '';
  return c.text ?? c.coding?.find((x) => x.display)?.display ?? c.coding?.[0]?.code ?? '';
}

export function formatDate(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return iso.length <= 10 ? iso : d.toISOString().slice(0, 16).replace('T', ' ');
}

export function ageYears(birthDate: string | undefined, now: Date): number | undefined {
  if (!birthDate) return undefined;
  const b = new Date(birthDate);
  if (Number.isNaN(b.getTime())) return undefined;
  let age = now.getUTCFullYear() - b.getUTCFullYear();
  const m = now.getUTCMonth() - b.getUTCMonth();
  if (m < 0 || (m === 0 && now.getUTCDate() < b.getUTCDate())) age -= 1;
  return age;
}

export function percent(x: number | undefined, digits = 1): string {
  if (x === undefined || Number.isNaN(x)) return '—';
  return `${(x * 100).toFixed(digits)}%`;
}
