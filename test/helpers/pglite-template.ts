/**
 * The migrated PGlite template the test databases start from. Running initdb inside PGlite costs seconds
 * (tens on a busy machine), so it runs once: the migrated data folder is dumped to a tar file in the temp
 * folder, named by a hash of PGlite's version and the migrations' text, and every test database loads that
 * tar. `scripts/run-tests.mjs` builds it before the test processes start (`node --import tsx` this file).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listMigrations, migrate } from '../../src/store/migrate.js';
import { createPGlite, wrapPGlite } from '../../src/store/pglite-adapter.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FORMAT = 1; // bump when the way the template is made changes

export function pgliteTemplateFile(): string {
  const h = createHash('sha256').update(`format ${FORMAT}\n`);
  h.update(readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json')));
  h.update(readFileSync(path.join(ROOT, 'src/store/pglite-adapter.ts')));
  for (const m of listMigrations()) h.update(`\n${m.name}\n`).update(m.sql);
  return path.join(tmpdir(), `custodian-test-pglite-${h.digest('hex').slice(0, 20)}.tar`);
}

/** Builds the template tar unless it is there already; returns its path. */
export async function ensurePGliteTemplate(): Promise<string> {
  const file = pgliteTemplateFile();
  if (existsSync(file)) return file;
  const p = await createPGlite();
  try {
    await migrate(wrapPGlite(p));
    const tar = await p.dumpDataDir('none');
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, new Uint8Array(await tar.arrayBuffer()));
    renameSync(partial, file); // atomic: a concurrent reader sees the whole file or none
  } finally {
    await p.close();
  }
  return file;
}

let template: Promise<Blob> | undefined;

/** The template's data folder, read once per process. */
export function pgliteTemplate(): Promise<Blob> {
  template ??= ensurePGliteTemplate().then((f) => new Blob([readFileSync(f)]));
  return template;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(`PGlite test template: ${await ensurePGliteTemplate()}\n`);
}
