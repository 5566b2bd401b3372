/** The demo dataset: every worklist has real items on the first start. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends } from '../helpers/db.js';
import type { Db } from '../../src/store/db.js';
import { loadDemoData, type DemoSummary } from '../../src/records/demo.js';

// The whole demo on one backend (PostgreSQL when configured: it is the faster one here).
const backend = backends().at(-1)!;

describe(`demo data (${backend.name})`, () => {
  let db: Db;
  let summary: DemoSummary | undefined;
  before(async () => {
    db = await backend.open();
    summary = await loadDemoData({ db, strict: false });
  });
  after(async () => db.close());

  const tasks = async (code: string): Promise<{ id: string; for: string | null }[]> =>
    (await db.query<{ id: string; for: string | null }>(
      `SELECT id, content->'for'->>'reference' AS for FROM resource WHERE resource_type = 'Task' AND NOT deleted
          AND content->'code'->'coding'->0->>'code' = $1 AND content->>'status' NOT IN ('completed', 'cancelled')`,
      [code],
    )).rows;

  it('loads once, with no failures, and raises deficiency tasks', async () => {
    assert.ok(summary);
    assert.ok(summary.resources > 7000);
    assert.ok(summary.deficiencies > 0);
    assert.ok((await tasks('deficiency')).length > 0);
    assert.equal(await loadDemoData({ db, strict: false }), undefined, 'a second start loads nothing');
  });

  it('finds the patients registered twice as possible duplicates', async () => {
    const dups = await db.query<{ id: string }>(`SELECT id FROM resource WHERE resource_type = 'Patient' AND id LIKE 'dup-%'`);
    assert.equal(dups.rows.length, 5);
    const review = await db.query<{ content: string | object }>(
      `SELECT content FROM resource WHERE resource_type = 'Task' AND content->'code'->'coding'->0->>'code' = 'possible-duplicate'`,
    );
    const text = review.rows.map((r) => (typeof r.content === 'string' ? r.content : JSON.stringify(r.content))).join('\n');
    const found = dups.rows.filter((d) => text.includes(`Patient/${d.id}`));
    assert.ok(found.length >= 4, `possible-duplicate tasks name ${found.length} of the 5 duplicates`);
  });

  it('has a data-quality run with failed checks to drill into', async () => {
    const runs = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM check_run`);
    assert.equal(Number(runs.rows[0]?.n), 1);
    assert.ok((summary?.checks ?? 0) >= 60);
  });
});
