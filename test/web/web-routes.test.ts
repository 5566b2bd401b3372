// custodian serve's web app routes: the built SPA at /, deep links fall back to it, API paths do not, and an unbuilt app explains itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { registerWebRoutes } from '../../src/server/web-routes.js';

async function appWith(root: string) {
  const app = Fastify();
  app.get('/fhir/:type', async () => ({ resourceType: 'Bundle' }));
  await registerWebRoutes(app, { root });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', diagnostics: `No route for ${req.method} ${req.url}` }] }));
  return app;
}

test('serves the built app, its hashed assets and deep links, but never for API paths', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'web-dist-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'assets'));
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><div id="root"></div><script type="module" src="/assets/index-abc.js"></script>');
  writeFileSync(path.join(root, 'assets', 'index-abc.js'), 'console.log("workbench")');
  const app = await appWith(root);
  t.after(() => app.close());

  const home = await app.inject({ url: '/' });
  assert.equal(home.statusCode, 200);
  assert.match(home.headers['content-type'] as string, /text\/html/);
  assert.match(home.body, /id="root"/);

  const js = await app.inject({ url: '/assets/index-abc.js' });
  assert.equal(js.statusCode, 200);
  assert.match(js.headers['content-type'] as string, /javascript/);
  assert.match(js.headers['cache-control'] as string, /immutable/);

  const deep = await app.inject({ url: '/worklist?type=deficiency', headers: { accept: 'text/html,application/xhtml+xml' } });
  assert.equal(deep.statusCode, 200);
  assert.match(deep.body, /id="root"/);

  const api = await app.inject({ url: '/api/nothing', headers: { accept: 'text/html' } });
  assert.equal(api.statusCode, 404);
  assert.match(api.body, /OperationOutcome/);
  const fhir = await app.inject({ url: '/fhir/Patient' });
  assert.equal(fhir.statusCode, 200);
  assert.equal(JSON.parse(fhir.body).resourceType, 'Bundle');
  const missingAsset = await app.inject({ url: '/assets/gone.js', headers: { accept: 'text/html' } });
  assert.equal(missingAsset.statusCode, 404);
});

test('without a build, / says how to build the web app', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'web-none-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const app = await appWith(path.join(root, 'dist'));
  t.after(() => app.close());
  const r = await app.inject({ url: '/' });
  assert.equal(r.statusCode, 503);
  assert.match(r.body, /npm run build:web/);
});
