#!/usr/bin/env node
// Runs every test file under test/ with node:test (TypeScript through tsx).
// The store conformance suite runs on PGlite always, and on PostgreSQL too when TEST_DATABASE_URL is set.
// Long tests (test/**/*.long.ts: the full Synthea set from ../shared) run only with CUSTODIAN_LONG_TESTS=1.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

// The slowest files first (measured in a whole run with TEST_DATABASE_URL set), so that two at a time the long
// ones start at once and the short ones fill in at the end instead of one long file running alone last.
// Files not named here run after these, in path order. Re-measure and reorder when a file grows.
const SLOWEST_FIRST = [
  'test/import/import.test.ts', // CLI processes on a new data folder (initdb in the child)
  'test/import/crash.test.ts', // the same, and a SIGKILLed import
  'test/e2e/workbench.test.ts', // the web build when web/dist is missing or stale, then Chromium
  'test/audit/chain.test.ts',
  'test/mpi/run.test.ts',
  'test/checks/injected-defects.test.ts',
  'test/api/bulk-export.test.ts',
  'test/mpi/merge.test.ts',
  'test/records/demo.test.ts',
  'test/search/brute-force.test.ts',
  'test/api/fhir-rest.test.ts',
  'test/checks/engine.test.ts',
  'test/audit/write-transaction.test.ts',
  'test/terminology/import.test.ts',
  'test/mpi/evaluate.test.ts',
];

const files = [];
const walk = (dir) => {
  for (const f of readdirSync(dir).sort()) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.test\.tsx?$/.test(f) || (process.env.CUSTODIAN_LONG_TESTS === '1' && /\.long\.ts$/.test(f))) files.push(path.relative(root, p));
  }
};
const only = process.argv.slice(2);
walk(path.join(root, 'test'));
const rank = (f) => {
  const i = SLOWEST_FIRST.indexOf(f);
  return i === -1 ? SLOWEST_FIRST.length : i;
};
const selected = (only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files).sort((a, b) => rank(a) - rank(b));
const env = { ...process.env, NODE_NO_WARNINGS: '1' };

// The migrated PGlite every test database starts from (test/helpers/pglite-template.ts): built once here, before
// the test processes start, rather than by each of them.
const template = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/pglite-template.ts'], { cwd: root, stdio: 'inherit', env });
if (template.status !== 0) process.exit(template.status ?? 1);

const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
process.exit(r.status ?? 1);
