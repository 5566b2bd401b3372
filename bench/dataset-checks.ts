/**
 * Builds the ~1,000,000-resource dataset the check benchmark runs over, on PostgreSQL.
 *
 *   node --import tsx bench/dataset-checks.ts [--schema bench_1m] [--bundles DIR] [--target 1000000]
 *
 * 1. Imports the Synthea bundles (default ../shared/data/synthea/r4-bundles) once into a fresh schema
 *    through the product's own import path (src/records/import-files.ts), so resource rows and every
 *    search index row are exactly what the store writes.
 * 2. Replicates that seed in SQL, set-based, until the target is reached: copy k rewrites every resource
 *    id (all Synthea ids are UUIDs) by prefixing it with "k<copy>-", with one regexp over the
 *    resource JSON (ids, references and UUID-valued identifiers alike), the compartments, and the
 *    id / target_id / url / token-value columns of the index tables, so references stay consistent
 *    inside each copy and never cross copies. Secondary indexes are dropped for the load and rebuilt
 *    after it, then the tables are analysed. History rows are not replicated (checks never read them).
 *
 * Prints the URL of the schema (pass it to bench/checks.ts --existing).
 */
import path from 'node:path';
import { openPg } from '../src/store/pg-adapter.js';
import { openStore } from '../src/store/open.js';
import { importFiles } from '../src/records/import-files.js';
import { BENCH_DATABASE_URL } from './util.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const schema = arg('--schema') ?? 'bench_1m';
const bundles = arg('--bundles') ?? path.resolve('../shared/data/synthea/r4-bundles');
const target = Number(arg('--target') ?? 1_000_000);
if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error('bad schema name');

const u = new URL(BENCH_DATABASE_URL);
u.searchParams.set('options', `-c search_path=${schema}`);
const url = u.toString();
const t0 = performance.now();
const secs = (): string => ((performance.now() - t0) / 1000).toFixed(1);

const admin = await openPg(BENCH_DATABASE_URL, { max: 1 });
await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
await admin.close();

const db = await openStore({ databaseUrl: url });
try {
  const s = await importFiles({ db, strict: false }, [bundles]);
  const seed = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM resource')).rows[0]!.n);
  console.log(`[${secs()} s] seed: imported ${s.resources} resources (${seed} rows) from ${bundles}`);
  const copies = Math.max(1, Math.ceil(target / seed));

  // Keep the seed aside, drop secondary indexes, replicate, rebuild.
  await db.exec(`CREATE TABLE seed_resource AS SELECT * FROM resource;
    CREATE TABLE seed_token AS SELECT * FROM sp_token; CREATE TABLE seed_string AS SELECT * FROM sp_string;
    CREATE TABLE seed_date AS SELECT * FROM sp_date; CREATE TABLE seed_reference AS SELECT * FROM sp_reference;
    CREATE TABLE seed_number AS SELECT * FROM sp_number; CREATE TABLE seed_quantity AS SELECT * FROM sp_quantity;
    CREATE TABLE seed_uri AS SELECT * FROM sp_uri;`);
  const tables = ['resource', 'sp_token', 'sp_string', 'sp_date', 'sp_reference', 'sp_number', 'sp_quantity', 'sp_uri'];
  const idx = await db.query<{ indexname: string; indexdef: string }>(
    `SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = $1 AND i.tablename = ANY($2::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
    [schema, tables],
  );
  for (const i of idx.rows) await db.exec(`DROP INDEX ${i.indexname}`);
  await db.exec(`ALTER TABLE resource DROP CONSTRAINT resource_pkey`);

  // Prefixing keeps the rewrite injective (replacing part of a UUID collided: Synthea's
  // practitioner and organisation UUIDs share long runs).
  const re = `'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'`;
  const rw = (e: string, k: number): string => `regexp_replace(${e}, ${re}, 'k${k}-\\1', 'g')`;
  for (let k = 1; k < copies; k++) {
    await db.exec(`SET synchronous_commit = off;
      INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content_hash, compartments, content)
        SELECT resource_type, ${rw('id', k)}, version_id, last_updated, deleted, content_hash, ${rw('compartments::text', k)}::text[], ${rw('content::text', k)}::jsonb FROM seed_resource;
      INSERT INTO sp_token SELECT resource_type, ${rw('id', k)}, code, system, ${rw('value', k)}, text, ${rw('patient', k)} FROM seed_token;
      INSERT INTO sp_string SELECT resource_type, ${rw('id', k)}, code, value, norm FROM seed_string;
      INSERT INTO sp_date SELECT resource_type, ${rw('id', k)}, code, lo, hi FROM seed_date;
      INSERT INTO sp_reference SELECT resource_type, ${rw('id', k)}, code, target_type, ${rw('target_id', k)}, ${rw('url', k)} FROM seed_reference;
      INSERT INTO sp_number SELECT resource_type, ${rw('id', k)}, code, value FROM seed_number;
      INSERT INTO sp_quantity SELECT resource_type, ${rw('id', k)}, code, value, system, unit FROM seed_quantity;
      INSERT INTO sp_uri SELECT resource_type, ${rw('id', k)}, code, value FROM seed_uri;`);
    if (k % 5 === 0 || k === copies - 1) console.log(`[${secs()} s] copy ${k + 1}/${copies}`);
  }
  await db.exec(`ALTER TABLE resource ADD PRIMARY KEY (resource_type, id)`);
  await db.exec(`SET maintenance_work_mem = '512MB'; ${idx.rows.map((i) => i.indexdef).join(';\n')}`);
  await db.exec(`DROP TABLE seed_resource, seed_token, seed_string, seed_date, seed_reference, seed_number, seed_quantity, seed_uri`);
  await db.exec('VACUUM ANALYZE');
  const n = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM resource')).rows[0]!.n);
  console.log(`[${secs()} s] ${n} resources in schema ${schema} (${copies} copies of ${seed}); indexes rebuilt, analysed`);
  console.log(url);
} finally {
  await db.close();
}
