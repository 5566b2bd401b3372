/** Opens the configured database (PostgreSQL when a URL is given, embedded PGlite otherwise) and migrates it. */
import { mkdirSync } from 'node:fs';
import type { Db } from './db.js';
import { restoreSearchIndexes } from './deferred-indexes.js';
import { migrate } from './migrate.js';
import { openPg } from './pg-adapter.js';
import { openPGlite } from './pglite-adapter.js';

export interface StoreConfig {
  /** postgres://... selects a PostgreSQL server. */
  databaseUrl?: string;
  /** Folder of the embedded database; 'memory://' for an in-memory one. */
  dataDir?: string;
}

export async function openStore(config: StoreConfig): Promise<Db> {
  let db: Db;
  if (config.databaseUrl) db = await openPg(config.databaseUrl);
  else {
    const dir = config.dataDir ?? './.custodian';
    if (dir !== 'memory://') mkdirSync(dir, { recursive: true });
    db = await openPGlite(dir === 'memory://' ? undefined : dir);
  }
  try {
    await migrate(db);
    // search indexes an interrupted bulk load set aside (store/deferred-indexes.ts)
    await restoreSearchIndexes(db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

export function describeStore(config: StoreConfig): string {
  if (config.databaseUrl) {
    try {
      const u = new URL(config.databaseUrl);
      return `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`; // never the password
    } catch {
      return 'PostgreSQL';
    }
  }
  return `embedded PGlite in ${config.dataDir ?? './.custodian'}`;
}
