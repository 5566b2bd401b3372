/**
 * The resource repository: versioned, soft-deleting writes of many resources in one statement, and
 * reads of current and past versions. Every function takes the Queryable it runs on, so a caller
 * can put several calls in one transaction.
 */
import type { Resource } from '@medplum/fhirtypes';
import { contentHash, storedJsonAndHash } from '../fhir/canonical.js';
import { patientCompartments } from '../fhir/compartments.js';
import { buildIndexRows, normaliseString, type IndexRows } from '../fhir/index-values.js';
import { filedUnderPatient, patientOf } from '../fhir/patient-key.js';
import { conflict, gone, notFound, preconditionFailed } from '../fhir/outcomes.js';
import type { Queryable } from './db.js';

export interface StoredResource {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  deleted: boolean;
  resource: Resource;
}

export type WriteMethod = 'POST' | 'PUT' | 'DELETE';

export interface WriteRequest {
  resourceType: string;
  id: string;
  /** The new content; absent for a delete. */
  resource?: Resource;
  method: WriteMethod;
  /** Expected current version (If-Match); a mismatch fails the whole write with 412. */
  ifMatch?: number;
  /** A create with a server-assigned id: a row that already exists is a conflict. */
  mustBeNew?: boolean;
}

export type WriteOutcome = 'created' | 'updated' | 'unchanged' | 'deleted' | 'already-deleted';

export interface WriteResult {
  outcome: WriteOutcome;
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: string;
  resource?: Resource;
  /** Patients whose compartment holds the resource (for a delete: as it was before). */
  compartments: string[];
}

interface CurrentRow {
  resource_type: string;
  id: string;
  version_id: number;
  deleted: boolean;
  content_hash: string;
  last_updated: string;
  compartments: string[] | string;
}

const key = (t: string, id: string): string => `${t}/${id}`;

function toIso(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  const s = String(v);
  const d = new Date(s.includes('T') ? s : s.replace(' ', 'T'));
  return Number.isNaN(d.getTime()) ? s : d.toISOString();
}

/**
 * A write whose content is already checksummed, with its stored form (index rows, compartments and
 * JSON at a given version) built on demand: the bulk import prepares these off the main thread.
 */
export interface PreparedWrite extends Omit<WriteRequest, 'resource'> {
  /** Content hash of the new content (`contentHash`); absent for a delete. */
  hash?: string;
  /** The stored form at a version; called only for resources that change. Absent for a delete. */
  store?: (versionId: number, lastUpdated: string) => StoredForm;
  /** The new content, when the caller wants it back in the results. */
  resource?: Resource;
}

export interface StoredForm {
  /** The index rows, as objects or as COPY text (one string per index table: `indexCopyText`). */
  index: IndexRows | string[];
  compartments: string[];
  json: string;
  /**
   * `json` as COPY text, when the caller has it for less than escaping `json` costs (a bulk load:
   * `templateStore`). Escaping reads the whole JSON, and first flattens it when it was put
   * together from parts.
   */
  copyJson?: string;
  /** The stored resource (with meta), returned in the write result when given. */
  resource?: Resource;
}

/** The stored form of a resource at a version: the JSON with meta, its index rows and compartments. */
export function storedForm(resource: Resource, id: string, versionId: number, lastUpdated: string): StoredForm {
  const stored = withMeta(resource, id, versionId, lastUpdated);
  const index = buildIndexRows(stored);
  return { index, compartments: patientCompartments(stored, index.reference), json: JSON.stringify(stored), resource: stored };
}

/**
 * The stored form with the version and the time left open, for a caller that prepares writes before
 * it knows them (the bulk import, in worker threads): the JSON comes in three pieces around the two
 * values, and fillStoredJson completes it; with its content hash (storedJsonAndHash writes both in
 * one pass). Index rows and compartments do not depend on either value (no indexed search parameter
 * reads meta.versionId or meta.lastUpdated; test/import checks the rows).
 */
export function storedFormTemplate(resource: Resource, id: string): { hash: string; index: IndexRows; compartments: string[]; json: [string, string, string] } {
  const stored = resource.id === id ? resource : ({ ...resource, id } as Resource);
  const index = buildIndexRows(stored);
  const { hash, json } = storedJsonAndHash(resource, id);
  return { hash, index, compartments: patientCompartments(stored, index.reference), json };
}

