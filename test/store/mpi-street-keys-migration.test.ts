/**
 * Migration 049: house numbers are compared without leading zeros since 7 Dec 2026, so the street
 * blocking keys an older version wrote ("00709 hooverprairie") no longer meet a query's key
 * ("709 hooverprairie"). The Patients holding such a key are keyed again by the next sync; a store
 * with none keeps its sync watermark. On both engines.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Patient } from '@medplum/fhirtypes';
import { backendsUpTo } from '../helpers/db.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';
import { writeResources } from '../../src/store/repository.js';
import { syncKeys } from '../../src/store/mpi-store.js';

const patient = (id: string, line: string): Patient => ({
  resourceType: 'Patient', id, name: [{ family: 'Klein', given: ['William'] }], birthDate: '1995-03-12', gender: 'female',
  address: [{ line: [line], city: 'East Dylan', state: 'PA', postalCode: '59332' }],
});

const write = (db: Db, patients: Patient[]) =>
  db.transaction((tx) => writeResources(tx, patients.map((p) => ({ resourceType: 'Patient', id: p.id!, method: 'PUT' as const, resource: p }))));

async function streetKeys(db: Db, id: string): Promise<string[]> {
  const r = await db.query<{ key: string }>(`SELECT key FROM mpi_key WHERE patient_id = $1 AND key LIKE '%hooverprairie' ORDER BY key`, [id]);
  return r.rows.map((row) => row.key.slice(row.key.lastIndexOf('\u0001') + 1));
}

const indexed = async (db: Db): Promise<string[]> => (await db.query<{ patient_id: string }>(`SELECT patient_id FROM mpi_indexed ORDER BY patient_id`)).rows.map((r) => r.patient_id);
const watermark = async (db: Db): Promise<boolean> => (await db.query(`SELECT 1 FROM mpi_model WHERE id = 'sync'`)).rows.length > 0;

for (const backend of backendsUpTo(48)) {
  describe(`migration 049: street keys without leading zeros (${backend.name})`, () => {
    it('keys again the Patients whose street key kept the zeros; the others keep theirs', async () => {
      const db = await backend.open();
      try {
        await write(db, [patient('zeros', '00709 Hoover Prairie'), patient('plain', '12 Hoover Prairie')]);
        assert.equal(await syncKeys(db), 2);
        // What an older version wrote for the first: the number as recorded.
        await db.query(`UPDATE mpi_key SET key = replace(key, '709 hooverprairie', '00709 hooverprairie') WHERE patient_id = 'zeros'`);
        assert.deepEqual(await streetKeys(db, 'zeros'), ['00709 hooverprairie']);
        assert.deepEqual(await migrate(db), ['049_mpi_street_keys.sql']);
        assert.deepEqual(await indexed(db), ['plain']);
        assert.equal(await watermark(db), false, 'the next sync looks at every Patient once');
        assert.equal(await syncKeys(db), 1, 'only the Patient with the old key');
        assert.deepEqual(await streetKeys(db, 'zeros'), ['709 hooverprairie']);
        assert.deepEqual(await streetKeys(db, 'plain'), ['12 hooverprairie']);
        assert.deepEqual(await indexed(db), ['plain', 'zeros']);
        assert.equal(await watermark(db), true);
      } finally {
        await db.close();
      }
    });

    it('leaves a store without such keys as it was, watermark included', async () => {
      const db = await backend.open();
      try {
        await write(db, [patient('plain', '12 Hoover Prairie'), { ...patient('zip', '12 Hoover Prairie'), address: [{ line: ['12 Hoover Prairie'], postalCode: '02301' }] }]);
        assert.equal(await syncKeys(db), 2);
        assert.deepEqual(await migrate(db), ['049_mpi_street_keys.sql']);
        assert.deepEqual(await indexed(db), ['plain', 'zip'], 'a postcode with a leading zero is not a house number');
        assert.equal(await watermark(db), true);
        assert.equal(await syncKeys(db), 0);
      } finally {
        await db.close();
      }
    });
  });
}
