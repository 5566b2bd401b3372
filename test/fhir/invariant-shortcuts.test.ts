/**
 * The invariant shortcuts (src/fhir/invariant-shortcuts.ts) answer true only where @medplum/core's
 * evaluation of the invariant yields exactly `true` without throwing: over every object of the demo
 * bundles and the R4 examples (read as Period, Quantity or Observation), broken variants of them, and
 * generated pairs of dates of every precision and offset.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { evalFhirPathTyped, parseFhirPath, toTypedValue } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { loadDefinitions, typeSchema } from '../../src/fhir/definitions.js';
import { invariantShortcut } from '../../src/fhir/invariant-shortcuts.js';
import { FIXTURES, demoBundleFiles, readJsonFile } from '../helpers/fixtures.js';

loadDefinitions();

const resources: Resource[] = [
  ...demoBundleFiles().slice(0, 10).flatMap((f) => (readJsonFile<Bundle>(f).entry ?? []).map((e) => e.resource as Resource)),
  ...gunzipSync(readFileSync(path.join(FIXTURES, 'r4-examples-4.0.1.ndjson.gz'))).toString('utf8').trim().split('\n').map((l) => (JSON.parse(l) as { resource: Resource }).resource),
];

function objects(v: unknown, out: Record<string, unknown>[]): Record<string, unknown>[] {
  if (Array.isArray(v)) for (const x of v) objects(x, out);
  else if (v && typeof v === 'object') {
    out.push(v as Record<string, unknown>);
    for (const x of Object.values(v)) objects(x, out);
  }
  return out;
}

const ODD: unknown[] = [undefined, null, '', ' ', 0, 1.5, true, [], ['2020'], {}, { value: '2020' }, 'x'];

/** Variants of an object with each of `keys` removed, or set to odd values, and with primitive extensions. */
function variants(o: Record<string, unknown>, keys: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [o];
  for (const k of keys) {
    for (const v of ODD) out.push({ ...o, [k]: v });
    const { [k]: _, ...rest } = o;
    out.push(rest, { ...rest, [`_${k}`]: { extension: [{ url: 'http://x', valueString: 'y' }] } }, { ...o, [`_${k}`]: { id: 'a' } });
  }
  return out;
}

function expressionOf(type: string, key: string): string {
  const c = (typeSchema(type).constraints ?? []).find((x) => x.key === key);
  assert.ok(c, `${type} ${key}`);
  return c.expression;
}

/** Checks the shortcut of type's invariant on every value; returns how often it answered. */
function check(type: string, key: string, values: unknown[], resourceOf: (v: unknown) => unknown = (v) => v): number {
  const expression = expressionOf(type, key);
  const shortcut = invariantShortcut(expression);
  assert.ok(shortcut, `a shortcut for ${key}`);
  const atom = parseFhirPath(expression);
  let answered = 0;
  for (const value of values) {
    if (!shortcut(value)) continue;
    answered++;
    const root = toTypedValue(resourceOf(value));
    let result: unknown;
    try {
      result = evalFhirPathTyped(atom, [{ type, value }], { '%resource': root, '%rootResource': root, '%context': { type, value } });
    } catch (err) {
      result = `throws ${String(err)}`;
    }
    assert.deepEqual(result, [{ type: 'boolean', value: true }], `${key} on ${JSON.stringify(value)}`);
  }
  return answered;
}

const all = resources.flatMap((r) => objects(r, []));
const DATES = [
  '2020', '2021', '2020-01', '2020-02', '2020-01-01', '2020-01-02', '2019-12-31', '2020-01-01T10:00:00Z', '2020-01-01T10:00:00+01:00', '2020-01-01T09:00:00-01:00',
  '2020-01-01T10:00:00.5Z', '2020-01-01T10:00:00.123+00:00', '2020-01-01T10:00', '2020-01-01T00:00:00+14:00', '2020-01-01 10:00', 'x', ' ', '2020-13-45', '0001-01-01',
];