/** Completes a storedFormTemplate JSON at a version and time. */
export function fillStoredJson(json: [string, string, string], versionId: number, lastUpdated: string): string {
  return `${json[0]}${versionId}${json[1]}${lastUpdated}${json[2]}`;
}

/**
 * A prepared write's `store` from its storedFormTemplate JSON and index rows (a bulk import). The
 * COPY text of the JSON is the template's parts escaped, each a flat string, then filled: a version
 * number and an instant need no escaping. Escaping the filled JSON instead (a string of five parts)
 * made V8 flatten it first, copying it for nothing: half of writePrepared's own CPU in an import
 * (19 µs a resource without a database, 8.6 µs now).
 */
export function templateStore(json: [string, string, string], index: IndexRows | string[], compartments: string[]): NonNullable<PreparedWrite['store']> {
  return (v, lastUpdated) => {
    const escaped = json.map(copyText) as [string, string, string];
    return { index, compartments, json: fillStoredJson(json, v, lastUpdated), copyJson: fillStoredJson(escaped, v, lastUpdated) };
  };
}

/**
 * Writes resources as one set-based statement (after one locking read). Same-content writes are
 * skipped (no new version). Call inside a transaction when several writes must stand or fall together.
 */
export async function writeResources(q: Queryable, requests: WriteRequest[], now?: Date): Promise<WriteResult[]> {
  return writePrepared(q, requests.map((req) => {
    if (req.method === 'DELETE') return { ...req, resource: undefined };
    const resource = req.resource as Resource;
    return {
      ...req,
      hash: contentHash({ ...resource, id: req.id } as Resource),
      store: (v: number, lu: string) => storedForm(resource, req.id, v, lu),
    };
  }), now);
}

