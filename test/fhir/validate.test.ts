import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { validateResource } from '../../src/fhir/validate.js';
import { FIXTURES } from '../helpers/fixtures.js';

/** Official R4 examples we believe are invalid R4, with the reason. */
const KNOWN_INVALID: Record<string, string> = {
  // Questionnaire.item.linkId is 1..1; the nested items of this example (item.item) have none.
  'Questionnaire-qs1.json': 'Questionnaire.item.item.linkId',
};

describe('validation against the base R4 definitions', () => {
  it('accepts every official R4 example that is valid R4, and names the invalid ones', () => {
    const lines = gunzipSync(readFileSync(path.join(FIXTURES, 'r4-examples-4.0.1.ndjson.gz'))).toString('utf8').trim().split('\n');
    assert.ok(lines.length >= 700, `expected the 709 examples, got ${lines.length}`);
    const unexpected: string[] = [];
    for (const line of lines) {
      const { file, resource } = JSON.parse(line) as { file: string; resource: unknown };
      const { errors } = validateResource(resource);
      if (KNOWN_INVALID[file]) {
        assert.ok(errors.some((e) => e.expression?.some((x) => x.replace(/\[\d+\]/g, '') === KNOWN_INVALID[file])), `${file} should fail on ${KNOWN_INVALID[file]}`);
      } else if (errors.length) {
        unexpected.push(`${file}: ${errors.map((e) => `${e.expression?.[0]} ${e.details?.text}`).join('; ')}`);
      }
    }
    assert.deepEqual(unexpected, []);
  });

  it('rejects unknown elements, wrong types, broken cardinality and bad formats with the element path', () => {
    const cases: [unknown, string][] = [
      [{ resourceType: 'Patient', foo: 1 }, 'Patient.foo'],
      [{ resourceType: 'Patient', active: 'yes' }, 'Patient.active'],
      [{ resourceType: 'Patient', name: [{ given: 'Ann' }] }, 'Patient.name.given'],
      [{ resourceType: 'Patient', birthDate: '2020-13-45' }, 'Patient.birthDate'],
      [{ resourceType: 'Observation', code: { text: 'x' } }, 'Observation.status'],
      [{ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 'high' } }, 'Observation.value'],
    ];
    for (const [resource, pathExpected] of cases) {
      const { errors } = validateResource(resource);
      assert.ok(errors.length > 0, `${JSON.stringify(resource)} should be invalid`);
      assert.ok(errors.some((e) => e.expression?.some((x) => x.startsWith(pathExpected))), `${JSON.stringify(errors)} should name ${pathExpected}`);
    }
  });

  it('checks required bindings, which the structural validator skips', () => {
    const { errors } = validateResource({ resourceType: 'Patient', gender: 'robot' });
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, 'code-invalid');
    assert.deepEqual(errors[0]?.expression, ['Patient.gender']);
    assert.deepEqual(validateResource({ resourceType: 'Patient', gender: 'female' }).errors, []);
    const obs = validateResource({ resourceType: 'Observation', status: 'done', code: { text: 'x' } });
    assert.ok(obs.errors.some((e) => e.expression?.[0] === 'Observation.status'));
  });

  it('evaluates datatype-root invariants such as per-1: a warning by default, an error when strict', () => {
    const enc = { resourceType: 'Encounter', status: 'finished', class: { code: 'IMP' }, period: { start: '2020-02-01T10:00:00Z', end: '2020-01-01T10:00:00Z' } };
    const lax = validateResource(enc);
    assert.deepEqual(lax.errors, []);
    assert.equal(lax.warnings.length, 1);
    assert.match(lax.warnings[0]?.details?.text ?? '', /per-1/);
    assert.deepEqual(lax.warnings[0]?.expression, ['Encounter.period']);
    const strict = validateResource(enc, { strict: true });
    assert.equal(strict.errors.length, 1);
    assert.match(strict.errors[0]?.details?.text ?? '', /per-1/);
    const ok = validateResource({ ...enc, period: { start: '2020-01-01T10:00:00Z', end: '2020-01-02T10:00:00Z' } });
    assert.deepEqual(ok.warnings, []);
  });

  it('finds invariants inside backbone elements and nested datatypes', () => {
    const claim = {
      resourceType: 'Coverage', status: 'active', beneficiary: { reference: 'Patient/1' }, payor: [{ reference: 'Organization/1' }],
      period: { start: '2021-05-01', end: '2021-01-01' },
    };
    const r = validateResource(claim);
    assert.ok(r.warnings.some((w) => w.expression?.[0] === 'Coverage.period'));
    const obs = {
      resourceType: 'Observation', status: 'final', code: { text: 'bp' },
      component: [{ code: { text: 'x' }, valuePeriod: { start: '2021-05-01', end: '2021-01-01' } }],
    };
    assert.ok(validateResource(obs).warnings.some((w) => w.expression?.[0] === 'Observation.component[0].valuePeriod'));
  });
});
