import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import Fastify from 'fastify';
import { registerTerminologyRoutes } from '../../src/server/terminology-routes.js';
import { shippedTerminology } from '../../src/store/terminology-files.js';
import { terminologyWarnings } from '../../src/terminology/warnings.js';

const t = shippedTerminology();
const app = Fastify();
await registerTerminologyRoutes(app, { terminology: () => t });
after(() => app.close());

const param = (body: { parameter: { name: string; valueBoolean?: boolean; valueString?: string }[] }, name: string) => body.parameter.find((p) => p.name === name);

test('CodeSystem/$lookup returns display, billable and parents', async () => {
  const r = await app.inject({ url: '/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=E11.9&date=2022-01-01' });
  assert.equal(r.statusCode, 200);
  const b = r.json();
  assert.equal(param(b, 'display')!.valueString, 'Type 2 diabetes mellitus without complications');
  const billable = b.parameter.find((p: { name: string; part?: { valueCode?: string }[] }) => p.name === 'property' && p.part?.[0]?.valueCode === 'billable');
  assert.equal(billable.part[1].valueBoolean, true);
  const missing = await app.inject({ url: '/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=E11.99X' });
  assert.equal(missing.statusCode, 404);
});

test('$validate-code: billable true, header false with a message, POST Parameters', async () => {
  const ok = (await app.inject({ url: '/fhir/CodeSystem/$validate-code?url=http://hl7.org/fhir/sid/icd-10-cm&code=E11.22' })).json();
  assert.equal(param(ok, 'result')!.valueBoolean, true);
  const hdr = (await app.inject({ url: '/fhir/ValueSet/$validate-code?url=http://hl7.org/fhir/sid/icd-10-cm?fhir_vs&code=E11' })).json();
  assert.equal(param(hdr, 'result')!.valueBoolean, false);
  assert.match(param(hdr, 'message')!.valueString!, /header/);
  const post = await app.inject({ method: 'POST', url: '/fhir/CodeSystem/$validate-code', payload: { resourceType: 'Parameters', parameter: [{ name: 'url', valueUri: 'http://www.cms.gov/Medicare/Coding/ICD10' }, { name: 'code', valueCode: '0DTJ4ZZ' }] } });
  assert.equal(param(post.json(), 'result')!.valueBoolean, true);
});

test('FHIR base value sets: $validate-code and $expand', async () => {
  const url = 'http://hl7.org/fhir/ValueSet/administrative-gender';
  const ok = (await app.inject({ url: `/fhir/ValueSet/$validate-code?url=${encodeURIComponent(url)}&code=female&system=http://hl7.org/fhir/administrative-gender` })).json();
  assert.equal(param(ok, 'result')!.valueBoolean, true);
  const bad = (await app.inject({ url: `/fhir/ValueSet/$validate-code?url=${encodeURIComponent(url)}&code=robot` })).json();
  assert.equal(param(bad, 'result')!.valueBoolean, false);
  const exp = (await app.inject({ url: `/fhir/ValueSet/$expand?url=${encodeURIComponent(url)}` })).json();
  assert.deepEqual(exp.expansion.contains.map((c: { code: string }) => c.code).sort(), ['female', 'male', 'other', 'unknown']);
});

test('ValueSet/$expand with filter uses the encoder', async () => {
  const r = (await app.inject({ url: '/fhir/ValueSet/$expand?url=' + encodeURIComponent('http://hl7.org/fhir/sid/icd-10-cm?fhir_vs') + '&filter=type%202%20diabetes%20chronic%20kidney&count=5' })).json();
  assert.equal(r.resourceType, 'ValueSet');
  assert.ok(r.expansion.contains.slice(0, 3).some((c: { code: string }) => c.code === 'E11.22'));
});

test('encoder API: words in any order, a typo, billable only', async () => {
  for (const q of ['type 2 diabetes chronic kidney disease', 'chronic kidney disease type 2 diabetes', 'diabetis type 2 chronic kidny', 't2dm ckd']) {
    const r = (await app.inject({ url: `/api/terminology/search?q=${encodeURIComponent(q)}&system=icd-10-cm&billable=true` })).json();
    assert.ok(r.hits.slice(0, 3).some((h: { code: string }) => h.code === 'E11.22'), q);
    assert.ok(r.hits.every((h: { billable: boolean }) => h.billable));
  }
  const hip = (await app.inject({ url: '/api/terminology/search?q=fx%20neck%20femur%20right' })).json();
  assert.ok(hip.hits[0].code.startsWith('S72.0'));
  assert.ok(hip.hits[0].path.some((p: { code: string }) => p.code === 'S72'));
});

test('encoder searches index terms: External Cause Index, Table of Drugs, Neoplasm Table', async () => {
  const q = async (text: string) => (await app.inject({ url: `/api/terminology/search?q=${encodeURIComponent(text)}&billable=true` })).json().hits;
  assert.equal((await q('fall from ladder'))[0].code, 'W11.XXXA');
  const drug = await q('acetaminophen poisoning accidental');
  assert.equal(drug[0].code, 'T39.1X1A');
  assert.ok(drug[0].matchedTerm, 'the hit says it came through an index term');
  assert.equal((await q('malignant neoplasm breast secondary'))[0].code, 'C79.81');
});

test('edits API returns failed edits for an encounter', async () => {
  const r = await app.inject({ method: 'POST', url: '/api/terminology/edits', payload: { dateOfService: '2022-03-01', setting: 'outpatient', age: 50, sex: 'male', diagnoses: [{ code: 'E11.9' }, { code: 'E10.9' }] } });
  assert.equal(r.statusCode, 200);
  assert.equal(r.json().failed, 1);
});

test('terminologyWarnings flags unknown and header codes on write, not other systems', () => {
  const lookup = t.lookup.bind(t);
  const cond = { resourceType: 'Condition', recordedDate: '2022-02-01', code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E11' }, { system: 'http://snomed.info/sct', code: '44054006' }] } };
  const w = terminologyWarnings(cond, lookup);
  assert.equal(w.length, 1);
  assert.equal(w[0]!.severity, 'warning');
  assert.deepEqual(w[0]!.expression, ['Condition.code.coding[0]']);
  const claim = { resourceType: 'Claim', created: '2022-02-01', diagnosis: [{ diagnosisCodeableConcept: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'ZZZ.9' }] } }], item: [{ productOrService: { coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'A0021' }] } }] };
  const cw = terminologyWarnings(claim, lookup);
  assert.equal(cw.length, 1);
  assert.match(cw[0]!.diagnostics!, /ZZZ9|ZZZ\.9/);
  assert.deepEqual(terminologyWarnings({ resourceType: 'Condition', recordedDate: '2022-02-01', code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'E11.9' }] } }, lookup), []);
});

test('a bare condition ranks its unspecified code near the top', async () => {
  for (const [q, code] of [['pneumonia', 'J18.9'], ['sepsis', 'A41.9'], ['anemia', 'D64.9'], ['uti', 'N39.0']] as const) {
    const hits = (await app.inject({ url: `/api/terminology/search?q=${q}&billable=true` })).json().hits;
    assert.ok(hits.slice(0, 3).some((h: { code: string }) => h.code === code), `${q} -> ${code}`);
  }
});
