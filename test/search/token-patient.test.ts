/**
 * Token rows filed under their resource's patient (migration 045, fhir/patient-key.ts): written by
 * every write, followed when a resource moves to another patient, not relied on in a store upgraded
 * with resources until `custodian reindex` has filed them, and filled by that reindex.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import type { Db } from '../../src/store/db.js';
import { writeResources } from '../../src/store/repository.js';
import { reindexAll } from '../../src/store/reindex.js';
import { parseSearchRequest } from '../../src/fhir/search-request.js';
import { searchIds } from '../../src/store/search-sql.js';
import { filedUnderPatient, patientKey } from '../../src/fhir/patient-key.js';

const LOINC = 'http://loinc.org';
const patient = (id: string, family: string): Resource => ({ resourceType: 'Patient', id, name: [{ family }] }) as Resource;
const height = (id: string, subject: string): Resource => ({
  resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: LOINC, code: '8302-2' }] }, subject: { reference: subject },
  identifier: [{ system: 'urn:lab', value: `${id}-acc` }], meta: { tag: [{ system: 'urn:source', code: 'synthetic' }] },
}) as Resource;

describe('the patient a type files its token rows under', () => {
  it('is the single patient of clinical types, and none where a resource can name several', () => {
    assert.deepEqual(patientKey('Observation'), { code: 'subject' });
    assert.deepEqual(patientKey('Claim'), { code: 'patient' });
    assert.deepEqual(patientKey('Coverage'), { code: 'patient' });
    assert.equal(patientKey('Provenance'), undefined, 'a Provenance names every Patient among its targets');
    assert.equal(patientKey('Patient'), undefined);
  });

  it('files the rows a search narrows by patient: codes and statuses, not tags, composites or identifiers', () => {
    for (const code of ['code', 'status', 'category', 'combo-code']) assert.equal(filedUnderPatient('Observation', code), true, code);
    for (const code of ['_tag', 'identifier', 'identifier:of-type', 'code-value-concept$http://loinc.org|72166-2']) assert.equal(filedUnderPatient('Observation', code), false, code);
    assert.equal(filedUnderPatient('Claim', 'identifier'), false);
  });
});

for (const backend of backends()) {
  describe(`token rows filed under their patient (${backend.name})`, () => {
    let db: Db;
    before(async () => {
      db = await backend.open();
      await db.transaction((tx) => writeResources(tx, [
        { resourceType: 'Patient', id: 'tp-rivera', method: 'PUT', resource: patient('tp-rivera', 'Rivera') },
        { resourceType: 'Patient', id: 'tp-chen', method: 'PUT', resource: patient('tp-chen', 'Chen') },
        { resourceType: 'Observation', id: 'tp-h1', method: 'PUT', resource: height('tp-h1', 'Patient/tp-rivera') },
        { resourceType: 'Observation', id: 'tp-h2', method: 'PUT', resource: height('tp-h2', 'Patient/tp-chen') },
        { resourceType: 'Observation', id: 'tp-h3', method: 'PUT', resource: height('tp-h3', 'Group/tp-cohort') },
      ]));
    });
    after(async () => db.close());

    const heightsOf = async (family: string): Promise<string[]> =>
      (await searchIds(db, parseSearchRequest('Observation', { 'subject:Patient.family': family, code: `${LOINC}|8302-2` }))).ids.sort();
    // the resource's code, category and status rows (not its identifier's nor its tag's)
    const filed = async (id: string): Promise<(string | null)[]> =>
      (await db.query<{ patient: string | null }>(`SELECT patient FROM sp_token WHERE resource_type = 'Observation' AND id = $1 AND code NOT IN ('identifier', '_tag')`, [id])).rows.map((r) => r.patient);

    it('files each token row of a resource under its patient, and none under a Group subject', async () => {
      const rows = await filed('tp-h1');
      assert.ok(rows.length >= 2, `code and status rows (${rows.length})`);
      assert.ok(rows.every((p) => p === 'tp-rivera'), JSON.stringify(rows));
      assert.ok((await filed('tp-h3')).every((p) => p === null));
      const unfiled = await db.query<{ code: string; patient: string | null }>(
        `SELECT code, patient FROM sp_token WHERE resource_type = 'Observation' AND id = 'tp-h1' AND code IN ('identifier', '_tag') ORDER BY code`);
      assert.deepEqual(unfiled.rows, [{ code: '_tag', patient: null }, { code: 'identifier', patient: null }]);
      assert.deepEqual(await heightsOf('rivera'), ['tp-h1']);
    });

    it('follows a resource moved to another patient', async () => {
      await db.transaction((tx) => writeResources(tx, [{ resourceType: 'Observation', id: 'tp-h1', method: 'PUT', resource: height('tp-h1', 'Patient/tp-chen') }]));
      assert.ok((await filed('tp-h1')).every((p) => p === 'tp-chen'));
      assert.deepEqual(await heightsOf('rivera'), []);
      assert.deepEqual(await heightsOf('chen'), ['tp-h1', 'tp-h2']);
    });

    it('is not relied on until a reindex has filed the rows of an upgraded store, and reindex files them', async () => {
      // a store upgraded with resources: its rows have no patient, and migration 045 marks it so
      await db.exec(`UPDATE sp_token SET patient = NULL; UPDATE search_index_state SET complete = false WHERE feature = 'token-patient'`);
      assert.deepEqual(await heightsOf('chen'), ['tp-h1', 'tp-h2'], 'found without the patient on the rows');
      await reindexAll(db);
      assert.ok((await filed('tp-h2')).every((p) => p === 'tp-chen'));
      const state = await db.query<{ complete: boolean }>(`SELECT complete FROM search_index_state WHERE feature = 'token-patient'`);
      assert.equal(state.rows[0]?.complete, true);
      assert.deepEqual(await heightsOf('chen'), ['tp-h1', 'tp-h2']);
    });
  });
}
