/** Test fixtures shipped in the repository (never read from ../shared at test time). */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(ROOT, 'test/fixtures');
export const DEMO_BUNDLES = path.join(ROOT, 'data/demo/synthea');

export function readJsonFile<T = unknown>(file: string): T {
  const buf = readFileSync(file);
  return JSON.parse((file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8')) as T;
}

export function demoBundleFiles(): string[] {
  return readdirSync(DEMO_BUNDLES).filter((f) => f.endsWith('.json.gz')).sort().map((f) => path.join(DEMO_BUNDLES, f));
}
