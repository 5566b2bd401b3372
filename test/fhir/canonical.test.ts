/**
 * Content hashes are stored with every version and compared on every write: canonicalJson's text must
 * never change. Known hashes of real Synthea resources, key-order independence, and equality with the
 * original definition (kept here as the reference) over the demo bundles and odd values.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { canonicalJson, contentHash, storedJsonAndHash } from '../../src/fhir/canonical.js';
import { fillStoredJson } from '../../src/store/repository.js';
import { demoBundleFiles, readJsonFile } from '../helpers/fixtures.js';

/** The original definition of canonicalJson, the reference the optimised one must equal. */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  const keys = Object.keys(value as object)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** A deep copy with every object's keys in reverse order. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
  return value;
}

const demo = readJsonFile<Bundle>(demoBundleFiles()[0] as string);
const resources = (demo.entry ?? []).map((e) => e.resource as Resource);

describe('content hash', () => {
  it('keeps the hashes of real resources', () => {
    const patient = resources.find((r) => r.id === 'd67a0cff-8f7e-46f7-bb99-577a6623e59a') as Resource;
    const eob = resources.find((r) => r.id === '9d4e40a6-98f5-4278-bee5-838a712c2b4f') as Resource;
    assert.equal(contentHash(patient), 'Gc3YeKfmrGzxhnlcNpeOjA3eNOZ0URsg');
    assert.equal(contentHash(eob), '7lyZqu5PMwD5xaAaApaR9W5W1mF08sf0');
  });

  it('does not depend on key order, nor on meta.versionId and meta.lastUpdated', () => {
    for (const r of resources) {
      const h = contentHash(r);
      assert.equal(contentHash(reversed(r) as Resource), h);
      assert.equal(contentHash({ ...r, meta: { ...r.meta, versionId: '7', lastUpdated: '2020-01-01T00:00:00Z' } }), h);
    }
    assert.equal(contentHash({ resourceType: 'Patient', meta: { versionId: '1' } }), contentHash({ resourceType: 'Patient' }));
  });

  it('writes the same text as the original definition', () => {
    for (const f of demoBundleFiles().slice(0, 5)) {
      for (const e of readJsonFile<Bundle>(f).entry ?? []) {
        assert.equal(canonicalJson(e.resource), reference(e.resource));
        assert.equal(canonicalJson(reversed(e.resource)), reference(e.resource));
      }
    }
    const odd: unknown[] = [
      { b: undefined, c: [1, undefined, null, 'x'], d: { e: undefined }, z: 1, a: 2, A: 3, _a: 4, 'é': 5, '\u0000': 6, '"q"': 7, '10': 8, '2': 9, '-1': 10, '😀': 11, 'ﬀ': 12 },
      { n: [-0, 0, 1e21, 1e-7, 0.1, NaN, Infinity, 2 ** 53 + 2, 5e-324], s: ['\u2028', '\ud800', '\udfff', 'a"b\\c', '\n\t\u0001', '\u001f', '\u007f', '\u00a0', '😀', '', '\b\f\r', '</script>'] },
      { f: () => 1, sym: Symbol('x'), t: true, nu: null, date: new Date(0), deep: [[[{ a: [{ b: { c: [] } }] }]]], e: {} },
      Object.assign(Object.create(null) as object, { x: 1, a: [] }),
      'str', 5, null, undefined, [1, 2], true,
    ];
    for (const v of odd) assert.equal(canonicalJson(v), reference(v));
    // every UTF-16 code unit, alone and in a string (escaped or written as is)
    for (let c = 0; c < 0x10000; c++) {
      const s = String.fromCharCode(c);
      assert.equal(canonicalJson([s, `a${s}b`]), reference([s, `a${s}b`]), `char ${c}`);
    }
  });

  it('comes with the stored JSON in one pass: the same hash, the same stored resource at any version and time', () => {
    const time = '2026-12-06T10:00:00.123Z';
    const check = (r: Resource, id: string): void => {
      const { hash, json } = storedJsonAndHash(r, id);
      assert.equal(hash, contentHash({ ...r, id } as Resource), `${r.resourceType}/${id}`);
      // what the store kept before: the resource with the id and meta's two server values set
      const expected: unknown = JSON.parse(JSON.stringify({ ...r, id, meta: { ...r.meta, versionId: '12', lastUpdated: time } }));
      assert.deepEqual(JSON.parse(fillStoredJson(json, 12, time)), expected);
    };
    for (const f of demoBundleFiles().slice(0, 5)) for (const e of readJsonFile<Bundle>(f).entry ?? []) check(e.resource as Resource, (e.resource as Resource).id ?? 'x');
    const odd: Resource[] = [
      { resourceType: 'Patient' },
      { resourceType: 'Patient', id: 'old', meta: { versionId: '3', lastUpdated: '2020-01-01T00:00:00Z' } },
      { resourceType: 'Patient', meta: { profile: ['http://x/p'], versionId: '3', tag: [{ code: 't' }] }, active: true },
      { resourceType: 'Patient', meta: {} },
      { resourceType: 'Patient', meta: { source: undefined }, gender: undefined, active: false },
      { resourceType: 'Observation', status: 'final', code: { text: 'a"b\\c\u0001' }, _status: { extension: [] } } as Resource,
      { aaa: 1, resourceType: 'Basic', code: {}, zzz: [null] } as unknown as Resource,
    ];
    for (const r of odd) {
      check(r, 'new-id');
      check(reversed(r) as Resource, 'new-id');
    }
  });
});