/** writeResources for writes whose hash and stored form are prepared by the caller. */
export async function writePrepared(q: Queryable, requests: PreparedWrite[], now?: Date): Promise<WriteResult[]> {
  if (requests.length === 0) return [];
  const types = requests.map((r) => r.resourceType);
  const ids = requests.map((r) => r.id);
  const existing = await q.query<CurrentRow>(
    `SELECT r.resource_type, r.id, r.version_id, r.deleted, r.content_hash, r.last_updated, r.compartments
       FROM resource r JOIN unnest($1::text[], $2::text[]) AS k(t, i) ON r.resource_type = k.t AND r.id = k.i
      ORDER BY r.resource_type, r.id
      FOR UPDATE OF r`,
    [types, ids],
  );
  const state = new Map<string, { versionId: number; deleted: boolean; hash: string; lastUpdated: string; compartments: string[] }>();
  for (const row of existing.rows) {
    state.set(key(row.resource_type, row.id), {
      versionId: Number(row.version_id),
      deleted: row.deleted,
      hash: row.content_hash,
      lastUpdated: toIso(row.last_updated),
      compartments: textArray(row.compartments),
    });
  }

  const inStore = new Set(state.keys());

  // The clock is read after the locks are held, so versions of one resource are in time order;
  // it never goes backwards for a resource even if the wall clock does.
  let time = (now ?? new Date()).getTime();
  for (const s of state.values()) time = Math.max(time, Date.parse(s.lastUpdated) + 1);
  const lastUpdated = new Date(time).toISOString();

  const results: WriteResult[] = [];
  // Final row per resource (a resource written twice in one batch keeps its last state).
  const finalRows = new Map<string, FinalRow>();
  const hist: HistoryRow[] = [];

  for (const req of requests) {
    const k = key(req.resourceType, req.id);
    const cur = state.get(k);
    if (req.mustBeNew && cur) throw conflict(`${k} already exists`);
    if (req.ifMatch !== undefined) {
      if (!cur || cur.deleted) throw preconditionFailed(`If-Match: ${k} does not exist`);
      if (cur.versionId !== req.ifMatch) {
        throw preconditionFailed(`If-Match: ${k} is at version ${cur.versionId}, not ${req.ifMatch}`);
      }
    }
    if (req.method === 'DELETE') {
      if (!cur) {
        results.push({ outcome: 'already-deleted', resourceType: req.resourceType, id: req.id, versionId: 0, lastUpdated, compartments: [] });
        continue;
      }
      if (cur.deleted) {
        results.push({ outcome: 'already-deleted', resourceType: req.resourceType, id: req.id, versionId: cur.versionId, lastUpdated: cur.lastUpdated, compartments: cur.compartments });
        continue;
      }
      const v = cur.versionId + 1;
      state.set(k, { versionId: v, deleted: true, hash: cur.hash, lastUpdated, compartments: cur.compartments });
      const prev = finalRows.get(k);
      finalRows.set(k, { t: req.resourceType, id: req.id, v, deleted: true, hash: cur.hash, comps: prev?.comps ?? '', json: null, hadRows: true, exists: inStore.has(k) });
      hist.push({ t: req.resourceType, id: req.id, v, deleted: true, method: 'DELETE', json: null });
      results.push({ outcome: 'deleted', resourceType: req.resourceType, id: req.id, versionId: v, lastUpdated, compartments: cur.compartments });
      continue;
    }
    const hash = req.hash as string;
    if (cur && !cur.deleted && cur.hash === hash) {
      const unchanged = req.resource ? withMeta(req.resource, req.id, cur.versionId, cur.lastUpdated) : undefined;
      results.push({ outcome: 'unchanged', resourceType: req.resourceType, id: req.id, versionId: cur.versionId, lastUpdated: cur.lastUpdated, resource: unchanged, compartments: cur.compartments });
      continue;
    }
    const v = (cur?.versionId ?? 0) + 1;
    const { index, compartments, json, copyJson, resource: stored } = (req.store as NonNullable<PreparedWrite['store']>)(v, lastUpdated);
    const comps = compartments.join(',');
    state.set(k, { versionId: v, deleted: false, hash, lastUpdated, compartments });
    finalRows.set(k, { t: req.resourceType, id: req.id, v, deleted: false, hash, comps, json, copyJson, index, hadRows: !!cur || finalRows.has(k), exists: inStore.has(k) });
    hist.push({ t: req.resourceType, id: req.id, v, deleted: false, method: req.method, json });
    results.push({ outcome: cur && !cur.deleted ? 'updated' : 'created', resourceType: req.resourceType, id: req.id, versionId: v, lastUpdated, resource: stored, compartments });
  }

  if (finalRows.size > 0) await persist(q, [...finalRows.values()], hist, lastUpdated);
  return results;
}

interface FinalRow {
  t: string; id: string; v: number; deleted: boolean; hash: string; comps: string; json: string | null; copyJson?: string; index?: IndexRows | string[];
  /** Index rows may exist for it (a row in the store, or an earlier write in this batch). */
  hadRows: boolean;
  /** Its resource row is in the store (read under lock at the start of the write). */
  exists: boolean;
}
interface HistoryRow { t: string; id: string; v: number; deleted: boolean; method: string; json: string | null }

/** A text[] as node-postgres (array) or PGlite (array, or '{a,b}' text) returns it. */
function textArray(v: string[] | string | null | undefined): string[] {
  if (Array.isArray(v)) return v;
  if (!v || v === '{}') return [];
  return v.replace(/^\{|\}$/g, '').split(',').map((x) => x.replace(/^"|"$/g, ''));
}

function withMeta(resource: Resource, id: string, versionId: number | string, lastUpdated: string): Resource {
  return { ...resource, id, meta: { ...resource.meta, versionId: String(versionId), lastUpdated } } as Resource;
}

/**
 * Writes with at least this many resources (and every prepared import file) go by COPY: one round
 * trip per table, rows parsed straight into the table, no arrays to unpack and no upsert for new
 * rows. Smaller writes (an API create) stay one statement. A new row is not there to lock: two
 * writes creating it at once meet at its primary key, and the later fails (409, toOutcomeError).
 */
const COPY_FROM = 32;

