import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { buildIndexRows, type IndexRows } from '../../src/fhir/index-values.js';
import { patientCompartments } from '../../src/fhir/compartments.js';
import { compositeParamsFor, searchParam } from '../../src/fhir/search-parameters.js';
import { FIXTURES, readJsonFile } from '../helpers/fixtures.js';

// The index rows of every official R4 example, as buildIndexRows gave them when this test was written
// (regenerate after an intended change: UPDATE_INDEX_GOLDEN=1 node --import tsx --test test/fhir/index-values.test.ts).
const GOLDEN = path.join(FIXTURES, 'index-rows-r4-examples.ndjson.gz');

const bundle = readJsonFile<Bundle>(path.join(FIXTURES, 'synthea/Roma_Funk_334180cf-0889-4329-a607-679f0ffa9c46.json.gz'));
const resources = (bundle.entry ?? []).map((e) => e.resource as Resource);
const byId = (id: string): Resource => structuredClone(resources.find((r) => r.id === id) as Resource);
/** The references as the import stores them (urn:uuid fullUrls rewritten to Type/id). */
const rewritten = <T>(r: T): T => JSON.parse(JSON.stringify(r).replace(/urn:uuid:([0-9a-f-]{36})/g, (_, id: string) => {
  const target = resources.find((x) => x.id === id);
  return target ? `${target.resourceType}/${id}` : `urn:uuid:${id}`;
})) as T;

const rowsOf = <K extends keyof IndexRows>(rows: IndexRows, table: K, code: string): IndexRows[K] =>
  (rows[table] as { code: string }[]).filter((r) => r.code === code) as IndexRows[K];

