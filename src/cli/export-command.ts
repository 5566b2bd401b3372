/** custodian export --out DIR [--type T,...]: one NDJSON file per resource type. */
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { isKnownResourceType } from '../fhir/definitions.js';
import { badRequest } from '../fhir/outcomes.js';
import { openStore } from '../store/open.js';
import { streamCurrent, typesPresent } from '../store/export.js';
import { storeConfig } from './config.js';

export async function exportCommand(opts: { out: string; type?: string; data?: string; json?: boolean }): Promise<number> {
  const types = opts.type ? opts.type.split(',').map((t) => t.trim()).filter(Boolean) : undefined;
  for (const t of types ?? []) if (!isKnownResourceType(t)) throw badRequest(`Unknown resource type "${t}"`, '--type');
  const db = await openStore(storeConfig(opts));
  try {
    mkdirSync(opts.out, { recursive: true });
    const counts: Record<string, number> = {};
    for (const t of types ?? (await typesPresent(db))) {
      const file = path.join(opts.out, `${t}.ndjson`);
      const out = createWriteStream(file);
      let n = 0;
      for await (const batch of streamCurrent(db, t)) {
        if (!out.write(batch.map((r) => JSON.stringify(r)).join('\n') + '\n')) await once(out, 'drain');
        n += batch.length;
      }
      out.end();
      await once(out, 'finish');
      counts[t] = n;
    }
    if (opts.json) process.stdout.write(`${JSON.stringify({ out: opts.out, counts }, null, 2)}\n`);
    else for (const [t, n] of Object.entries(counts)) process.stdout.write(`${t}.ndjson: ${n}\n`);
    return 0;
  } finally {
    await db.close();
  }
}