async function persist(q: Queryable, rows: FinalRow[], hist: HistoryRow[], lastUpdated: string): Promise<void> {
  const replaced = rows.filter((r) => r.hadRows);
  if (rows.length < COPY_FROM && !rows.some((r) => Array.isArray(r.index))) {
    const st = persistStatement(rows, hist, replaced, lastUpdated, true);
    await q.query(st.sql, st.params);
    return;
  }
  // Rows already in the store are updated (and old index rows deleted) by one statement; then the
  // new resource rows, the history rows and every index row are copied in.
  const existing = rows.filter((r) => r.exists);
  if (existing.length || replaced.length) {
    const st = persistStatement(existing, [], replaced, lastUpdated, false);
    await q.query(st.sql, st.params);
  }
  const fresh = rows.filter((r) => !r.exists);
  const lu = copyText(lastUpdated);
  if (fresh.length) {
    await q.copyIn('resource', ['resource_type', 'id', 'version_id', 'last_updated', 'deleted', 'content_hash', 'compartments', 'content'],
      copyRows(fresh, (r) => [copyText(r.t), copyText(r.id), String(r.v), lu, r.deleted ? 't' : 'f', copyText(r.hash), copyText(arrayText(r.comps ? r.comps.split(',') : [])), r.json === null ? '{}' : (r.copyJson ?? copyText(r.json))]));
  }
  // History rows by COPY; the current version's holds no JSON (the resource row has it: see the
  // resource_version view, migration 043), earlier versions written by this same write do.
  if (hist.length) {
    const current = currentVersions(rows);
    await q.copyIn('resource_history', ['resource_type', 'id', 'version_id', 'last_updated', 'deleted', 'method', 'content'],
      copyRows(hist, (h) => [copyText(h.t), copyText(h.id), String(h.v), lu, h.deleted ? 't' : 'f', copyText(h.method), h.json === null || isCurrent(h, current) ? '\\N' : copyText(h.json)]));
  }
  const copies = rows.map((r) => (r.index === undefined || Array.isArray(r.index) ? r.index : indexCopyText(r.t, r.id, r.index)));
  for (let i = 0; i < INDEX_TABLES.length; i++) {
    const data = copies.map((c) => c?.[i] ?? '').join('');
    const t = INDEX_TABLES[i] as (typeof INDEX_TABLES)[number];
    if (data) await q.copyIn(t.table, ['resource_type', 'id', ...t.cols], data);
  }
}

/** Each written resource's final version. */
function currentVersions(rows: FinalRow[]): Map<string, number> {
  return new Map(rows.map((r) => [key(r.t, r.id), r.v]));
}

/** A history row that is its resource's current version (not a deletion): its JSON is the resource row's. */
function isCurrent(h: HistoryRow, current: Map<string, number>): boolean {
  return !h.deleted && current.get(key(h.t, h.id)) === h.v;
}

/** A resource's index rows as COPY text: one string per index table, in INDEX_TABLES order. */
export function indexCopyText(t: string, id: string, index: IndexRows): string[] {
  const head = `${copyText(t)}\t${copyText(id)}`;
  return INDEX_TABLES.map((table) => {
    let out = '';
    for (const values of table.rows(index, t)) out += `${head}\t${values.map(copyText).join('\t')}\n`;
    return out;
  });
}