describe('buildIndexRows', () => {
  it('indexes a blood pressure Observation by its components, their values and the composite pairs', () => {
    const rows = buildIndexRows(byId('8fe490f1-a513-442f-a67e-3243ad3ce6a5'));
    assert.deepEqual(rowsOf(rows, 'token', 'component-code'), [
      // each concept's text is its coding's display: carried by the coding's row, no row of its own
      { code: 'component-code', system: 'http://loinc.org', value: '8462-4', text: 'Diastolic Blood Pressure' },
      { code: 'component-code', system: 'http://loinc.org', value: '8480-6', text: 'Systolic Blood Pressure' },
    ]);
    const mmHg = { system: 'http://unitsofmeasure.org', unit: 'mm[Hg]' };
    assert.deepEqual(rowsOf(rows, 'quantity', 'component-value-quantity'), [
      { code: 'component-value-quantity', value: 86.40646361846112, ...mmHg },
      { code: 'component-value-quantity', value: 111.18614555024764, ...mmHg },
    ]);
    assert.deepEqual(rowsOf(rows, 'quantity', 'component-code-value-quantity$http://loinc.org|8480-6'), [
      { code: 'component-code-value-quantity$http://loinc.org|8480-6', value: 111.18614555024764, ...mmHg },
    ]);
    // the Observation has no value of its own: no value-quantity row, no code-value-quantity pair
    assert.deepEqual(rowsOf(rows, 'quantity', 'value-quantity'), []);
    assert.equal(rows.quantity.filter((q) => q.code.startsWith('code-value-quantity$')).length, 0);
    // effectiveDateTime at second precision, with an offset
    assert.deepEqual(rowsOf(rows, 'date', 'date'), [{ code: 'date', lo: '2012-02-19T16:05:17.000Z', hi: '2012-02-19T16:05:17.999Z' }]);
    assert.deepEqual(rows.token.filter((t) => t.code === 'status' || t.code === 'category').map((t) => t.value), ['vital-signs', 'final']);
  });

  it('stores the combo parameters as the rows of the parameters they unite, once', () => {
    const bp = buildIndexRows(rewritten(byId('8fe490f1-a513-442f-a67e-3243ad3ce6a5')));
    const all = [...bp.token, ...bp.quantity, ...bp.reference].map((r) => r.code);
    assert.deepEqual(all.filter((c) => c.startsWith('combo-') || c === 'patient'), []);
    // what they read instead, found from the definitions' expressions
    assert.deepEqual(searchParam('Observation', 'combo-code')?.storedAs, { codes: ['code', 'component-code'] });
    assert.deepEqual(searchParam('Observation', 'combo-value-quantity')?.storedAs, { codes: ['component-value-quantity', 'value-quantity'] });
    assert.equal(searchParam('Observation', 'combo-code')?.uniqueRows, false);
    assert.deepEqual(compositeParamsFor('Observation').get('combo-code-value-quantity')?.parts?.map((c) => c.code), ['code-value-quantity', 'component-code-value-quantity']);
    // a parameter of its own stays as it is
    assert.equal(searchParam('Observation', 'code')?.storedAs, undefined);
    assert.equal(searchParam('Claim', 'patient')?.storedAs, undefined);
    // the rows the unions read are there: the panel's code and both components' codes and values
    const codes = (code: string): (string | null)[] => bp.token.filter((t) => t.code === code && t.system === 'http://loinc.org').map((t) => t.value);
    assert.deepEqual(codes('code'), ['55284-4']);
    assert.deepEqual(codes('component-code').sort(), ['8462-4', '8480-6']);
    assert.equal(bp.quantity.filter((q) => q.code === 'component-value-quantity').length, 2);
  });

  it('indexes a reference by its target type and id, and patient only when it names a Patient', () => {
    const raw = byId('8fe490f1-a513-442f-a67e-3243ad3ce6a5');
    const before = buildIndexRows(raw);
    assert.deepEqual(rowsOf(before, 'reference', 'subject'), [{ code: 'subject', targetType: null, targetId: null, url: 'urn:uuid:0cd536b8-674b-4bae-b0b0-181400ffc022' }]);
    assert.deepEqual(rowsOf(before, 'reference', 'patient'), []);
    assert.deepEqual(patientCompartments(raw, before.reference), []);

    const stored = rewritten(raw);
    const rows = buildIndexRows(stored);
    const patient = { targetType: 'Patient', targetId: '0cd536b8-674b-4bae-b0b0-181400ffc022', url: 'Patient/0cd536b8-674b-4bae-b0b0-181400ffc022' };
    assert.deepEqual(rowsOf(rows, 'reference', 'subject'), [{ code: 'subject', ...patient }]);
    // patient is the subject where it is a Patient: stored once, as the subject row (storage-aliases.ts)
    assert.deepEqual(rowsOf(rows, 'reference', 'patient'), []);
    assert.deepEqual(searchParam('Observation', 'patient')?.storedAs, { codes: ['subject'], targetType: 'Patient' });
    assert.deepEqual(rowsOf(rows, 'reference', 'encounter'), [
      { code: 'encounter', targetType: 'Encounter', targetId: 'ae94ed8d-428f-4f73-aa57-0cca34288132', url: 'Encounter/ae94ed8d-428f-4f73-aa57-0cca34288132' },
    ]);
    assert.deepEqual(patientCompartments(stored, rows.reference), ['0cd536b8-674b-4bae-b0b0-181400ffc022']);
    // a reference to another type places the Observation in no Patient's compartment
    const group = buildIndexRows({ ...stored, subject: { reference: 'Group/g1' } } as Resource);
    assert.deepEqual(rowsOf(group, 'reference', 'subject'), [{ code: 'subject', targetType: 'Group', targetId: 'g1', url: 'Group/g1' }]);
    assert.deepEqual(patientCompartments(stored, group.reference), []);
  });

  it('indexes an Encounter period as the instants from its start to the end of its end', () => {
    const enc = rewritten(byId('ae94ed8d-428f-4f73-aa57-0cca34288132'));
    const rows = buildIndexRows(enc);
    assert.deepEqual(rowsOf(rows, 'date', 'date'), [{ code: 'date', lo: '2012-02-19T16:05:17.000Z', hi: '2012-02-19T16:35:17.999Z' }]);
    assert.deepEqual(rowsOf(rows, 'token', 'class'), [{ code: 'class', system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', value: 'AMB', text: null }]);
    assert.deepEqual(rowsOf(rows, 'reference', 'participant').map((r) => r.targetType), ['Practitioner']);
    // practitioner is the participant where it is a Practitioner: no rows of its own
    assert.deepEqual(rowsOf(rows, 'reference', 'practitioner'), []);
    // an open period: from its start to infinity; a period at day precision spans the whole day
    const open = buildIndexRows({ ...enc, period: { start: '2012-02-19' } } as Resource);
    assert.deepEqual(rowsOf(open, 'date', 'date'), [{ code: 'date', lo: '2012-02-19T00:00:00.000Z', hi: 'infinity' }]);
    const ended = buildIndexRows({ ...enc, period: { end: '2012-02' } } as Resource);
    assert.deepEqual(rowsOf(ended, 'date', 'date'), [{ code: 'date', lo: '-infinity', hi: '2012-02-29T23:59:59.999Z' }]);
  });

  it('indexes a Patient by name parts, birth date, gender, phone and identifier type', () => {
    const p = byId('0cd536b8-674b-4bae-b0b0-181400ffc022') as Resource & { birthDate?: string };
    const rows = buildIndexRows(p);
    assert.deepEqual(rowsOf(rows, 'string', 'family'), [{ code: 'family', value: 'Funk' }]);
    assert.deepEqual(rowsOf(rows, 'string', 'given').map((r) => r.value), ['Roma']);
    assert.ok(rowsOf(rows, 'string', 'name').some((r) => r.value === 'Funk'));
    assert.deepEqual(rowsOf(rows, 'date', 'birthdate'), [{ code: 'birthdate', lo: `${p.birthDate}T00:00:00.000Z`, hi: `${p.birthDate}T23:59:59.999Z` }]);
    assert.deepEqual(rowsOf(rows, 'token', 'gender').map((r) => r.value), ['female']);
    assert.equal(rowsOf(rows, 'token', 'phone').length, 1);
    assert.ok(rowsOf(rows, 'token', 'identifier:of-type').some((r) => r.system === 'http://terminology.hl7.org/CodeSystem/v2-0203|MR'));
    assert.deepEqual(patientCompartments(p, rows.reference), ['0cd536b8-674b-4bae-b0b0-181400ffc022']);
    // a primitive extension on the birth date (R4's patient-birthTime) leaves the row as it is
    const withTime = buildIndexRows({ ...p, _birthDate: { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: `${p.birthDate}T14:35:45-05:00` }] } } as unknown as Resource);
    assert.deepEqual(rowsOf(withTime, 'date', 'birthdate'), rowsOf(rows, 'date', 'birthdate'));
    // an absent value gives no row
    assert.deepEqual(rowsOf(buildIndexRows({ ...p, birthDate: undefined } as Resource), 'date', 'birthdate'), []);
  });

  it('keeps a row for a concept text that no coding row carries, and none for one that repeats a display', () => {
    const obs = byId('8fe490f1-a513-442f-a67e-3243ad3ce6a5') as Resource & { code: { coding: { system: string; code: string; display?: string }[]; text?: string } };
    const coding = obs.code.coding[0] as { system: string; code: string; display?: string };
    const codeRows = (code: Record<string, unknown>) => rowsOf(buildIndexRows({ ...obs, code } as Resource), 'token', 'code');
    // the text says more than the display: both are searchable, the text from a row of its own
    assert.deepEqual(codeRows({ coding: [coding], text: 'BP taken sitting' }), [
      { code: 'code', system: coding.system, value: coding.code, text: coding.display },
      { code: 'code', system: null, value: null, text: 'BP taken sitting' },
    ]);
    // a coding without a display carries the concept's text itself
    assert.deepEqual(codeRows({ coding: [{ system: coding.system, code: coding.code }], text: 'BP taken sitting' }), [
      { code: 'code', system: coding.system, value: coding.code, text: 'BP taken sitting' },
    ]);
    // the text repeats the second coding's display: no extra row
    assert.deepEqual(codeRows({ coding: [{ ...coding, display: 'Other' }, coding], text: coding.display }).filter((r) => r.value === null), []);
    // text alone: its row is the only one, so :missing and :text still see the concept
    assert.deepEqual(codeRows({ text: 'Blood pressure, no code' }), [{ code: 'code', system: null, value: null, text: 'Blood pressure, no code' }]);
  });

  it('gives the rows it gave for every official R4 example', () => {
    const lines = gunzipSync(readFileSync(path.join(FIXTURES, 'r4-examples-4.0.1.ndjson.gz'))).toString('utf8').trim().split('\n');
    const actual = lines.map((line) => {
      const { file, resource } = JSON.parse(line) as { file: string; resource: Resource };
      const rows = buildIndexRows(resource);
      return JSON.stringify({ file, rows, compartments: patientCompartments(resource, rows.reference) });
    });
    if (process.env.UPDATE_INDEX_GOLDEN === '1') writeFileSync(GOLDEN, gzipSync(`${actual.join('\n')}\n`, { level: 9 }));
    const expected = gunzipSync(readFileSync(GOLDEN)).toString('utf8').trim().split('\n');
    assert.equal(actual.length, expected.length);
    assert.ok(expected.length >= 700);
    for (let i = 0; i < expected.length; i++) assert.equal(actual[i], expected[i]);
  });
});
