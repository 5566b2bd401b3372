/** Where the CLI's database is: DATABASE_URL, else --data DIR, else CUSTODIAN_DATA, else ./.custodian. */
import type { StoreConfig } from '../store/open.js';

export function storeConfig(opts: { data?: string }): StoreConfig {
  const databaseUrl = process.env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl) return { databaseUrl };
  return { dataDir: opts.data ?? process.env.CUSTODIAN_DATA ?? './.custodian' };
}