/** The one statement of a write: resource rows upserted, history inserted, index rows replaced. */
function persistStatement(rows: FinalRow[], hist: HistoryRow[], replaced: { t: string; id: string }[], lastUpdated: string, withIndexRows: boolean): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown): string => {
    params.push(v);
    return `$${params.length}`;
  };
  // The JSON of the new versions goes as one JSON array, parsed once by the server (no text[] to
  // unescape), and each version's element serves both its resource row and its history row.
  const docs: string[] = [];
  const docOf = new Map<string, number>();
  const doc = (json: string | null): number | null => {
    if (json === null) return null;
    let n = docOf.get(json);
    if (n === undefined) {
      docs.push(json);
      n = docs.length;
      docOf.set(json, n);
    }
    return n;
  };
  const rj = rows.map((r) => doc(r.json));
  const current = currentVersions(rows);
  const hj = hist.map((h) => (isCurrent(h, current) ? null : doc(h.json)));
  const ctes: string[] = [];
  // The versions these rows replace get their JSON into their history rows before the resource
  // rows change (every part of one statement reads the store as it was before it).
  const kept = rows.filter((r) => r.exists);
  if (kept.length) {
    ctes.push(`kept AS (
    UPDATE resource_history h SET content = cur.content
      FROM resource cur JOIN unnest(${p(kept.map((r) => r.t))}::text[], ${p(kept.map((r) => r.id))}::text[]) AS k(t, i) ON cur.resource_type = k.t AND cur.id = k.i
     WHERE h.resource_type = cur.resource_type AND h.id = cur.id AND h.version_id = cur.version_id
       AND h.content IS NULL AND NOT h.deleted AND NOT cur.deleted
    RETURNING 1)`);
  }
  // (a write that only deletes index rows has neither, and no parameter may go unused)
  const lu = rows.length || hist.length ? p(lastUpdated) : '';
  if (rows.length || hist.length) ctes.push(`docs AS (SELECT n, e FROM jsonb_array_elements(${p(`[${docs.join(',')}]`)}::jsonb) WITH ORDINALITY AS x(e, n))`);
  if (rows.length) {
    ctes.push(`up AS (
    INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content_hash, compartments, content)
    SELECT t, i, v, ${lu}::timestamptz, d, h, coalesce(string_to_array(nullif(c, ''), ','), '{}'), coalesce(docs.e, '{}'::jsonb)
      FROM unnest(${p(rows.map((r) => r.t))}::text[], ${p(rows.map((r) => r.id))}::text[], ${p(rows.map((r) => r.v))}::int[],
                  ${p(rows.map((r) => r.deleted))}::bool[], ${p(rows.map((r) => r.hash))}::text[], ${p(rows.map((r) => r.comps))}::text[], ${p(rj)}::int[]) AS x(t, i, v, d, h, c, j)
      LEFT JOIN docs ON docs.n = x.j
    ON CONFLICT (resource_type, id) DO UPDATE SET
      version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted,
      content_hash = EXCLUDED.content_hash,
      compartments = CASE WHEN EXCLUDED.deleted THEN resource.compartments ELSE EXCLUDED.compartments END,
      content = CASE WHEN EXCLUDED.deleted THEN resource.content ELSE EXCLUDED.content END
    RETURNING 1)`);
  }
  if (hist.length) {
    ctes.push(`hist AS (
    INSERT INTO resource_history (resource_type, id, version_id, last_updated, deleted, method, content)
    SELECT t, i, v, ${lu}::timestamptz, d, m, docs.e
      FROM unnest(${p(hist.map((h) => h.t))}::text[], ${p(hist.map((h) => h.id))}::text[], ${p(hist.map((h) => h.v))}::int[],
                  ${p(hist.map((h) => h.deleted))}::bool[], ${p(hist.map((h) => h.method))}::text[], ${p(hj)}::int[]) AS x(t, i, v, d, m, j)
      LEFT JOIN docs ON docs.n = x.j
    RETURNING 1)`);
  }
  // (index rows as objects: the caller sends COPY-text rows, and every row of a big write, by COPY)
  ctes.push(...indexRowStatements(withIndexRows ? (rows as (FinalRow & { index?: IndexRows })[]) : [], replaced, p));
  return { sql: `WITH ${ctes.join(',\n')} SELECT 1`, params };
}

