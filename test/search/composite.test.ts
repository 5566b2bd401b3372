/**
 * Composite search parameters (code-value-quantity and the others of R4): a value within a code, a
 * component's value within the component's own code, and the index rebuilt after an upgrade.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Bundle } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { testApp } from '../helpers/app.js';
import type { Db } from '../../src/store/db.js';
import { reindexAll } from '../../src/store/reindex.js';
import { splitComposite, splitValues } from '../../src/fhir/search-request.js';

const LOINC = 'http://loinc.org';
const quantity = (id: string, code: string, value: number, unit = '%'): Record<string, unknown> => ({
  resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: LOINC, code }] },
  valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
});
const bloodPressure = (id: string, systolic: number, diastolic: number): Record<string, unknown> => ({
  resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: LOINC, code: '85354-9' }] },
  component: [
    { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: { value: systolic, unit: 'mm[Hg]' } },
    { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: { value: diastolic, unit: 'mm[Hg]' } },
  ],
});

describe('composite values are split on unescaped commas and dollars', () => {
  it('keeps escaped separators in their part', () => {
    assert.deepEqual(splitComposite('http://loinc.org|4548-4$gt9', 'p'), [['http://loinc.org|4548-4', 'gt9']]);
    assert.deepEqual(splitComposite('a|b$1,c|d$2', 'p'), [['a|b', '1'], ['c|d', '2']]);
    assert.deepEqual(splitComposite('a\\$b$x\\,y', 'p'), [['a$b', 'x,y']]);
    assert.deepEqual(splitValues('a\\,b,c\\$d'), ['a,b', 'c$d']);
    assert.throws(() => splitComposite('a$b$c', 'p'), /token\$value pairs/);
  });
});

for (const backend of backends()) {
  describe(`composite search parameters (${backend.name})`, () => {
    let app: FastifyInstance;
    let db: Db;
    let close: () => Promise<void>;
    before(async () => {
      const t = await testApp(backend);
      app = t.app;
      db = t.db;
      close = t.close;
      for (const r of [
        quantity('a1c-low', '4548-4', 7.2), quantity('a1c-high', '4548-4', 9.8), quantity('glucose', '2339-0', 110, 'mg/dL'),
        bloodPressure('bp-high', 150, 95), bloodPressure('bp-normal', 118, 76),
        { resourceType: 'Observation', id: 'smoking', status: 'final', code: { coding: [{ system: LOINC, code: '72166-2' }] }, valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '8517006' }] } },
        { resourceType: 'Observation', id: 'onset', status: 'final', code: { coding: [{ system: LOINC, code: '11368-8' }] }, valueDateTime: '2019-03-04' },
        { resourceType: 'Observation', id: 'note', status: 'final', code: { coding: [{ system: LOINC, code: '8251-1' }] }, valueString: 'Chest pain on exertion' },
      ]) {
        const res = await app.inject({ method: 'PUT', url: `/fhir/Observation/${r.id}`, payload: r });
        assert.ok(res.statusCode < 300, res.body);
      }
    });
    after(async () => close());

    const ids = async (url: string): Promise<string[]> => {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
      return ((r.json() as Bundle).entry ?? []).map((e) => e.resource?.id as string).sort();
    };
    const q = encodeURIComponent;

    it('finds a value within a code, with or without the code system, and OR-ed pairs', async () => {
      assert.deepEqual(await ids(`/fhir/Observation?code-value-quantity=${q(`${LOINC}|4548-4$gt9`)}`), ['a1c-high']);
      assert.deepEqual(await ids(`/fhir/Observation?code-value-quantity=${q('4548-4$gt9')}`), ['a1c-high']);
      assert.deepEqual(await ids(`/fhir/Observation?code-value-quantity=${q(`${LOINC}|4548-4$lt8,${LOINC}|2339-0$gt100`)}`), ['a1c-low', 'glucose']);
      // the value alone would match glucose (110 > 9): the pair is what counts
      assert.deepEqual(await ids(`/fhir/Observation?code-value-quantity=${q(`${LOINC}|4548-4$gt100`)}`), []);
    });

    it('pairs a component code with the same component value, not with another component', async () => {
      assert.deepEqual(await ids(`/fhir/Observation?component-code-value-quantity=${q(`${LOINC}|8480-6$gt140`)}`), ['bp-high']);
      // diastolic above 100: none, though bp-high has a component value of 150
      assert.deepEqual(await ids(`/fhir/Observation?component-code-value-quantity=${q(`${LOINC}|8462-4$gt100`)}`), []);
      assert.deepEqual(await ids(`/fhir/Observation?component-code-value-quantity=${q(`${LOINC}|8462-4$gt90`)}`), ['bp-high']);
      // combo: the observation's own code and value, or a component's
      assert.deepEqual(await ids(`/fhir/Observation?combo-code-value-quantity=${q(`${LOINC}|8480-6$gt100`)}`), ['bp-high', 'bp-normal']);
      assert.deepEqual(await ids(`/fhir/Observation?combo-code-value-quantity=${q(`${LOINC}|4548-4$gt9`)}`), ['a1c-high']);
    });

    it('answers concept, date and string values', async () => {
      assert.deepEqual(await ids(`/fhir/Observation?code-value-concept=${q(`${LOINC}|72166-2$http://snomed.info/sct|8517006`)}`), ['smoking']);
      assert.deepEqual(await ids(`/fhir/Observation?code-value-concept=${q(`${LOINC}|72166-2$http://snomed.info/sct|77176002`)}`), []);
      assert.deepEqual(await ids(`/fhir/Observation?code-value-date=${q(`${LOINC}|11368-8$ge2019-01-01`)}`), ['onset']);
      assert.deepEqual(await ids(`/fhir/Observation?code-value-date=${q(`${LOINC}|11368-8$lt2019-01-01`)}`), []);
      assert.deepEqual(await ids(`/fhir/Observation?code-value-string=${q(`${LOINC}|8251-1$chest`)}`), ['note']);
    });

    it('gives the same answer to code=X&value-quantity=Y through the composite rows', async () => {
      assert.deepEqual(await ids(`/fhir/Observation?code=${q(`${LOINC}|4548-4`)}&value-quantity=gt9`), ['a1c-high']);
      assert.deepEqual(await ids(`/fhir/Observation?code=4548-4&value-quantity=lt9`), ['a1c-low']);
      assert.deepEqual(await ids(`/fhir/Observation?code=${q(`${LOINC}|2339-0`)}&value-quantity=gt9`), ['glucose']);
    });

    it('rejects a malformed composite value with an OperationOutcome naming the parameter', async () => {
      for (const v of [`${LOINC}|4548-4`, `${LOINC}|$gt9`, `$gt9`]) {
        const r = await app.inject({ method: 'GET', url: `/fhir/Observation?code-value-quantity=${q(v)}` });
        assert.equal(r.statusCode, 400, v);
        const o = r.json() as { resourceType: string; issue: { expression?: string[] }[] };
        assert.equal(o.resourceType, 'OperationOutcome');
        assert.deepEqual(o.issue[0]?.expression, ['code-value-quantity']);
      }
    });

    it('until the index is rebuilt after an upgrade, refuses composites and still answers the rest; reindex restores them', async () => {
      // a database upgraded with resources already stored has no composite rows...
      await db.exec(`DELETE FROM sp_quantity WHERE code LIKE '%$%'; DELETE FROM sp_token WHERE code LIKE '%$%';
        DELETE FROM sp_date WHERE code LIKE '%$%'; DELETE FROM sp_string WHERE code LIKE '%$%'`);
      // (were it taken as complete, code=X&value-quantity=Y would lose its match: the search uses those rows)
      assert.deepEqual(await ids(`/fhir/Observation?code=${q(`${LOINC}|4548-4`)}&value-quantity=gt9`), []);
      // ...and migration 006 marks it incomplete
      await db.exec(`UPDATE search_index_state SET complete = false WHERE feature = 'composite'`);
      const refused = await app.inject({ method: 'GET', url: `/fhir/Observation?code-value-quantity=${q(`${LOINC}|4548-4$gt9`)}` });
      assert.equal(refused.statusCode, 503, refused.body);
      assert.match(refused.body, /custodian reindex/);
      // the plain parameters do not lean on the missing rows
      assert.deepEqual(await ids(`/fhir/Observation?code=${q(`${LOINC}|4548-4`)}&value-quantity=gt9`), ['a1c-high']);
      const r = await reindexAll(db, { batch: 3 });
      assert.equal(r.resources, 8);
      assert.deepEqual(await ids(`/fhir/Observation?code-value-quantity=${q(`${LOINC}|4548-4$gt9`)}`), ['a1c-high']);
      assert.deepEqual(await ids(`/fhir/Observation?component-code-value-quantity=${q(`${LOINC}|8462-4$gt90`)}`), ['bp-high']);
      assert.deepEqual(await ids(`/fhir/Observation?code=${q(`${LOINC}|4548-4`)}&value-quantity=gt9`), ['a1c-high']);
    });
  });
}
