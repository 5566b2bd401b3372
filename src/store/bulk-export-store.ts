/** Bulk export jobs and the set-based reads behind them. */
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Db, Queryable } from './db.js';

export interface ExportJobRow {
  id: string;
  status: 'in-progress' | 'complete' | 'error' | 'cancelled';
  level: 'system' | 'patient' | 'group';
  request_url: string;
  params: { types?: string[]; since?: string; patients?: string[]; excludeCodes?: string[] };
  transaction_time: string;
  progress: string | null;
  output: { type: string; file: string; count: number }[];
  error: string | null;
}

export async function insertJob(q: Queryable, job: Pick<ExportJobRow, 'id' | 'level' | 'request_url' | 'params' | 'transaction_time'>): Promise<void> {
  await q.query(
    `INSERT INTO bulk_export_job (id, status, level, request_url, params, transaction_time) VALUES ($1, 'in-progress', $2, $3, $4::jsonb, $5::timestamptz)`,
    [job.id, job.level, job.request_url, JSON.stringify(job.params), job.transaction_time],
  );
}

export async function getJob(q: Queryable, id: string): Promise<ExportJobRow | undefined> {
  const r = await q.query<ExportJobRow & { params: unknown; output: unknown; transaction_time: unknown }>(
    'SELECT id, status, level, request_url, params, transaction_time, progress, output, error FROM bulk_export_job WHERE id = $1',
    [id],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  const parse = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
  const tt = row.transaction_time as unknown;
  return { ...row, params: parse(row.params), output: parse(row.output), transaction_time: tt instanceof Date ? tt.toISOString() : new Date(String(tt)).toISOString() };
}

export async function updateJob(q: Queryable, id: string, fields: Partial<Pick<ExportJobRow, 'status' | 'progress' | 'output' | 'error'>>): Promise<void> {
  const sets: string[] = ['updated_at = now()'];
  const params: unknown[] = [id];
  for (const [k, v] of Object.entries(fields)) {
    params.push(k === 'output' ? JSON.stringify(v) : v);
    sets.push(`${k} = $${params.length}${k === 'output' ? '::jsonb' : ''}`);
  }
  await q.query(`UPDATE bulk_export_job SET ${sets.join(', ')} WHERE id = $1`, params);
}

/** Resource types present, optionally limited to the patient compartment types. */
export async function exportTypes(q: Queryable, options: { types?: string[]; compartmentOnly: boolean }): Promise<string[]> {
  const params: unknown[] = [];
  let where = 'NOT deleted';
  if (options.types?.length) {
    params.push(options.types);
    where += ` AND resource_type = ANY($${params.length}::text[])`;
  }
  if (options.compartmentOnly) where += ` AND (resource_type = 'Patient' OR cardinality(compartments) > 0)`;
  const r = await q.query<{ resource_type: string }>(`SELECT DISTINCT resource_type FROM resource WHERE ${where} ORDER BY resource_type`, params);
  return r.rows.map((x) => x.resource_type);
}

export interface ExportFilter {
  since?: string;
  /** Patient level: only resources in some patient's compartment. */
  compartmentOnly?: boolean;
  /** Group level: only resources in these patients' compartments. */
  patients?: string[];
  /** Leave out records labelled (meta.security) with these codes, or in the compartment of a patient so labelled. */
  excludeCodes?: string[];
}

const LABELLED = (alias: string, codesParam: string): string =>
  `EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(${alias}.content->'meta'->'security', '[]'::jsonb)) sec WHERE sec->>'code' = ANY(${codesParam}::text[]))`;

/** Patients labelled with any of the codes: their whole compartment is sensitive. */
export async function labelledPatients(q: Queryable, codes: string[]): Promise<string[]> {
  if (codes.length === 0) return [];
  const r = await q.query<{ id: string }>(`SELECT p.id FROM resource p WHERE p.resource_type = 'Patient' AND NOT p.deleted AND ${LABELLED('p', '$1')}`, [codes]);
  return r.rows.map((x) => x.id);
}

/** Renders a value into the export statement: a parameter placeholder, or a literal for COPY. */
type Bind = (value: string | string[]) => string;

/** Which resources of one type an export writes (the same rows whichever way they are read). */
function exportWhere(resourceType: string, filter: ExportFilter, hiddenPatients: string[], bind: Bind): string {
  let where = `resource_type = ${bind(resourceType)} AND NOT deleted`;
  if (filter.since) where += ` AND last_updated >= ${bind(filter.since)}::timestamptz`;
  if (filter.patients) where += ` AND compartments && ${bind(filter.patients)}::text[]`;
  else if (filter.compartmentOnly && resourceType !== 'Patient') where += ' AND cardinality(compartments) > 0';
  if (filter.excludeCodes?.length) {
    where += ` AND NOT ${LABELLED('resource', bind(filter.excludeCodes))}`;
    if (hiddenPatients.length) where += ` AND NOT (compartments && ${bind(hiddenPatients)}::text[])`;
  }
  return where;
}

/** A dollar-quoted SQL literal (independent of standard_conforming_strings); the tag never occurs in the text. */
function dollarQuoted(text: string): string {
  let tag = 'x';
  while (text.includes(`$${tag}$`)) tag += 'x';
  return `$${tag}$${text}$${tag}$`;
}

const literal: Bind = (v) => (Array.isArray(v) ? `ARRAY[${v.map(dollarQuoted).join(', ')}]::text[]` : dollarQuoted(v));

/**
 * Streams resources of one type as JSON text lines, in pages by id (keyset), without parsing them:
 * jsonb's text form is one line of valid JSON.
 */
export async function* streamExportLines(q: Queryable, resourceType: string, filter: ExportFilter, pageSize = 5000): AsyncGenerator<string[]> {
  let after = '';
  const hiddenPatients = filter.excludeCodes?.length ? await labelledPatients(q, filter.excludeCodes) : [];
  for (;;) {
    const params: unknown[] = [];
    const bind: Bind = (v) => {
      params.push(v);
      return `$${params.length}`;
    };
    const where = `${exportWhere(resourceType, filter, hiddenPatients, bind)} AND id > ${bind(after)}`;
    const r = await q.query<{ id: string; line: string }>(`SELECT id, content::text AS line FROM resource WHERE ${where} ORDER BY id LIMIT ${bind(String(pageSize))}::int`, params);
    if (r.rows.length === 0) return;
    yield r.rows.map((x) => x.line);
    after = (r.rows[r.rows.length - 1] as { id: string }).id;
    if (r.rows.length < pageSize) return;
  }
}

/**
 * Writes the NDJSON of one type to `out` (and ends it); returns the number of resources. On a
 * PostgreSQL server it is one COPY whose output is the file itself: CSV with a quote and a delimiter
 * that JSON text never holds (control characters are escaped in JSON), so each row is the resource's
 * JSON line, unchanged and unparsed. Elsewhere, pages of lines.
 */
export async function writeExportNdjson(db: Db, resourceType: string, filter: ExportFilter, out: Writable): Promise<number> {
  if (!db.copyOut) {
    let count = 0;
    await pipeline(async function* lines() {
      for await (const page of streamExportLines(db, resourceType, filter)) {
        count += page.length;
        yield `${page.join('\n')}\n`;
      }
    }, out);
    return count;
  }
  const hiddenPatients = filter.excludeCodes?.length ? await labelledPatients(db, filter.excludeCodes) : [];
  const where = exportWhere(resourceType, filter, hiddenPatients, literal);
  const copy = await db.copyOut(`COPY (SELECT content::text FROM resource WHERE ${where}) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`);
  let count = 0;
  await pipeline(copy, new Transform({
    transform(chunk: Buffer, _enc, done) {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) count++;
      done(null, chunk);
    },
  }), out);
  return count;
}
