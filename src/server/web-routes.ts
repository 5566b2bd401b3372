/**
 * The HIM workbench (web/, built to web/dist) served at `/`: hashed assets under /assets/ with
 * @fastify/static, index.html at `/`, and the single-page-app fallback (any other GET that accepts HTML
 * and is not under /fhir, /api or /auth answers index.html, so deep links like /worklist work).
 * The fallback answers from an onRequest hook for requests that matched no route, so it adds no
 * route of its own (the public routes are the ones security/route-permissions.ts lists).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const DEFAULT_WEB_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Custodian: web app not built</title></head>
<body><main><h1>The Custodian web app is not built</h1>
<p>The API is running (FHIR at <a href="/fhir/metadata">/fhir</a>). To build the workbench, run
<code>npm run build:web</code> in the Custodian folder (or start with <code>npm start</code>, which builds it when needed), then reload this page.</p>
</main></body></html>
`;

const API_PREFIX = /^\/(fhir|api|auth)(\/|$|\?)/;

export interface WebRouteOptions {
  /** The built app (default: web/dist of this package). */
  root?: string;
}

export async function registerWebRoutes(app: FastifyInstance, options: WebRouteOptions = {}): Promise<void> {
  const root = options.root ?? DEFAULT_WEB_ROOT;
  const indexPath = path.join(root, 'index.html');
  let cached: { mtimeMs: number; html: string } | undefined;
  const indexHtml = (): string | undefined => {
    if (!existsSync(indexPath)) return undefined;
    const mtimeMs = statSync(indexPath).mtimeMs;
    if (!cached || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, html: readFileSync(indexPath, 'utf8') };
    return cached.html;
  };
  const sendIndex = (reply: FastifyReply): FastifyReply => {
    const html = indexHtml();
    return reply
      .code(html ? 200 : 503)
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(html ?? NOT_BUILT);
  };

  app.get('/', async (_request, reply) => sendIndex(reply));
  app.get('/index.html', async (_request, reply) => sendIndex(reply));
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());

  const assets = path.join(root, 'assets');
  if (existsSync(assets)) {
    await app.register(fastifyStatic, { root: assets, prefix: '/assets/', maxAge: '365d', immutable: true, index: false, wildcard: true });
  } else {
    app.get('/assets/*', async (_request, reply) => reply.code(404).type('text/plain; charset=utf-8').send('The web app is not built: run npm run build:web'));
  }

  // SPA fallback for client-side routes: only requests that matched no route, are GETs for HTML, and are not API paths.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.url !== undefined || request.method !== 'GET') return;
    const pathname = request.url.split('?')[0] ?? '/';
    if (API_PREFIX.test(pathname) || pathname.startsWith('/assets/')) return;
    if (!(request.headers.accept ?? '').includes('text/html')) return;
    return sendIndex(reply);
  });
}
