/** Imported code-system releases in the database (table code_system_release). */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Queryable } from './db.js';
import type { Release, ReleaseSummary } from '../terminology/model.js';
import { summarize } from '../terminology/model.js';

export async function saveRelease(db: Queryable, r: Release): Promise<void> {
  const s = summarize(r);
  const content = gzipSync(JSON.stringify(r));
  await db.query(
    `INSERT INTO code_system_release (system, kind, version, effective_from, effective_to, source, entry_count, billable_count, content)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (system, kind, version) DO UPDATE SET effective_from = EXCLUDED.effective_from, effective_to = EXCLUDED.effective_to,
       source = EXCLUDED.source, entry_count = EXCLUDED.entry_count, billable_count = EXCLUDED.billable_count, content = EXCLUDED.content, imported_at = now()`,
    [r.system, r.kind, r.version, r.effectiveFrom, r.effectiveTo ?? null, r.source, s.count, s.billable ?? null, content],
  );
}

export async function listStoredReleases(db: Queryable): Promise<(ReleaseSummary & { importedAt: string })[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT system, kind, version, to_char(effective_from, 'YYYY-MM-DD') AS ef, to_char(effective_to, 'YYYY-MM-DD') AS et, source,
            entry_count::int AS n, billable_count::int AS b, imported_at::text AS at FROM code_system_release ORDER BY effective_from, system`,
  );
  return rows.rows.map((x) => ({
    system: String(x.system), kind: x.kind as Release['kind'], version: String(x.version), effectiveFrom: String(x.ef),
    ...(x.et ? { effectiveTo: String(x.et) } : {}), source: String(x.source), count: Number(x.n),
    ...(x.b !== null && x.b !== undefined ? { billable: Number(x.b) } : {}), importedAt: String(x.at),
  }));
}

export async function loadStoredReleases(db: Queryable): Promise<Release[]> {
  const rows = await db.query<{ content: Uint8Array }>('SELECT content FROM code_system_release ORDER BY effective_from');
  return rows.rows.map((r) => JSON.parse(gunzipSync(Buffer.from(r.content)).toString('utf8')) as Release);
}
