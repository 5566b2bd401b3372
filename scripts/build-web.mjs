#!/usr/bin/env node
// Builds the web workbench (web/ -> web/dist) when web/dist is missing or older than its sources.
// Called by `npm start` (prestart) so `npm ci && npm start` works on a fresh machine; `--force` always builds.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'web');
const built = path.join(web, 'dist', 'index.html');

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  let m = 0;
  for (const f of readdirSync(p)) m = Math.max(m, newest(path.join(p, f)));
  return m;
}

export function webBuildIsStale() {
  if (!existsSync(built)) return true;
  const sources = Math.max(newest(path.join(web, 'src')), newest(path.join(web, 'index.html')), newest(path.join(web, 'vite.config.ts')));
  return sources > statSync(built).mtimeMs;
}

export function buildWeb({ quiet = false } = {}) {
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) throw new Error('vite is not installed: run npm ci first');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', path.join(web, 'vite.config.ts'), ...(quiet ? ['--logLevel', 'warn'] : [])], {
    cwd: root,
    stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`web build failed (exit ${r.status}): ${r.stderr ?? ''}${r.stdout ?? ''}`.slice(0, 4000));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--force') || webBuildIsStale()) {
    process.stdout.write('Building the web app (web/ -> web/dist)...\n');
    buildWeb();
  } else {
    process.stdout.write('The web app is up to date (web/dist).\n');
  }
}
