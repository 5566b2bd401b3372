#!/usr/bin/env node
// Runs every test file under test/ with node:test (TypeScript through tsx).
// The store conformance suite runs on PGlite always, and on PostgreSQL too when TEST_DATABASE_URL is set.
// Long tests (test/**/*.long.ts: the full Synthea set from ../shared) run only with CUSTODIAN_LONG_TESTS=1.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
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
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const env = { ...process.env, NODE_NO_WARNINGS: '1' };

// The migrated PGlite every test database starts from (test/helpers/pglite-template.ts): built once here, before
// the test processes start, rather than by each of them.
const template = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/pglite-template.ts'], { cwd: root, stdio: 'inherit', env });
if (template.status !== 0) process.exit(template.status ?? 1);

const args = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
process.exit(r.status ?? 1);
