import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Patient, Task } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { writeResources, readCurrent } from '../../src/store/repository.js';
import { runDuplicateDetection } from '../../src/store/mpi-store.js';
import { detectOverlay } from '../../src/mpi/overlay.js';

const v = (given: string, family: string, birthDate: string, gender: Patient['gender']): Patient => ({ resourceType: 'Patient', name: [{ given: [given], family }], birthDate, gender });

describe('overlay detection', () => {
  it('flags a name change together with a birth date or sex change, not a name change alone', () => {
    assert.deepEqual(detectOverlay([[1, v('Jane', 'Roe', '1980-01-01', 'female')], [2, v('John', 'Smith', '1955-05-05', 'male')]])?.changed, ['name', 'birthDate', 'gender']);
    assert.equal(detectOverlay([[1, v('Jane', 'Roe', '1980-01-01', 'female')], [2, v('Jane', 'Smith', '1980-01-01', 'female')]]), undefined, 'a marriage is not an overlay');
    assert.equal(detectOverlay([[1, v('Jane', 'Roe', '1980-01-01', 'female')], [2, v('Jane', 'Roe', '1980-01-10', 'female')]]), undefined, 'a corrected birth date is not an overlay');
  });
});

for (const backend of backends()) {
  describe(`mpi run flags overlays (${backend.name})`, () => {
    it('raises one possible-overlay Task for a record whose history looks like two people', async () => {
      const db = await backend.open();
      try {
        const put = (id: string, p: Patient): Promise<unknown> => db.transaction((tx) => writeResources(tx, [{ resourceType: 'Patient', id, method: 'PUT', resource: { ...p, id } }]));
        await put('x', v('Jane', 'Roe', '1980-01-01', 'female'));
        await put('x', v('John', 'Smith', '1955-05-05', 'male'));
        await put('y', v('Ann', 'Lee', '1970-02-02', 'female'));
        await put('y', v('Ann', 'Park', '1970-02-02', 'female'));
        const s = await runDuplicateDetection(db);
        assert.equal(s.overlaysFlagged, 1);
        const tasks = await db.query<{ id: string }>(`SELECT id FROM resource WHERE resource_type = 'Task'`);
        assert.equal(tasks.rows.length, 1);
        const task = (await readCurrent(db, 'Task', tasks.rows[0]!.id))!.resource as Task;
        assert.equal(task.code?.coding?.[0]?.code, 'possible-overlay');
        assert.equal(task.for?.reference, 'Patient/x');
        assert.match(task.input![0]!.valueString!, /name, birthDate, gender changed between versions 1 and 2/);
        assert.equal((await runDuplicateDetection(db)).overlaysFlagged, 0, 'flagged once');
      } finally {
        await db.close();
      }
    });
  });
}
