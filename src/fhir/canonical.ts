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
  // insertion sort: objects have few keys; `>` orders strings by UTF-16 code units, as sort() does
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
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
