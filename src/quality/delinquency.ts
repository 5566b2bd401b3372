/**
 * Delinquency: a record still deficient 30 days after discharge is delinquent (CMS CoP). The Joint
 * Commission compares delinquent records with the average monthly discharges (not above 50%).
 * Pure: takes the deficiency Tasks and the tracked encounters.
 */
import type { Encounter, Task } from '@medplum/fhirtypes';
import { isDeficiencyTask } from './deficiencies.js';

export interface DelinquencyOptions {
  now: Date;
  /** Months of discharges averaged (Joint Commission: measured at least quarterly). */
  months?: number;
  /** Percent of average monthly discharges (Joint Commission: 50). */
  threshold?: number;
  /** Delinquent records at which a practitioner is listed for suspension. */
  suspendAt?: number;
  encounterClasses?: string[];
}

export interface PractitionerDelinquency {
  practitioner: string;
  delinquentRecords: number;
  openDeficiencies: number;
  oldestDaysDelinquent: number;
}

export interface DelinquencyReport {
  asOf: string;
  months: number;
  discharges: number;
  averageMonthlyDischarges: number;
  delinquentRecords: number;
  /** delinquent records / average monthly discharges * 100 (null when there were no discharges). */
  rate: number | null;
  threshold: number;
  exceedsThreshold: boolean;
  openDeficiencies: number;
  overdueDeficiencies: number;
  records: Array<{ record: string; patient?: string; delinquentSince: string; daysDelinquent: number; deficiencies: string[]; owners: string[] }>;
  byPractitioner: PractitionerDelinquency[];
  suspensionList: PractitionerDelinquency[];
}

const DAY = 86_400_000;

export function delinquencyReport(tasks: Task[], encounters: Encounter[], opts: DelinquencyOptions): DelinquencyReport {
  const now = opts.now.getTime();
  const months = opts.months ?? 3;
  const threshold = opts.threshold ?? 50;
  const classes = opts.encounterClasses ?? ['IMP', 'ACUTE', 'NONAC'];
  const from = new Date(opts.now);
  from.setUTCMonth(from.getUTCMonth() - months);
  const discharges = encounters.filter((e) => {
    const end = e.period?.end ? Date.parse(e.period.end) : NaN;
    return e.status === 'finished' && classes.includes(e.class?.code ?? '') && end >= from.getTime() && end < now;
  }).length;
  const open = tasks.filter((t) => isDeficiencyTask(t) && t.status !== 'completed' && t.status !== 'cancelled');
  const records = new Map<string, DelinquencyReport['records'][number]>();
  for (const t of open) {
    const after = t.input?.find((i) => i.type?.text === 'delinquent-after')?.valueDateTime;
    if (!after || Date.parse(after) > now) continue;
    const record = t.encounter?.reference ?? t.focus?.reference ?? t.id!;
    const r = records.get(record) ?? { record, patient: t.for?.reference, delinquentSince: after, daysDelinquent: 0, deficiencies: [], owners: [] };
    r.deficiencies.push(t.code?.coding?.[1]?.code ?? 'deficiency');
    if (t.owner?.reference && !r.owners.includes(t.owner.reference)) r.owners.push(t.owner.reference);
    if (after < r.delinquentSince) r.delinquentSince = after;
    r.daysDelinquent = Math.floor((now - Date.parse(r.delinquentSince)) / DAY);
    records.set(record, r);
  }
  const byPrac = new Map<string, PractitionerDelinquency>();
  for (const t of open) {
    const p = t.owner?.reference;
    if (!p) continue;
    const cur = byPrac.get(p) ?? { practitioner: p, delinquentRecords: 0, openDeficiencies: 0, oldestDaysDelinquent: 0 };
    cur.openDeficiencies++;
    byPrac.set(p, cur);
  }
  for (const r of records.values()) {
    for (const p of r.owners) {
      const cur = byPrac.get(p)!;
      cur.delinquentRecords++;
      cur.oldestDaysDelinquent = Math.max(cur.oldestDaysDelinquent, r.daysDelinquent);
    }
  }
  const avg = discharges / months;
  const rate = avg > 0 ? Math.round((records.size / avg) * 1000) / 10 : null;
  const byPractitioner = [...byPrac.values()].sort((a, b) => b.delinquentRecords - a.delinquentRecords || b.openDeficiencies - a.openDeficiencies || a.practitioner.localeCompare(b.practitioner));
  return {
    asOf: opts.now.toISOString(),
    months,
    discharges,
    averageMonthlyDischarges: Math.round(avg * 100) / 100,
    delinquentRecords: records.size,
    rate,
    threshold,
    exceedsThreshold: rate !== null && rate > threshold,
    openDeficiencies: open.length,
    overdueDeficiencies: open.filter((t) => t.restriction?.period?.end && Date.parse(t.restriction.period.end) < now).length,
    records: [...records.values()].sort((a, b) => b.daysDelinquent - a.daysDelinquent || a.record.localeCompare(b.record)),
    byPractitioner,
    suspensionList: byPractitioner.filter((p) => p.delinquentRecords >= (opts.suspendAt ?? 1)),
  };
}
