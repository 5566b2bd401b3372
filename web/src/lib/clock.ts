/** Work-item clocks: the due date of a Task (restriction.period.end), its state and the words shown for it. */

export type ClockState = 'overdue' | 'due-soon' | 'on-track' | 'no-clock';

export const DAY = 86_400_000;
/** Items due within this window are flagged "due soon". */
export const DUE_SOON_MS = 2 * DAY;

export interface Clock {
  state: ClockState;
  due?: Date;
  /** Milliseconds until due (negative when past). */
  remainingMs?: number;
  /** "3 d overdue", "due in 5 h", "due in 12 d", "no clock". */
  label: string;
  /** The rule behind the clock, e.g. "CMS 30-day completion". */
  rule?: string;
}

export function clockState(due: Date | undefined, now: Date): ClockState {
  if (!due || Number.isNaN(due.getTime())) return 'no-clock';
  const ms = due.getTime() - now.getTime();
  if (ms < 0) return 'overdue';
  if (ms <= DUE_SOON_MS) return 'due-soon';
  return 'on-track';
}

export function humanDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 3_600_000) return `${Math.max(1, Math.round(abs / 60_000))} min`;
  if (abs < DAY) return `${Math.round(abs / 3_600_000)} h`;
  if (abs >= 730 * DAY) return `${Math.floor(abs / (365.25 * DAY))} y`;
  return `${Math.floor(abs / DAY)} d`;
}

export function clockOf(due: string | undefined, rule: string | undefined, now: Date): Clock {
  const d = due ? new Date(due) : undefined;
  const state = clockState(d, now);
  if (state === 'no-clock' || !d) return { state: 'no-clock', label: 'no clock', rule };
  const remainingMs = d.getTime() - now.getTime();
  const label = remainingMs < 0 ? `${humanDuration(remainingMs)} overdue` : `due in ${humanDuration(remainingMs)}`;
  return { state, due: d, remainingMs, label, rule };
}

export const AGE_BUCKETS = ['0-2 days', '3-7 days', '8-30 days', 'over 30 days'] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];

/** How long an item has been open, by the bucket a manager reads. Undefined dates count as new. */
export function ageBucket(authoredOn: string | undefined, now: Date): AgeBucket {
  const t = authoredOn ? Date.parse(authoredOn) : NaN;
  if (Number.isNaN(t)) return '0-2 days';
  const days = (now.getTime() - t) / DAY;
  if (days < 3) return '0-2 days';
  if (days < 8) return '3-7 days';
  if (days <= 30) return '8-30 days';
  return 'over 30 days';
}
