/**
 * A transaction's references to its own entries (urn:uuid fullUrls) are rewritten without copying
 * what holds none, so the resources written share their parts with the request: the rewrite must
 * leave its input as it was, and nothing after it (validation, the on-write checks, the code
 * warnings) may change what it is given. Checked over the demo bundles and the 709 R4 examples,
 * frozen, so that any write throws.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { rewriteReferences } from '../../src/records/bundles.js';
import { checkResource } from '../../src/records/interactions.js';
import type { LookupResult } from '../../src/terminology/catalog.js';
import { FIXTURES, demoBundleFiles, readJsonFile } from '../helpers/fixtures.js';

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

const demo = demoBundleFiles().slice(0, 3).map((f) => readJsonFile<Bundle>(f));
const examples = gunzipSync(readFileSync(path.join(FIXTURES, 'r4-examples-4.0.1.ndjson.gz'))).toString('utf8').trim().split('\n')
  .map((l) => (JSON.parse(l) as { resource: Resource }).resource);

describe('reference rewriting', () => {
  it('rewrites every reference in the map, anywhere, and leaves the input as it was', () => {
    const input = {
      resourceType: 'Observation',
      subject: { reference: 'urn:uuid:p1', display: 'x' },
      performer: [{ reference: 'Practitioner/keep' }, { reference: 'urn:uuid:p2' }],
      contained: [{ resourceType: 'Provenance', target: [{ reference: 'urn:uuid:p1' }] }],
      extension: [{ url: 'http://x', valueReference: { reference: 'urn:uuid:p2' } }],
      code: { coding: [{ system: 'http://loinc.org', code: '1-8' }] },
      note: [{ text: 'reference', reference: 'urn:uuid:p1-not-in-map' }],
    };
    const before = JSON.stringify(input);
    const map = new Map([['urn:uuid:p1', 'Patient/1'], ['urn:uuid:p2', 'Practitioner/2']]);
    const out = rewriteReferences(deepFreeze(input), map) as typeof input;
    assert.equal(JSON.stringify(input), before);
    assert.deepEqual(out, {
      ...input,
      subject: { reference: 'Patient/1', display: 'x' },
      performer: [{ reference: 'Practitioner/keep' }, { reference: 'Practitioner/2' }],
      contained: [{ resourceType: 'Provenance', target: [{ reference: 'Patient/1' }] }],
      extension: [{ url: 'http://x', valueReference: { reference: 'Practitioner/2' } }],
    });
    // what holds no rewritten reference is the input's own, not a copy
    assert.equal(out.code, input.code);
    assert.equal(out.note, input.note);
    assert.equal(out.performer[0], input.performer[0]);
    assert.notEqual(out.performer, input.performer);
    assert.equal(rewriteReferences(input.code, map), input.code);
  });

  it('keeps holes in arrays as holes', () => {
    const sparse: unknown[] = [];
    sparse[2] = { reference: 'urn:uuid:a' };
    const out = rewriteReferences(sparse, new Map([['urn:uuid:a', 'Patient/a']])) as unknown[];
    assert.equal(out.length, 3);
    assert.equal(0 in out, false);
    assert.deepEqual(out[2], { reference: 'Patient/a' });
  });

  it('over real bundles: the same resources as a full copy would give, the bundle untouched', () => {
    for (const bundle of demo) {
      const map = new Map((bundle.entry ?? []).map((e, i) => [e.fullUrl as string, `${e.resource?.resourceType}/r${i}`]));
      const before = JSON.stringify(bundle);
      deepFreeze(bundle);
      let rewritten = 0;
      for (const e of bundle.entry ?? []) {
        const out = rewriteReferences(e.resource, map);
        // the same text with each mapped fullUrl replaced: what a full copy gave
        const expected = JSON.stringify(e.resource).replace(/"reference":"(urn:uuid:[^"]+)"/g, (m, u: string) => (map.has(u) ? `"reference":"${map.get(u)}"` : m));
        assert.equal(JSON.stringify(out), expected);
        if (out !== e.resource) rewritten++;
      }
      assert.ok(rewritten > 0);
      assert.equal(JSON.stringify(bundle), before);
    }
  });
});

describe('what a write checks', () => {
  it('does not change the resource it checks (demo bundles and every R4 example, frozen)', () => {
    const lookup = (system: string, code: string): LookupResult => ({ system, systemName: system, code, found: code.length % 2 === 0, billable: false, header: false, parents: [] });
    const resources = [...demo.flatMap((b) => (b.entry ?? []).map((e) => e.resource as Resource)), ...examples];
    let valid = 0;
    let invalid = 0;
    for (const r of resources) {
      const before = JSON.stringify(r);
      const frozen = deepFreeze(structuredClone(r));
      try {
        checkResource(frozen, r.resourceType, false, 'resource', lookup);
        valid++;
      } catch (err) {
        // a rejection is an OperationOutcome error; a write to the frozen resource is a TypeError
        assert.ok(!(err instanceof TypeError), `${r.resourceType}/${r.id}: ${(err as Error).message}`);
        invalid++;
      }
      assert.equal(JSON.stringify(frozen), before);
    }
    // both paths ran: resources the fast checker passes and ones medplum's validator rejects
    assert.ok(valid > 500 && invalid > 0, `${valid} valid, ${invalid} invalid`);
  });
});
