/** custodian reindex: rebuild every current resource's search index rows from its stored content. */
import { openStore } from '../store/open.js';
import { reindexAll } from '../store/reindex.js';
import { storeConfig } from './config.js';
import { progressBar } from './output.js';

export async function reindexCommand(opts: { data?: string; json?: boolean }): Promise<number> {
  const db = await openStore(storeConfig(opts));
  const bar = progressBar(!opts.json);
  try {
    const started = Date.now();
    const r = await reindexAll(db, { onProgress: (n, total) => bar.update(n, total, 'resources') });
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...r, seconds }, null, 2)}\n`);
    else process.stdout.write(`Reindexed ${r.resources} resources (${r.indexRows} index rows) in ${seconds.toFixed(1)} s\n`);
    return 0;
  } finally {
    await db.close();
  }
}
