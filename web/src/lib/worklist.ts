/** The unified worklist: FHIR Tasks shaped into rows, filtered, sorted by clock and summarised. */
import { AGE_BUCKETS, ageBucket, clockOf, type AgeBucket, type Clock } from './clock.js';
import type { Bundle, Patient, Reference, Task } from './fhir-types.js';
import { patientName } from './format.js';

export const WORK_TYPE_SYSTEM = 'http://custodian.dev/fhir/CodeSystem/work-type';
export const USER_SYSTEM = 'http://custodian.dev/users';
export const OPEN_STATUSES = ['requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold'] as const;

/** Labels for the work types the modules write; an unknown type shows its own display or code. */
export const WORK_TYPE_LABELS: Record<string, string> = {
  deficiency: 'Chart deficiency',
  'data-quality-finding': 'Data-quality finding',
  'possible-duplicate': 'Possible duplicate',
  'coding-hold': 'Coding hold',
  'provider-query': 'Provider query',
  'break-the-glass-review': 'Break-the-glass review',
  'roi-request': 'Release of information',
  amendment: 'Amendment request',
  denial: 'Denial',
};

export interface WorkItem {
  id: string;
  versionId?: string;
  type: string;
  typeLabel: string;
  subtype?: string;
  description?: string;
  patientId?: string;
  patientName?: string;
  focus?: string;
  owner?: string;
  ownerLabel: string;
  status: string;
  businessStatus?: string;
  priority?: string;
  authoredOn?: string;
  age: AgeBucket;
  clock: Clock;
  task: Task;
}

/** The user name (or role) a Task's owner names; undefined when unassigned. */
export function ownerKey(owner: Reference | undefined): string | undefined {
  if (!owner) return undefined;
  if (owner.identifier?.value) return owner.identifier.value;
  if (owner.reference) return owner.reference;
  return owner.display || undefined;
}

export function ownerReference(username: string): Reference {
  return { identifier: { system: USER_SYSTEM, value: username }, display: username };
}

export function idOf(ref: string | undefined, type?: string): string | undefined {
  if (!ref) return undefined;
  const m = /([A-Za-z]+)\/([^/]+)$/.exec(ref.replace(/\/_history\/[^/]+$/, ''));
  if (!m) return undefined;
  if (type && m[1] !== type) return undefined;
  return m[2];
}

export function toWorkItem(task: Task, now: Date, patients?: Map<string, Patient>, people?: Map<string, string>): WorkItem {
  const codings = task.code?.coding ?? [];
  const main = codings.find((c) => c.system === WORK_TYPE_SYSTEM) ?? codings[0];
  const type = main?.code ?? 'other';
  const sub = codings.find((c) => c !== main);
  const patientId = idOf(task.for?.reference, 'Patient') ?? idOf(task.focus?.reference, 'Patient');
  const p = patientId ? patients?.get(patientId) : undefined;
  const owner = ownerKey(task.owner);
  const rule = task.note?.map((n) => n.text).find((t) => t && t.length > 0);
  return {
    id: task.id ?? '',
    versionId: task.meta?.versionId,
    type,
    typeLabel: WORK_TYPE_LABELS[type] ?? main?.display ?? task.code?.text ?? type,
    subtype: sub?.display ?? sub?.code,
    description: task.description,
    patientId,
    patientName: p ? patientName(p) : task.for?.display,
    focus: task.focus?.reference,
    owner,
    ownerLabel: owner ? (task.owner?.display ?? people?.get(owner) ?? owner) : 'Unassigned',
    status: task.status,
    businessStatus: task.businessStatus?.text ?? task.businessStatus?.coding?.[0]?.display,
    priority: task.priority,
    authoredOn: task.authoredOn,
    age: ageBucket(task.authoredOn, now),
    clock: clockOf(task.restriction?.period?.end, rule, now),
    task,
  };
}

/** Tasks of a searchset (with included Patients joined in for names). */
export function shapeBundle(bundle: Bundle, now: Date): WorkItem[] {
  const patients = new Map<string, Patient>();
  const people = new Map<string, string>();
  const tasks: Task[] = [];
  for (const e of bundle.entry ?? []) {
    const r = e.resource;
    if (!r) continue;
    if (r.resourceType === 'Patient' && r.id) patients.set(r.id, r as Patient);
    else if (r.resourceType === 'Task') tasks.push(r as Task);
    else if ((r.resourceType === 'Practitioner' || r.resourceType === 'PractitionerRole') && r.id) {
      const name = patientName({ ...(r as Patient), resourceType: 'Patient' });
      people.set(`${r.resourceType}/${r.id}`, r.resourceType === 'Practitioner' ? `Dr ${name}` : name);
    }
  }
  return tasks.map((t) => toWorkItem(t, now, patients, people));
}

