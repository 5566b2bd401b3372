/** Canonical JSON and content hashes: two writes of the same content hash alike whatever their key order. */
import { createHash } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as object)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Hash of a resource's content, ignoring the server-managed meta.versionId and meta.lastUpdated. */
export function contentHash(resource: Resource): string {
  const meta = resource.meta ? { ...resource.meta } : undefined;
  if (meta) {
    delete meta.versionId;
    delete meta.lastUpdated;
  }
  const copy = { ...resource, meta: meta && Object.keys(meta).length ? meta : undefined };
  return createHash('sha256').update(canonicalJson(copy)).digest('base64url').slice(0, 32);
}
