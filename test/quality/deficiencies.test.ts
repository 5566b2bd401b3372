import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource, Task } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { writeResources } from '../../src/store/repository.js';
import { deficiencyReport, loadDeficiencyTasks, syncDeficiencies } from '../../src/store/check-store.js';

const put = (rs: Resource[]) => rs.map((r) => ({ resourceType: r.resourceType, id: r.id!, method: 'PUT' as const, resource: r }));
const enc = (id: string, start: string, end: string, doctor: string): Resource => ({
  resourceType: 'Encounter', id, status: 'finished', class: { code: 'IMP' }, subject: { reference: 'Patient/p1' },
  participant: [{ individual: { reference: `Practitioner/${doctor}` } }], period: { start, end },
});
const doc = (id: string, encounter: string, loinc: string, date: string, signedBy?: string): Resource => ({
  resourceType: 'DocumentReference', id, status: 'current', docStatus: signedBy ? 'final' : 'preliminary', date,
  type: { coding: [{ system: 'http://loinc.org', code: loinc }] }, subject: { reference: 'Patient/p1' },
  author: [{ reference: 'Practitioner/drA' }], ...(signedBy ? { authenticator: { reference: `Practitioner/${signedBy}` } } : {}),
  context: { encounter: [{ reference: `Encounter/${encounter}` }] }, content: [{ attachment: { contentType: 'text/plain', data: 'eA==' } }],
});
const dx = (id: string, encounter: string): Resource => ({ resourceType: 'Condition', id, subject: { reference: 'Patient/p1' }, encounter: { reference: `Encounter/${encounter}` }, code: { coding: [{ system: 'http://snomed.info/sct', code: '233604007' }] } });

const NOW = new Date('2024-06-30T12:00:00Z');

for (const backend of backends()) {
  describe(`chart deficiencies (${backend.name})`, () => {
    it('open as Tasks for the responsible practitioner, close when documents are added and signed, and give the delinquency rate', async () => {
      const db = await backend.open();
      try {
        await db.transaction((tx) => writeResources(tx, put([
          { resourceType: 'Patient', id: 'p1' } as Resource,
          // e1: discharged 2024-05-01 (60 days ago): nothing documented -> delinquent (drA)
          enc('e1', '2024-04-28T08:00:00Z', '2024-05-01T10:00:00Z', 'drA'),
          // e2: discharged 2024-06-20 (10 days ago): H&P late, diagnosis present, no discharge summary -> deficient, not delinquent
          enc('e2', '2024-06-15T08:00:00Z', '2024-06-20T10:00:00Z', 'drB'), dx('c2', 'e2'), doc('hp2', 'e2', '34117-2', '2024-06-17T08:00:00Z', 'drB'),
          // e3: discharged 2024-04-10: complete except one unsigned progress note by drA -> delinquent
          enc('e3', '2024-04-05T08:00:00Z', '2024-04-10T10:00:00Z', 'drC'), dx('c3', 'e3'), doc('hp3', 'e3', '34117-2', '2024-04-05T12:00:00Z', 'drC'),
          doc('ds3', 'e3', '18842-5', '2024-04-11T08:00:00Z', 'drC'), doc('pn3', 'e3', '11506-3', '2024-04-06T08:00:00Z'),
          // e4, e5: complete records discharged in the window
          enc('e4', '2024-05-05T08:00:00Z', '2024-05-08T10:00:00Z', 'drB'), dx('c4', 'e4'), doc('hp4', 'e4', '34117-2', '2024-05-05T09:00:00Z', 'drB'), doc('ds4', 'e4', '18842-5', '2024-05-08T12:00:00Z', 'drB'),
          enc('e5', '2024-06-01T08:00:00Z', '2024-06-02T10:00:00Z', 'drB'), dx('c5', 'e5'), doc('hp5', 'e5', '34117-2', '2024-06-01T09:00:00Z', 'drB'), doc('ds5', 'e5', '18842-5', '2024-06-02T12:00:00Z', 'drB'),
        ])));
        const first = await syncDeficiencies(db, { now: NOW });
        const tasks = await loadDeficiencyTasks(db);
        const summary = tasks.map((t) => `${t.code!.coding![1]!.code} ${t.focus!.reference} ${t.owner?.reference ?? ''}`).sort();
        assert.deepEqual(summary, [
          'discharge-summary Encounter/e1 Practitioner/drA',
          'discharge-summary Encounter/e2 Practitioner/drB',
          'history-physical Encounter/e1 Practitioner/drA',
          'history-physical Encounter/e2 Practitioner/drB',
          'missing-diagnosis Encounter/e1 Practitioner/drA',
          'unsigned-note DocumentReference/pn3 Practitioner/drA',
        ]);
        assert.equal(first.opened, 6);
        const ds = tasks.find((t) => t.focus!.reference === 'Encounter/e2' && t.code!.coding![1]!.code === 'discharge-summary') as Task;
        assert.equal(ds.for!.reference, 'Patient/p1');
        assert.equal(ds.restriction!.period!.end, '2024-06-23T10:00:00.000Z'); // 72 hours after discharge
        assert.match(ds.note![0]!.text!, /482\.24\(c\)\(4\)\(viii\)/);
        assert.equal(ds.code!.coding![0]!.system, 'http://custodian.dev/fhir/CodeSystem/work-type');

        // Hand computation: discharges in the 3 months before 2024-06-30 = e1, e2, e3, e4, e5 = 5 -> average 5/3 = 1.67 a month.
        // Delinquent records (deficient > 30 days after discharge): e1 (since 2024-05-31), e3 (since 2024-05-10) = 2 -> 2 / 1.667 = 120%.
        const rep = await deficiencyReport(db, { now: NOW, months: 3 });
        assert.equal(rep.discharges, 5);
        assert.equal(rep.delinquentRecords, 2);
        assert.equal(rep.rate, 120);
        assert.equal(rep.exceedsThreshold, true);
        assert.deepEqual(rep.records.map((r) => [r.record, r.daysDelinquent]), [['Encounter/e3', 51], ['Encounter/e1', 30]]);
        assert.deepEqual(rep.suspensionList.map((p) => [p.practitioner, p.delinquentRecords, p.openDeficiencies]), [['Practitioner/drA', 2, 4]]);

        // drB writes the discharge summary for e2 and signs it; drA signs the progress note on e3.
        await db.transaction((tx) => writeResources(tx, put([doc('ds2', 'e2', '18842-5', '2024-06-21T08:00:00Z', 'drB'), doc('pn3', 'e3', '11506-3', '2024-04-06T08:00:00Z', 'drA')])));
        const second = await syncDeficiencies(db, { now: NOW });
        assert.deepEqual([second.opened, second.closed], [0, 2]);
        const after = await loadDeficiencyTasks(db);
        assert.equal(after.filter((t) => t.status === 'completed').length, 2);
        assert.equal(after.find((t) => t.focus!.reference === 'DocumentReference/pn3')!.status, 'completed');
        const rep2 = await deficiencyReport(db, { now: NOW, months: 3 });
        assert.equal(rep2.delinquentRecords, 1);
        assert.equal(rep2.rate, 60);
        // A third sync changes nothing.
        assert.deepEqual(await syncDeficiencies(db, { now: NOW }), { found: 4, opened: 0, closed: 0 });
      } finally {
        await db.close();
      }
    });
  });
}
