// The workbench's worklist logic: clocks, filters, sorting by clock, summaries and assignment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ageBucket, clockOf } from '../../web/src/lib/clock.js';
import type { Bundle, Task } from '../../web/src/lib/fhir-types.js';
import { assignTask, filterItems, shapeBundle, sortByClock, summarise, toWorkItem, WORK_TYPE_SYSTEM } from '../../web/src/lib/worklist.js';

const NOW = new Date('2026-03-10T12:00:00Z');
const DAY = 86_400_000;
const iso = (offsetDays: number) => new Date(NOW.getTime() + offsetDays * DAY).toISOString();

function task(id: string, type: string, opts: Partial<Task> & { due?: number; opened?: number; owner?: string; patient?: string } = {}): Task {
  const { due, opened, owner, patient, ...rest } = opts;
  return {
    resourceType: 'Task',
    id,
    meta: { versionId: '1' },
    status: 'requested',
    code: { coding: [{ system: WORK_TYPE_SYSTEM, code: type }] },
    for: patient ? { reference: `Patient/${patient}` } : undefined,
    owner: owner ? { identifier: { system: 'http://custodian.dev/users', value: owner }, display: owner } : undefined,
    authoredOn: opened === undefined ? undefined : iso(opened),
    restriction: due === undefined ? undefined : { period: { end: iso(due) } },
    note: [{ text: 'CMS 30-day record completion (42 CFR 482.24(c)(4)(viii))' }],
    ...rest,
  };
}

test('a clock past its due date reads as overdue by whole days, with its rule', () => {
  const c = clockOf(iso(-3.5), 'CMS 30-day', NOW);
  assert.equal(c.state, 'overdue');
  assert.equal(c.label, '3 d overdue');
  assert.equal(c.rule, 'CMS 30-day');
  assert.equal(clockOf(iso(0.25), undefined, NOW).label, 'due in 6 h');
  assert.equal(clockOf(iso(1), undefined, NOW).state, 'due-soon');
  assert.equal(clockOf(iso(10), undefined, NOW).state, 'on-track');
  assert.equal(clockOf(undefined, undefined, NOW).state, 'no-clock');
  assert.equal(clockOf('not a date', undefined, NOW).state, 'no-clock');
});

test('items age into the buckets a manager reads', () => {
  assert.equal(ageBucket(iso(-1), NOW), '0-2 days');
  assert.equal(ageBucket(iso(-5), NOW), '3-7 days');
  assert.equal(ageBucket(iso(-30), NOW), '8-30 days');
  assert.equal(ageBucket(iso(-31), NOW), 'over 30 days');
});

test('a searchset becomes rows with patient names joined from included Patients', () => {
  const bundle: Bundle = {
    resourceType: 'Bundle',
    entry: [
      { resource: task('t1', 'deficiency', { patient: 'p1', due: 2, description: 'Discharge summary missing' }) },
      { resource: { resourceType: 'Patient', id: 'p1', name: [{ use: 'official', given: ['Ana761'], family: 'Lopez12' }] }, search: { mode: 'include' } },
    ],
  };
  const [row] = shapeBundle(bundle, NOW);
  assert.ok(row);
  assert.equal(row.typeLabel, 'Chart deficiency');
  assert.equal(row.patientName, 'Ana Lopez');
  assert.equal(row.ownerLabel, 'Unassigned');
  assert.equal(row.clock.state, 'due-soon');
});

test('sorting by clock puts the most overdue first and items without a clock last', () => {
  const rows = [task('none', 'deficiency'), task('later', 'deficiency', { due: 20 }), task('late', 'deficiency', { due: -5 }), task('soon', 'coding-hold', { due: 1 })].map((t) => toWorkItem(t, NOW));
  assert.deepEqual(sortByClock(rows).map((r) => r.id), ['late', 'soon', 'later', 'none']);
});

test('filters by type, owner (me / unassigned / a user), status, due window and patient', () => {
  const patients = new Map([['p1', { resourceType: 'Patient' as const, id: 'p1', name: [{ given: ['Ana'], family: 'Lopez' }] }]]);
  const rows = [
    task('a', 'deficiency', { owner: 'hit1', due: -1, patient: 'p1' }),
    task('b', 'possible-duplicate', { due: 5, patient: 'p2' }),
    task('c', 'coding-hold', { owner: 'coder1', status: 'in-progress', due: 1 }),
    task('d', 'deficiency'),
  ].map((t) => toWorkItem(t, NOW, patients));
  const ids = (f: Parameters<typeof filterItems>[1]) => filterItems(rows, f, 'hit1', NOW).map((r) => r.id).sort();
  assert.deepEqual(ids({ types: ['deficiency'] }), ['a', 'd']);
  assert.deepEqual(ids({ owner: 'me' }), ['a']);
  assert.deepEqual(ids({ owner: 'unassigned' }), ['b', 'd']);
  assert.deepEqual(ids({ owner: 'coder1' }), ['c']);
  assert.deepEqual(ids({ status: 'in-progress' }), ['c']);
  assert.deepEqual(ids({ due: 'overdue' }), ['a']);
  assert.deepEqual(ids({ due: 'due-soon' }), ['c']);
  assert.deepEqual(ids({ due: 'week' }), ['a', 'b', 'c']);
  assert.deepEqual(ids({ due: 'no-clock' }), ['d']);
  assert.deepEqual(ids({ patient: 'lopez' }), ['a']);
  assert.deepEqual(ids({ patient: 'P2' }), ['b']);
  assert.deepEqual(ids({}), ['a', 'b', 'c', 'd']);
});

test('the summary counts open work by type and age and what is past its clock', () => {
  const rows = [
    task('a', 'deficiency', { due: -1, opened: -40 }),
    task('b', 'deficiency', { due: 3, opened: -1 }),
    task('c', 'possible-duplicate', { due: 1, opened: -4 }),
  ].map((t) => toWorkItem(t, NOW));
  const s = summarise(rows);
  assert.equal(s.open, 3);
  assert.equal(s.overdue, 1);
  assert.equal(s.dueSoon, 1);
  assert.deepEqual(s.byType.map((t) => [t.type, t.count, t.overdue]), [['deficiency', 2, 1], ['possible-duplicate', 1, 0]]);
  assert.deepEqual(s.byAge.map((a) => a.count), [1, 1, 0, 1]);
});

test('assigning sets the owner to the user and accepts a requested task; unassigning removes the owner', () => {
  const t = task('a', 'deficiency');
  const mine = assignTask(t, 'hit1');
  assert.equal(mine.owner?.identifier?.value, 'hit1');
  assert.equal(mine.status, 'accepted');
  assert.equal(toWorkItem(mine, NOW).owner, 'hit1');
  const none = assignTask(mine, undefined);
  assert.equal(none.owner, undefined);
  assert.equal(t.owner, undefined, 'the original task is not modified');
});