export type DueFilter = '' | 'overdue' | 'due-soon' | 'week' | 'no-clock';

export interface WorkFilter {
  types?: string[];
  /** '' any, 'me' the signed-in user, 'unassigned', or a user name. */
  owner?: string;
  status?: string;
  due?: DueFilter;
  /** Matches the patient's name or id, case-insensitive. */
  patient?: string;
}

export function matchesFilter(item: WorkItem, f: WorkFilter, me: string | undefined, now: Date): boolean {
  if (f.types && f.types.length > 0 && !f.types.includes(item.type)) return false;
  if (f.owner) {
    if (f.owner === 'unassigned') {
      if (item.owner) return false;
    } else if (f.owner === 'me') {
      if (!me || item.owner !== me) return false;
    } else if (item.owner !== f.owner) return false;
  }
  if (f.status && item.status !== f.status) return false;
  if (f.due) {
    const s = item.clock.state;
    if (f.due === 'overdue' && s !== 'overdue') return false;
    if (f.due === 'due-soon' && s !== 'due-soon') return false;
    if (f.due === 'no-clock' && s !== 'no-clock') return false;
    if (f.due === 'week' && !(item.clock.due && item.clock.due.getTime() - now.getTime() <= 7 * 86_400_000)) return false;
  }
  if (f.patient && f.patient.trim()) {
    const q = f.patient.trim().toLowerCase();
    if (!(item.patientName ?? '').toLowerCase().includes(q) && !(item.patientId ?? '').toLowerCase().includes(q)) return false;
  }
  return true;
}

export function filterItems(items: WorkItem[], f: WorkFilter, me: string | undefined, now: Date): WorkItem[] {
  return items.filter((i) => matchesFilter(i, f, me, now));
}

const PRIORITY_RANK: Record<string, number> = { stat: 0, asap: 1, urgent: 2, routine: 3 };

/** By the clock: the most overdue first, then the soonest due; items without a clock last; ties by priority then age. */
export function compareByClock(a: WorkItem, b: WorkItem): number {
  const da = a.clock.due?.getTime() ?? Number.POSITIVE_INFINITY;
  const db = b.clock.due?.getTime() ?? Number.POSITIVE_INFINITY;
  if (da !== db) return da < db ? -1 : 1;
  const pa = PRIORITY_RANK[a.priority ?? 'routine'] ?? 3;
  const pb = PRIORITY_RANK[b.priority ?? 'routine'] ?? 3;
  if (pa !== pb) return pa - pb;
  return (a.authoredOn ?? '').localeCompare(b.authoredOn ?? '') || a.id.localeCompare(b.id);
}

export function sortByClock(items: WorkItem[]): WorkItem[] {
  return [...items].sort(compareByClock);
}

export interface WorkSummary {
  open: number;
  overdue: number;
  dueSoon: number;
  byType: { type: string; label: string; count: number; overdue: number }[];
  byAge: { bucket: AgeBucket; count: number }[];
}

export function summarise(items: WorkItem[]): WorkSummary {
  const types = new Map<string, { type: string; label: string; count: number; overdue: number }>();
  const ages = new Map<AgeBucket, number>(AGE_BUCKETS.map((b) => [b, 0]));
  let overdue = 0;
  let dueSoon = 0;
  for (const i of items) {
    const t = types.get(i.type) ?? { type: i.type, label: i.typeLabel, count: 0, overdue: 0 };
    t.count += 1;
    if (i.clock.state === 'overdue') {
      t.overdue += 1;
      overdue += 1;
    }
    if (i.clock.state === 'due-soon') dueSoon += 1;
    types.set(i.type, t);
    ages.set(i.age, (ages.get(i.age) ?? 0) + 1);
  }
  return {
    open: items.length,
    overdue,
    dueSoon,
    byType: [...types.values()].sort((a, b) => b.count - a.count || a.label.localeCompare(b.label)),
    byAge: AGE_BUCKETS.map((bucket) => ({ bucket, count: ages.get(bucket) ?? 0 })),
  };
}

/** The Task written back when an item is assigned (owner replaced; status moves from requested to accepted). */
export function assignTask(task: Task, username: string | undefined): Task {
  const next: Task = { ...task };
  if (username) next.owner = ownerReference(username);
  else delete next.owner;
  if (username && next.status === 'requested') next.status = 'accepted';
  next.lastModified = new Date().toISOString();
  return next;
}