describe('invariant shortcuts', () => {
  it('per-1 (Period): only where start <= end surely holds', () => {
    const periods = all.filter((o) => 'start' in o || 'end' in o).flatMap((o) => variants(o, ['start', 'end']));
    const pairs: unknown[] = [];
    for (const a of [undefined, ...DATES]) for (const b of [undefined, ...DATES]) pairs.push({ ...(a !== undefined && { start: a }), ...(b !== undefined && { end: b }) });
    const n = check('Period', 'per-1', [...periods, ...pairs, ...ODD]);
    assert.ok(n > 1000, `answered ${n}`);
  });

  it('qty-3 (Quantity): only where there is no code or a code with a system', () => {
    const quantities = all.filter((o) => 'value' in o || 'code' in o || 'system' in o).flatMap((o) => variants(o, ['code', 'system']));
    const n = check('Quantity', 'qty-3', [...quantities, ...ODD]);
    assert.ok(n > 1000, `answered ${n}`);
  });

  it('obs-6 and obs-7 (Observation): only without dataAbsentReason, without component', () => {
    const observations = resources.filter((r) => r.resourceType === 'Observation') as unknown as Record<string, unknown>[];
    const broken = observations.flatMap((o) => [
      ...variants(o, ['dataAbsentReason', 'component', 'valueQuantity']),
      { ...o, dataAbsentReason: { text: 'x' }, valueString: 'a' },
      { ...o, component: [{ code: o.code, valueString: 'a' }], valueString: 'b' },
    ]);
    const values = [...observations, ...broken, ...ODD];
    assert.ok(check('Observation', 'obs-6', values) > 100);
    assert.ok(check('Observation', 'obs-7', values) > 100);
  });

  it('dom-2, dom-4, dom-5 (any resource): only where contained resources hold no contained, no meta', () => {
    const withContained = resources.filter((r) => 'contained' in r) as unknown as Record<string, unknown>[];
    const broken = withContained.flatMap((r) => {
      const contained = r.contained as Record<string, unknown>[];
      return [
        ...variants(r, ['contained']),
        { ...r, contained: contained.map((c) => ({ ...c, meta: { versionId: '1' } })) },
        { ...r, contained: contained.map((c) => ({ ...c, meta: { security: [{ code: 'R' }] } })) },
        { ...r, contained: contained.map((c) => ({ ...c, meta: { lastUpdated: '2020-01-01T00:00:00Z' } })) },
        { ...r, contained: contained.map((c) => ({ ...c, contained: [{ resourceType: 'Patient', id: 'x' }] })) },
        { ...r, contained: [...contained, null, 'x', []] },
      ];
    });
    const values = [...withContained, ...broken, ...ODD];
    for (const key of ['dom-2', 'dom-4', 'dom-5']) {
      const type = 'ExplanationOfBenefit';
      assert.ok(check(type, key, values.map((v) => (v && typeof v === 'object' ? { ...v, resourceType: type } : v))) > 50, key);
    }
  });

  it('ext-1 (Extension): only with nested extensions and no value, or one value and no nested extension', () => {
    const extensions = all.filter((o) => typeof o.url === 'string' && Object.keys(o).some((k) => k === 'extension' || k.startsWith('value')));
    const broken = extensions.flatMap((e) => {
      const valueKey = Object.keys(e).find((k) => k.startsWith('value')) ?? 'valueString';
      return [
        ...variants(e, ['extension', valueKey]),
        { ...e, valueString: 'x', extension: [{ url: 'u', valueString: 'y' }] },
        { ...e, valueFoo: 'x' }, { ...e, valueBoolean: false }, { ...e, valueInteger: 0 }, { ...e, valueDecimal: NaN },
        { ...e, extension: [{}] }, { ...e, extension: [] }, { ...e, [`_${valueKey}`]: { id: 'a' } },
      ];
    });
    const n = check('Extension', 'ext-1', [...extensions, ...broken, ...ODD]);
    assert.ok(n > 1000, `answered ${n}`);
  });
});