/** The index tables: their value columns, the SQL types of all columns, and a resource's rows. */
const INDEX_TABLES: { table: string; cols: string[]; types: string[]; rows: (x: IndexRows, resourceType: string) => unknown[][] }[] = [
  // token rows a search narrows by patient carry the resource's patient (fhir/patient-key.ts): a few patients' rows of one code by index
  {
    table: 'sp_token', cols: ['code', 'system', 'value', 'text', 'patient'], types: ['text', 'text', 'text', 'text', 'text'],
    rows: (x, t) => {
      const patient = patientOf(t, x.reference);
      return x.token.map((r) => [r.code, r.system, r.value, r.text, patient !== null && filedUnderPatient(t, r.code) ? patient : null]);
    },
  },
  { table: 'sp_string', cols: ['code', 'value', 'norm'], types: ['text', 'text', 'text'], rows: (x) => x.string.map((r) => [r.code, r.value, normaliseString(r.value)]) },
  { table: 'sp_date', cols: ['code', 'lo', 'hi'], types: ['text', 'timestamptz', 'timestamptz'], rows: (x) => x.date.map((r) => [r.code, r.lo, r.hi]) },
  { table: 'sp_reference', cols: ['code', 'target_type', 'target_id', 'url'], types: ['text', 'text', 'text', 'text'], rows: (x) => x.reference.map((r) => [r.code, r.targetType, r.targetId, r.url]) },
  { table: 'sp_number', cols: ['code', 'value'], types: ['text', 'numeric'], rows: (x) => x.number.map((r) => [r.code, r.value]) },
  { table: 'sp_quantity', cols: ['code', 'value', 'system', 'unit'], types: ['text', 'numeric', 'text', 'text'], rows: (x) => x.quantity.map((r) => [r.code, r.value, r.system, r.unit]) },
  { table: 'sp_uri', cols: ['code', 'value'], types: ['text', 'text'], rows: (x) => x.uri.map((r) => [r.code, r.value]) },
];

/** The names of the search index tables (one per parameter type). */
export const SEARCH_INDEX_TABLES: readonly string[] = INDEX_TABLES.map((t) => t.table);

/**
 * Statements (CTEs) replacing index rows: those of `replaced` deleted, those of `rows` inserted, each
 * table's rows as one unnest. `p` adds a parameter and returns its placeholder.
 */
export function indexRowStatements(rows: { t: string; id: string; index?: IndexRows }[], replaced: { t: string; id: string }[], p: (v: unknown) => string): string[] {
  const ctes: string[] = [];
  if (replaced.length) {
    // one statement per table and resource type, the type a parameter the planner sees as a value,
    // so that during a bulk load the partial index of the types a load repeats serves it
    // (store/deferred-indexes.ts)
    const byType = new Map<string, string[]>();
    for (const r of replaced) {
      const ids = byType.get(r.t);
      if (ids) ids.push(r.id);
      else byType.set(r.t, [r.id]);
    }
    let k = 0;
    for (const [t, ids] of byType) {
      const pt = p(t);
      const pi = p(ids);
      for (const { table } of INDEX_TABLES) {
        ctes.push(`del_${table}_${k} AS (DELETE FROM ${table} s WHERE s.resource_type = ${pt} AND s.id = ANY(${pi}::text[]) RETURNING 1)`);
      }
      k++;
    }
  }
  for (const t of INDEX_TABLES) {
    const cols: unknown[][] = [[], [], ...t.cols.map(() => [])];
    for (const r of rows) {
      if (!r.index) continue;
      for (const values of t.rows(r.index, r.t)) {
        (cols[0] as unknown[]).push(r.t);
        (cols[1] as unknown[]).push(r.id);
        values.forEach((v, i) => (cols[i + 2] as unknown[]).push(v));
      }
    }
    if ((cols[0] as unknown[]).length === 0) continue;
    const types = ['text', 'text', ...t.types];
    const args = cols.map((col, i) => `${p(col)}::${types[i]}[]`).join(', ');
    ctes.push(`ins_${t.table} AS (INSERT INTO ${t.table} (resource_type, id, ${t.cols.join(', ')}) SELECT * FROM unnest(${args}) RETURNING 1)`);
  }
  return ctes;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value as a field of COPY's text format: \N for null, backslash, tab and line breaks escaped. */
function copyText(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : String(v);
  // (four scans for a character are several times quicker than one regular expression's test)
  const special = s.includes('\\') || s.includes('\n') || s.includes('\t') || s.includes('\r');
  return special ? s.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c] as string) : s;
}

/** A text[] literal ({"a","b"}), each element quoted. */
function arrayText(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

/** COPY text lines of `items`, each made of the fields `fields` gives (already escaped). */
function copyRows<T>(items: T[], fields: (x: T) => string[]): string {
  let out = '';
  for (const x of items) out += `${fields(x).join('\t')}\n`;
  return out;
}

interface ResourceRow {
  resource_type: string;
  id: string;
  version_id: number;
  last_updated: unknown;
  deleted: boolean;
  content: Resource | string | null;
}

function parseContent(c: Resource | string | null): Resource {
  return (typeof c === 'string' ? JSON.parse(c) : c) as Resource;
}

function toStored(row: ResourceRow): StoredResource {
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId: Number(row.version_id),
    lastUpdated: toIso(row.last_updated),
    deleted: row.deleted,
    resource: parseContent(row.content),
  };
}

