/**
 * The fast structural checker (src/fhir/structure-check.ts) never answers "certainly valid" for a
 * resource in which @medplum/core's validator finds anything (an error or a warning): over the 100
 * Synthea patients, the official R4 examples, and resources broken systematically (wrong JSON types,
 * bad formats, unknown and missing elements, broken cardinality, bad choice types, nulls and empty
 * values, wrong reference targets, broken invariants, bad codes). Since the checker only ever stands
 * in for medplum when it answers yes, validateResource reports exactly what it reported before.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { OperationOutcomeError, validateResource as medplumValidate } from '@medplum/core';
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { loadDefinitions } from '../../src/fhir/definitions.js';
import { certainlyValid } from '../../src/fhir/structure-check.js';
import { rewriteReferences } from '../../src/records/bundles.js';
import { FIXTURES, demoBundleFiles, readJsonFile } from '../helpers/fixtures.js';

loadDefinitions();

function medplumIssues(resource: unknown): OperationOutcomeIssue[] {
  try {
    return medplumValidate(resource as Resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err.outcome.issue ?? [];
    return [{ severity: 'fatal', code: 'exception', diagnostics: String(err) }];
  }
}

/** The 100 Synthea patients' resources, with their urn:uuid references rewritten as the import does. */
function syntheaResources(): Resource[] {
  const dir = path.join(FIXTURES, 'synthea');
  const files = [...demoBundleFiles(), ...readdirSync(dir).filter((f) => f.endsWith('.json.gz')).sort().map((f) => path.join(dir, f))];
  assert.equal(files.length, 100);
  const out: Resource[] = [];
  for (const f of files) {
    const bundle = readJsonFile<Bundle>(f);
    const map = new Map<string, string>();
    for (const e of bundle.entry ?? []) if (e.fullUrl && e.resource) map.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`);
    for (const e of bundle.entry ?? []) if (e.resource) out.push(rewriteReferences(e.resource, map) as Resource);
  }
  return out;
}

function r4Examples(): Resource[] {
  const lines = gunzipSync(readFileSync(path.join(FIXTURES, 'r4-examples-4.0.1.ndjson.gz'))).toString('utf8').trim().split('\n');
  return lines.map((l) => (JSON.parse(l) as { resource: Resource }).resource);
}

/** Compares the checker with medplum on each resource; returns counts and the resources it wrongly accepted. */
function compare(resources: unknown[]): { accepted: number; clean: number; rejected: number; unsound: string[] } {
  let accepted = 0;
  let clean = 0;
  let rejected = 0;
  const unsound: string[] = [];
  for (const r of resources) {
    const issues = medplumIssues(r);
    const yes = certainlyValid(r);
    if (issues.length === 0) clean++;
    if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) rejected++;
    if (yes) {
      accepted++;
      if (issues.length > 0) unsound.push(`${JSON.stringify(r).slice(0, 300)} -> ${issues.map((i) => `${i.expression?.[0]}: ${i.details?.text ?? i.diagnostics}`).join('; ')}`);
    }
  }
  return { accepted, clean, rejected, unsound };
}

// ---- systematic mutations ----------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

const clone = <T>(v: T): T => structuredClone(v);

function getAt(root: Json, p: Path): Json {
  let cur: Json = root;
  for (const k of p) cur = (cur as Record<string | number, Json>)[k] as Json;
  return cur;
}

/** A copy of root with the value at p replaced (undefined: removed; an array item is spliced out). */
function setAt(root: Json, p: Path, value: Json | undefined): Json {
  const copy = clone(root);
  const parent = getAt(copy, p.slice(0, -1)) as Record<string | number, Json> | Json[];
  const last = p[p.length - 1] as string | number;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete (parent as Record<string, Json>)[last as string];
  } else (parent as Record<string | number, Json>)[last] = value;
  return copy;
}

function renameAt(root: Json, p: Path, to: string): Json {
  const copy = clone(root);
  const parent = getAt(copy, p.slice(0, -1)) as Record<string, Json>;
  const from = p[p.length - 1] as string;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(parent)) out[k === from ? to : k] = v;
  for (const k of Object.keys(parent)) delete parent[k];
  Object.assign(parent, out);
  return copy;
}

/** Every path below the root (objects' keys and array items). */
function paths(v: Json, p: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([...p, i]); paths(x, [...p, i], out); });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { if (p.length === 0 && k === 'resourceType') continue; out.push([...p, k]); paths(x, [...p, k], out); }
  return out;
}

const CHOICE_SUFFIXES = ['String', 'Quantity', 'CodeableConcept', 'Boolean', 'Integer', 'DateTime', 'Period', 'Reference', 'Foo', 'Date', 'Decimal', 'Range'];

/**
 * Broken (and some still valid) variants of a resource, each differing from it in one place. Every
 * path gets the structural breaks (null, empty values, wrong JSON type, wrapped or unwrapped arrays,
 * removal, unknown and primitive-extension keys); the type-specific breaks (formats, references,
 * codes, choice-type suffixes) rotate over the paths, so that all of them are tried across a resource
 * without multiplying the count.
 */
function mutants(resource: Resource): Json[] {
  const root = resource as unknown as Json;
  const out: Json[] = [];
  let turn = 0;
  const some = <T>(list: T[], k: number): T[] => {
    const picked: T[] = [];
    for (let i = 0; i < Math.min(k, list.length); i++) picked.push(list[(turn + i) % list.length] as T);
    turn += k;
    return picked;
  };
  for (const p of paths(root)) {
    const v = getAt(root, p);
    const key = p[p.length - 1];
    const parent = getAt(root, p.slice(0, -1));
    out.push(setAt(root, p, null), setAt(root, p, undefined), ...some([setAt(root, p, ''), setAt(root, p, '  '), setAt(root, p, {}), setAt(root, p, []), setAt(root, p, 0), setAt(root, p, true)], 2));
    if (Array.isArray(v)) {
      out.push(setAt(root, p, v[0] as Json), setAt(root, p, [...v, ...v]), setAt(root, p, [...v, null]));
    } else {
      out.push(setAt(root, p, [v]));
    }
    if (typeof v === 'string') {
      out.push(...some([
        setAt(root, p, 1.5), setAt(root, p, -1), setAt(root, p, `${v} `), setAt(root, p, `x  ${v}`), setAt(root, p, v.replace(/\d/g, '9')),
        setAt(root, p, v.replace(/-\d\d/, '-13')), setAt(root, p, v.replace('T', ' ')), setAt(root, p, `${v}Z`), setAt(root, p, 'robot'),
        setAt(root, p, 'Organization/1'), setAt(root, p, 'Foo/1'), setAt(root, p, '#x'), setAt(root, p, 'urn:uuid:0b8a1c52-4a52-4c3e-9d55-1f4f8c1b0a01'),
        setAt(root, p, '2020-02-30'), setAt(root, p, '2020'), setAt(root, p, '2020-01-01T10:00:00+01:00'), setAt(root, p, 'a\u0001b'), setAt(root, p, 'QUJD'), setAt(root, p, 'x'.repeat(70)),
      ], 4));
    } else if (typeof v === 'number') {
      out.push(...some([setAt(root, p, String(v)), setAt(root, p, -v - 1), setAt(root, p, v + 0.5), setAt(root, p, 0), setAt(root, p, Number.MAX_SAFE_INTEGER * 4)], 3));
    } else if (typeof v === 'boolean') {
      out.push(setAt(root, p, String(v)), setAt(root, p, !v), setAt(root, p, v ? 1 : 0));
    } else if (v && typeof v === 'object' && !Array.isArray(v)) {
      out.push(setAt(root, p, { ...v, foo: 1 }), ...some([
        setAt(root, p, { ...v, resourceType: 'Patient' }), setAt(root, p, { ...v, _id: { extension: [] } }), setAt(root, p, 'text'),
        setAt(root, p, { ...v, extension: [{ url: 'http://x', valueString: 'y' }] }), setAt(root, p, { ...v, extension: [{ url: 'http://x' }] }),
        setAt(root, p, { ...v, extension: [{ url: 'http://x', valueString: 'y', extension: [{ url: 'z', valueInteger: 1 }] }] }),
      ], 2));
    }
    if (typeof key === 'string' && parent && !Array.isArray(parent)) {
      out.push(renameAt(root, p, `${key}x`), ...some([
        renameAt(root, p, `_${key}`), renameAt(root, p, key.toUpperCase()), renameAt(root, p, `${key}[x]`),
        setAt(root, [...p.slice(0, -1), `_${key}`], { extension: [{ url: 'http://x', valueString: 'y' }] }),
        setAt(root, [...p.slice(0, -1), `_${key}`], { id: 'a' }),
      ], 2));
      const m = /^([a-z]+)([A-Z][A-Za-z]*)$/.exec(key);
      if (m) out.push(...some(CHOICE_SUFFIXES.flatMap((s) => [renameAt(root, p, `${m[1]}${s}`), setAt(root, [...p.slice(0, -1), `${m[1]}${s}`], v)]), 4));
    }
  }
  // resource-level: contained resources (good and bad), nested containment, meta in contained, odd keys
  out.push({ ...(root as object), contained: [{ resourceType: 'Patient', id: 'p1', gender: 'female' }] });
  out.push({ ...(root as object), contained: [{ resourceType: 'Patient', id: 'p1', gender: 'female', contained: [{ resourceType: 'Patient', id: 'p2' }] }] });
  out.push({ ...(root as object), contained: [{ resourceType: 'Patient', id: 'p1', meta: { versionId: '1' } }] });
  out.push({ ...(root as object), contained: [{ resourceType: 'Observation', id: 'o1' }] });
  out.push({ ...(root as object), contained: [{ resourceType: 'Quantity', value: 1 }] });
  out.push({ ...(root as object), contained: [{ id: 'x' }] });
  out.push({ ...(root as object), text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' } });
  out.push({ ...(root as object), text: { status: 'generated' } });
  out.push({ ...(root as object), meta: { lastUpdated: '2020-01-01' } });
  out.push({ ...(root as object), __proto__x: 1 });
  out.push(JSON.parse(`{${JSON.stringify(root).slice(1, -1)},"__proto__":{"a":1}}`) as Json);
  return out;
}

/** Of each resource type in the corpus, its largest resource under maxChars (the most elements to break). */
function samples(resources: Resource[], maxChars: number): Resource[] {
  const largest = new Map<string, { r: Resource; n: number }>();
  for (const r of resources) {
    const n = JSON.stringify(r).length;
    if (n < maxChars && n > (largest.get(r.resourceType)?.n ?? 0)) largest.set(r.resourceType, { r, n });
  }
  return [...largest.values()].map((x) => x.r);
}

describe('fast structural checker', () => {
  const synthea = syntheaResources();
  const examples = r4Examples();

  it('accepts nothing medplum finds an issue in, over the 100 Synthea patients, and accepts nearly all of them', () => {
    const r = compare(synthea);
    assert.deepEqual(r.unsound, []);
    assert.ok(synthea.length > 24_000, `${synthea.length} resources`);
    // it is only worth having if it answers for the common case: nearly every clean resource
    assert.ok(r.accepted >= 0.99 * r.clean, `accepted ${r.accepted} of ${r.clean} clean resources`);
  });

  it('accepts nothing medplum finds an issue in, over the official R4 examples', () => {
    const r = compare(examples);
    assert.deepEqual(r.unsound, []);
    assert.ok(r.clean > 600 && r.accepted > 0, JSON.stringify({ ...r, unsound: r.unsound.length }));
  });

  it('accepts none of the systematically broken Synthea resources medplum rejects or warns about', () => {
    const variants = samples(synthea, 3000).flatMap(mutants);
    const r = compare(variants);
    assert.deepEqual(r.unsound, []);
    // the mutations break most variants, and leave some valid: both answers are exercised
    assert.ok(r.rejected > 5_000 && r.accepted > 500, JSON.stringify({ variants: variants.length, ...r, unsound: r.unsound.length }));
  });

  it('accepts none of the systematically broken R4 examples medplum rejects or warns about', () => {
    const variants = samples(examples, 800).flatMap(mutants);
    const r = compare(variants);
    assert.deepEqual(r.unsound, []);
    assert.ok(r.rejected > 5_000 && r.accepted > 500, JSON.stringify({ variants: variants.length, ...r, unsound: r.unsound.length }));
  });

  it('answers for hand-written cases as medplum does', () => {
    const cases: [unknown, boolean][] = [
      [{ resourceType: 'Patient', gender: 'female', birthDate: '1970-01-01' }, true],
      [{ resourceType: 'Patient', birthDate: '1970-13-01' }, false],
      [{ resourceType: 'Patient', active: 'yes' }, false],
      [{ resourceType: 'Patient', name: { family: 'x' } }, false],
      [{ resourceType: 'Patient', name: [{ given: 'Ann' }] }, false],
      [{ resourceType: 'Patient', foo: 1 }, false],
      [{ resourceType: 'Observation', code: { text: 'x' } }, false], // status is required
      [{ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 'high' } }, false],
      [{ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity: { value: 1 } }, true],
      [{ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueFoo: { value: 1 } }, false],
      [{ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'a', dataAbsentReason: { text: 'x' } }, false], // obs-6
      [{ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Medication/1' } }, false], // target type
      [{ resourceType: 'Patient', extension: [{ url: 'http://x' }] }, false], // ext-1
      [{ resourceType: 'Patient', multipleBirthInteger: 1.5 }, false],
      [{ resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'x' }], managingOrganization: { reference: '#o' } }, true],
      [{ resourceType: 'Patient', contained: [{ resourceType: 'Organization', id: 'o', name: 'x', meta: { versionId: '2' } }] }, false], // dom-4
    ];
    for (const [resource, expected] of cases) {
      assert.equal(medplumIssues(resource).length === 0, expected, `medplum on ${JSON.stringify(resource)}`);
      assert.equal(certainlyValid(resource), expected, JSON.stringify(resource));
    }
  });
});
