import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { failedEdits, runCodeEdits, type EncounterCodeSet } from '../../src/terminology/edits.js';
import { shippedTerminology } from '../../src/store/terminology-files.js';

const t = shippedTerminology();
const fx = JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures/encounters.json'), 'utf8')) as {
  failing: { name: string; expect: string[]; encounter: EncounterCodeSet }[];
  clean: { name: string; encounter: EncounterCodeSet }[];
};

for (const c of fx.failing) {
  test(`edit fails: ${c.name}`, () => {
    const failed = failedEdits(runCodeEdits(t, c.encounter));
    assert.deepEqual(failed.map((r) => r.id).sort(), [...c.expect].sort(), JSON.stringify(failed, null, 1));
    for (const r of failed) {
      assert.ok(r.numerator > 0 && r.numerator <= r.denominator);
      for (const f of r.findings) { assert.ok(f.codes.length > 0); assert.ok(f.message); assert.ok(f.rule); }
    }
  });
}

for (const c of fx.clean) {
  test(`clean encounter raises no edit: ${c.name}`, () => {
    const results = runCodeEdits(t, c.encounter);
    assert.deepEqual(failedEdits(results), []);
    assert.ok(results.some((r) => r.status === 'passed'));
  });
}

test('each edit names the codes, the reason and the rule', () => {
  const r = failedEdits(runCodeEdits(t, fx.failing.find((c) => c.expect[0] === 'excludes1')!.encounter))[0]!;
  assert.deepEqual(r.findings[0]!.codes.sort(), ['E10.9', 'E11.9']);
  assert.match(r.findings[0]!.rule, /Excludes1/);
  const s = failedEdits(runCodeEdits(t, fx.failing.find((c) => c.expect[0] === 'seventh-character')!.encounter))[0]!;
  assert.match(s.findings[0]!.message, /S72\.001A/);
});

test('POA edits do not apply to outpatient encounters', () => {
  const r = runCodeEdits(t, { dateOfService: '2022-03-01', setting: 'outpatient', diagnoses: [{ code: 'J18.9' }] });
  assert.equal(r.find((x) => x.id === 'poa-missing')!.status, 'not-applicable');
});