/** The current version, including a deleted one (flagged), or undefined when it never existed. */
export async function readCurrent(q: Queryable, resourceType: string, id: string): Promise<StoredResource | undefined> {
  const r = await q.query<ResourceRow>(
    'SELECT resource_type, id, version_id, last_updated, deleted, content FROM resource WHERE resource_type = $1 AND id = $2',
    [resourceType, id],
  );
  return r.rows[0] ? toStored(r.rows[0]) : undefined;
}

/** Read for the API: 404 when unknown, 410 when deleted. */
export async function readResource(q: Queryable, resourceType: string, id: string): Promise<StoredResource> {
  const cur = await readCurrent(q, resourceType, id);
  if (!cur) throw notFound(`${resourceType}/${id} not found`);
  if (cur.deleted) throw gone(`${resourceType}/${id} was deleted`);
  return cur;
}

export async function readVersion(q: Queryable, resourceType: string, id: string, versionId: number): Promise<StoredResource> {
  const r = await q.query<ResourceRow>(
    `SELECT resource_type, id, version_id, last_updated, deleted, content FROM resource_version
      WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
    [resourceType, id, versionId],
  );
  const row = r.rows[0];
  if (!row) throw notFound(`${resourceType}/${id}/_history/${versionId} not found`);
  if (row.deleted) throw gone(`${resourceType}/${id} version ${versionId} is a deletion`);
  return toStored(row);
}

export interface HistoryEntry extends StoredResource {
  method: string;
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  since?: string;
  count: number;
  offset: number;
}

/** Versions newest first, for instance, type or system history. */
export async function readHistory(q: Queryable, h: HistoryQuery): Promise<{ entries: HistoryEntry[]; total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (h.resourceType) {
    params.push(h.resourceType);
    where.push(`resource_type = $${params.length}`);
  }
  if (h.id) {
    params.push(h.id);
    where.push(`id = $${params.length}`);
  }
  if (h.since) {
    params.push(h.since);
    where.push(`last_updated >= $${params.length}::timestamptz`);
  }
  const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM resource_history ${w}`, params);
  params.push(h.count, h.offset);
  const r = await q.query<ResourceRow & { method: string }>(
    `SELECT resource_type, id, version_id, last_updated, deleted, method, content FROM resource_version ${w}
      ORDER BY last_updated DESC, resource_type, id, version_id DESC LIMIT $${params.length - 1} OFFSET $${params.length}`,
    params,
  );
  return {
    total: Number(total.rows[0]?.n ?? 0),
    entries: r.rows.map((row) => ({ ...toStored(row), method: row.method, resource: row.content ? parseContent(row.content) : (undefined as unknown as Resource) })),
  };
}

/** Current, not deleted resources by keys, in the order asked. */
export async function readMany(q: Queryable, keys: { resourceType: string; id: string }[]): Promise<StoredResource[]> {
  if (keys.length === 0) return [];
  const r = await q.query<ResourceRow & { ord: number }>(
    `SELECT r.resource_type, r.id, r.version_id, r.last_updated, r.deleted, r.content, k.ord
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(t, i, ord)
       JOIN resource r ON r.resource_type = k.t AND r.id = k.i
      WHERE NOT r.deleted ORDER BY k.ord`,
    [keys.map((k) => k.resourceType), keys.map((k) => k.id)],
  );
  return r.rows.map(toStored);
}

export async function countResources(q: Queryable): Promise<Record<string, number>> {
  const r = await q.query<{ resource_type: string; n: number }>(
    'SELECT resource_type, count(*)::int AS n FROM resource WHERE NOT deleted GROUP BY resource_type ORDER BY resource_type',
  );
  return Object.fromEntries(r.rows.map((x) => [x.resource_type, Number(x.n)]));
}
