/** A Fastify app on a fresh test database, for API tests through inject(). */
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/server/app.js';
import type { Db } from '../../src/store/db.js';
import type { Backend } from './db.js';

export async function testApp(backend: Backend, options: Partial<AppOptions> = {}): Promise<{ app: FastifyInstance; db: Db; close(): Promise<void> }> {
  const db = await backend.open();
  const app = await buildApp({ db, ...options });
  return {
    app,
    db,
    async close() {
      await app.close();
      await db.close();
    },
  };
}
