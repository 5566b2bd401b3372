import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '@medplum/fhirtypes';
import { backends } from '../helpers/db.js';
import { writeResources } from '../../src/store/repository.js';
import { memoryContext, runChecksMemory, runChecksSql } from '../../src/checks/engine.js';
import { toJsonPath, pathStrings } from '../../src/checks/path.js';
import { QUALITY_CHECKS } from '../../src/quality/instances.js';
import { onWriteIssues } from '../../src/quality/on-write.js';

const NOW = new Date('2024-06-01T00:00:00Z');
const resources: Resource[] = [
  { resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1980-01-01', name: [{ family: 'A' }], identifier: [{ type: { coding: [{ code: 'MR' }] }, system: 'urn:mrn', value: '1' }] },
  { resourceType: 'Patient', id: 'p2', gender: 'male', birthDate: '2030-01-01', name: [{ family: 'B' }], identifier: [{ type: { coding: [{ code: 'MR' }] }, system: 'urn:mrn', value: '1' }] },
  { resourceType: 'Encounter', id: 'e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p1' }, period: { start: '2020-01-02T10:00:00Z', end: '2020-01-02T09:00:00Z' } },
  { resourceType: 'Encounter', id: 'e2', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/missing' }, period: { start: '2020-01-02T10:00:00Z', end: '2020-01-02T11:00:00Z' } },
  { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p2' }, code: { coding: [{ system: 'http://snomed.info/sct', code: '72892002' }] } },
  { resourceType: 'Observation', id: 'o1', status: 'final', subject: { reference: 'Patient/p1' }, code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }] }, valueQuantity: { value: 900, code: 'cm', system: 'http://unitsofmeasure.org' } },
] as Resource[];

const expected: Record<string, string[]> = {
  'patient-birthdate-future': ['p2'],
  'patient-duplicate-mrn': ['p1', 'p2'],
  'encounter-end-after-start': ['e1'],
  'ref-encounter-subject': ['e2'],
  'sex-pregnancy-condition': ['c1'],
  'range-8302-2': ['o1'],
};

describe('check paths', () => {
  it('compile to lax SQL/JSON paths and evaluate in memory the same way', () => {
    assert.equal(toJsonPath('identifier[type.coding.code=MR].value'), '$."identifier"[*] ? (@."type"."coding"."code" == "MR")."value"[*]');
    assert.deepEqual(pathStrings(resources[0], 'identifier[type.coding.code=MR].value'), ['1']);
    assert.deepEqual(pathStrings(resources[0], 'identifier[type.coding.code=SS].value'), []);
  });
});

for (const backend of backends()) {
  describe(`check engine (${backend.name})`, () => {
    it('finds the same offending ids pushed down to SQL and in memory, and cascades not-applicable', async () => {
      const db = await backend.open();
      try {
        await db.transaction((tx) => writeResources(tx, resources.map((r) => ({ resourceType: r.resourceType, id: r.id!, method: 'PUT' as const, resource: r }))));
        const sql = await runChecksSql(db, QUALITY_CHECKS, { now: NOW });
        const mem = runChecksMemory(QUALITY_CHECKS, memoryContext(resources, NOW));
        assert.equal(sql.filter((r) => r.status === 'error').length, 0, JSON.stringify(sql.filter((r) => r.status === 'error')));
        for (const [id, ids] of Object.entries(expected)) {
          const s = sql.find((r) => r.checkId === id)!;
          assert.equal(s.status, 'failed', id);
          assert.deepEqual(s.ids, ids, id);
        }
        for (const s of sql) {
          const m = mem.find((r) => r.checkId === s.checkId)!;
          assert.deepEqual([m.status, m.numerator, m.denominator, m.ids], [s.status, s.numerator, s.denominator, s.ids], s.checkId);
        }
        const doc = sql.find((r) => r.checkId === 'document-type')!;
        assert.equal(doc.status, 'not-applicable');
        assert.equal(sql.find((r) => r.checkId === 'patient-mrn')!.percentage, 0);
      } finally {
        await db.close();
      }
    });
  });
}

describe('on-write checks', () => {
  it('warn about a future birth date and an encounter that ends before it starts', () => {
    const issues = onWriteIssues(resources[1]!, NOW);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.severity, 'warning');
    assert.match(issues[0]!.diagnostics!, /birth date is not in the future/);
    assert.equal(onWriteIssues(resources[2]!, NOW)[0]!.details!.coding![0]!.code, 'encounter-end-after-start');
    assert.deepEqual(onWriteIssues(resources[0]!, NOW), []);
  });
});
