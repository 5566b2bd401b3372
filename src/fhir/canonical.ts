/** Canonical JSON and content hashes: two writes of the same content hash alike whatever their key order. */
import { hash } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';

/**
 * JSON with every object's keys sorted (the default string sort) and undefined members dropped;
 * strings and numbers as JSON.stringify writes them. Stored content hashes are sha256 of this text, so
 * its output must never change (test/fhir/canonical.test.ts). One pass appending to one string: the
 * import hashes every resource, and per-level arrays of parts cost more than the hash.
 */
export function canonicalJson(value: unknown): string {
  const out = { s: '' };
  write(value, out);
  return out.s;
}

/** The characters JSON.stringify escapes in a string (quote, backslash, controls, and surrogates, paired or not). */
// eslint-disable-next-line no-control-regex -- the control characters are what it looks for
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

function write(value: unknown, out: { s: string }): void {
  if (typeof value === 'string') {
    // what JSON.stringify writes, without its call where nothing needs escaping
    out.s += ESCAPED.test(value) ? JSON.stringify(value) : `"${value}"`;
    return;
  }
  if (value === null || typeof value !== 'object') {
    out.s += JSON.stringify(value) ?? 'null';
    return;
  }
  if (Array.isArray(value)) {
    out.s += '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.s += ',';
      write(value[i], out);
    }
    out.s += ']';
    return;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  sortKeys(keys);
  out.s += '{';
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = obj[k];
    if (v === undefined) continue;
    if (first) first = false;
    else out.s += ',';
    out.s += quotedKey(k);
    out.s += ':';
    write(v, out);
  }
  out.s += '}';
}

/** Insertion sort: objects have few keys; `>` orders strings by UTF-16 code units, as sort() does. */
function sortKeys(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
}

/** JSON.stringify of object keys, remembered: resources reuse a small vocabulary of element names. */
const quoted = new Map<string, string>();

function quotedKey(k: string): string {
  let q = quoted.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quoted.size < 10_000) quoted.set(k, q);
  }
  return q;
}

/**
 * A resource's stored JSON at any version and time, and its content hash, from one canonical
 * serialisation (the import prepares both for every resource; one pass costs less than JSON.stringify
 * of the stored form plus canonicalJson of the hashed one). The stored form is `resource` with `id`
 * and meta.versionId / meta.lastUpdated set, as a template: the JSON is `json[0] + versionId +
 * json[1] + lastUpdated + json[2]`. Its keys are the canonical order but for meta's first two (the
 * store keeps jsonb, which orders keys its own way). The hash is contentHash({ ...resource, id }).
 */
export function storedJsonAndHash(resource: Resource, id: string): { hash: string; json: [string, string, string] } {
  const keys = Object.keys(resource);
  if (!('id' in resource)) keys.push('id');
  if (!('meta' in resource)) keys.push('meta');
  sortKeys(keys);
  const before = { s: '' };
  const after = { s: '' };
  let seenMeta = false;
  for (const k of keys) {
    if (k === 'meta') {
      seenMeta = true;
      continue;
    }
    const v = k === 'id' ? id : (resource as unknown as Record<string, unknown>)[k];
    if (v === undefined) continue;
    const out = seenMeta ? after : before;
    if (out.s !== '') out.s += ',';
    out.s += quotedKey(k);
    out.s += ':';
    write(v, out);
  }
  // meta's members but the two the server sets (a spread, as contentHash makes); kept, even as {},
  // when it has any other key, as contentHash keeps it
  const m: Record<string, unknown> = { ...(resource.meta as object | undefined) };
  const metaKeys = Object.keys(m).filter((k) => k !== 'versionId' && k !== 'lastUpdated');
  const rest = { s: '' };
  if (metaKeys.length) {
    write(Object.fromEntries(metaKeys.map((k) => [k, m[k]])), rest);
    rest.s = rest.s.slice(1, -1);
  }
  const hashed = `{${[before.s, metaKeys.length ? `"meta":{${rest.s}}` : '', after.s].filter((x) => x !== '').join(',')}}`;
  return {
    hash: hash('sha256', hashed, 'base64url').slice(0, 32),
    json: [`{${before.s ? `${before.s},` : ''}"meta":{"versionId":"`, '","lastUpdated":"', `"${rest.s ? `,${rest.s}` : ''}}${after.s ? `,${after.s}` : ''}}`],
  };
}

/** Hash of a resource's content, ignoring the server-managed meta.versionId and meta.lastUpdated. */
export function contentHash(resource: Resource): string {
  const meta = resource.meta ? { ...resource.meta } : undefined;
  if (meta) {
    delete meta.versionId;
    delete meta.lastUpdated;
  }
  const copy = { ...resource, meta: meta && Object.keys(meta).length ? meta : undefined };
  // one-shot hash: no Hash object per resource (the import hashes every one)
  return hash('sha256', canonicalJson(copy), 'base64url').slice(0, 32);
}
