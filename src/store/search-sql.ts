/** Compiles a parsed search request into SQL over the resource and index tables. */
import { dateRange } from '../fhir/dates.js';
import { compositeKey, normaliseString, parseReference } from '../fhir/index-values.js';
import { badRequest, notSupported } from '../fhir/outcomes.js';
import { filedUnderPatient, readsPatientKey } from '../fhir/patient-key.js';
import { compositeParamsFor, storedCodeCondition, type CompositeParam } from '../fhir/search-parameters.js';
import { splitPrefix, type Filter, type HiddenRecords, type SearchRequest, type SortKey } from '../fhir/search-request.js';
import { ACT_CODE, CONFIDENTIALITY, CUSTODIAN_SYSTEM_PREFIX } from '../security/labels.js';
import type { Queryable } from './db.js';
import { compositesIndexed, tokenPatientsIndexed } from './reindex.js';

export class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

const likeEscape = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** SQL boolean expression selecting the resources (alias r) of `resourceType` matching every filter. */
export function whereClause(resourceType: string, filters: Filter[], p: Params, alias = 'r', compartment?: { id: string }): string {
  const parts = [`${alias}.resource_type = ${p.add(resourceType)}`, `NOT ${alias}.deleted`];
  if (compartment) parts.push(`${alias}.compartments @> ARRAY[${p.add(compartment.id)}]::text[]`);
  for (const f of filters) parts.push(filterSql(resourceType, f, p, alias));
  return parts.join(' AND ');
}

/**
 * The condition selecting a parameter's index rows (alias s): its own code, or where an aliased
 * parameter's rows are stored (search-parameters.ts storedAs: Observation `patient` is `subject`
 * rows pointing at a Patient, `combo-code` the rows of `code` and `component-code`).
 */
export function codeIs(resourceType: string, code: string, p: Params, s = 's'): string {
  return storedCodeCondition(resourceType, code, (v) => p.add(v), s);
}

/**
 * `inWindow`: cond confines the rows to closed windows of the span index (closedDateWindows), which
 * already keeps to the parameter's own band of keys; the type and parameter are then only checked on
 * its rows ("IS TRUE": no index serves them). Otherwise the planner, estimating the band and the
 * (type, parameter) condition as if independent, reads the parameter's every row through the (type,
 * id, code) B-tree, in id order or ANDed with the span index: 84,084 Encounter.date rows for a
 * quarter's 1,890 on a million-resource store.
 */
function idsIn(table: string, resourceType: string, code: string, cond: string, p: Params, inWindow = false): string {
  const head = `s.resource_type = ${p.add(resourceType)} AND ${codeIs(resourceType, code, p)}`;
  return `SELECT s.id FROM ${table} s WHERE ${inWindow ? `(${head}) IS TRUE` : head}${cond ? ` AND (${cond})` : ''}`;
}

/** Every value of a date filter a closed window (eq, ap, or merged ge and lt): none open-ended, none ne. */
function closedDateWindows(values: readonly string[], now = Date.now()): boolean {
  return values.every((v) => isClosed(dateWindow(v, now)));
}

/** A window with both ends (undefined: a ne, which has none). */
function isClosed(w: DateWindow | undefined): boolean {
  return w?.from !== undefined && w.to !== undefined;
}

function filterSql(resourceType: string, f: Filter, p: Params, alias: string): string {
  // A chain or _has whose own filter is a set of index rows needs nothing from the resource table:
  // index rows exist only for current, undeleted resources, so the set says all the join to the
  // resource rows would (type, not deleted) without reading a row of it per resource.
  if (f.has) {
    const h = f.has;
    const own = filterSql(h.resourceType, h.filter, p, 'h');
    const inner = positiveSubquery(own, 'h');
    const head = `s.resource_type = ${p.add(h.resourceType)} AND ${codeIs(h.resourceType, h.referenceCode, p)} AND s.target_type = ${p.add(resourceType)}`;
    if (inner) return `${alias}.id IN (SELECT s.target_id AS id FROM sp_reference s WHERE ${head} AND s.id IN (${inner}))`;
    const sub = `h.resource_type = ${p.add(h.resourceType)} AND NOT h.deleted AND ${own}`;
    return `${alias}.id IN (SELECT s.target_id AS id FROM sp_reference s JOIN resource h ON h.resource_type = s.resource_type AND h.id = s.id
      WHERE ${head} AND ${sub})`;
  }
  if (f.chain) {
    const c = f.chain;
    const own = filterSql(c.resourceType, c.filter, p, 'c');
    const inner = positiveSubquery(own, 'c');
    const head = `s.resource_type = ${p.add(resourceType)} AND ${codeIs(resourceType, f.code, p)} AND s.target_type = ${p.add(c.resourceType)}`;
    if (inner) return `${alias}.id IN (SELECT s.id FROM sp_reference s WHERE ${head} AND s.target_id IN (${inner}))`;
    const sub = `c.resource_type = ${p.add(c.resourceType)} AND NOT c.deleted AND ${own}`;
    return `${alias}.id IN (SELECT s.id FROM sp_reference s JOIN resource c ON c.resource_type = s.target_type AND c.id = s.target_id
      WHERE ${head} AND ${sub})`;
  }
  if (f.modifier === 'missing') {
    const missing = f.values[0] === 'true';
    if (f.code === '_id' || f.code === '_lastUpdated') return missing ? 'false' : 'true';
    const table = tableFor(f.type);
    return `${alias}.id ${missing ? 'NOT IN' : 'IN'} (SELECT s.id FROM ${table} s WHERE s.resource_type = ${p.add(resourceType)} AND ${codeIs(resourceType, f.code, p)})`;
  }
  if (f.code === '_id') {
    const ids = f.values.filter(Boolean);
    return `${alias}.id = ANY(${p.add(ids)}::text[])`;
  }
  if (f.code === '_lastUpdated') {
    return `(${f.values.map((v) => dateCond(v, `${alias}.last_updated`, `${alias}.last_updated`, p)).join(' OR ')})`;
  }
  switch (f.type) {
    case 'token': return tokenSql(resourceType, f, p, alias);
    case 'string': return stringSql(resourceType, f, p, alias);
    case 'date': case 'number': case 'quantity':
      return `${alias}.id IN (${idsIn(tableFor(f.type), resourceType, f.code, rangeCond(resourceType, f, p), p, f.type === 'date' && closedDateWindows(f.values))})`;
    case 'reference': return referenceSql(resourceType, f, p, alias);
    case 'uri': return uriSql(resourceType, f, p, alias);
    case 'composite': return `${alias}.id IN (${compositeSet(resourceType, f, p)})`;
    default: throw badRequest(`Search on ${f.type} parameter "${f.code}" is not supported`, f.code);
  }
}

/** The OR of a date, number or quantity filter's values, as a condition on one index row (alias s). */
function rangeCond(resourceType: string, f: Filter, p: Params): string {
  if (f.type === 'date') return f.values.map((v) => dateCond(v, 's.lo', 's.hi', p, { resourceType, code: f.code })).join(' OR ');
  if (f.type === 'number') return f.values.map((v) => numberCond(v, 's.value', p)).join(' OR ');
  return f.values.map((v) => quantityCond(v, p)).join(' OR ');
}

/**
 * Date, number and quantity filters repeated on a parameter with at most one index row per resource
 * (date=ge2012-01-01&date=lt2012-02-01 on Encounter.period) become one filter whose conditions all
 * hold on that row: one range scan instead of two half-open sets of tens of thousands of ids each.
 * Parameters with several values per resource keep one set per filter (each may match another value).
 */
function mergeSingleRowRanges(resourceType: string, filters: Filter[], p: Params): { merged: string[]; rest: Filter[] } {
  const groups = new Map<string, Filter[]>();
  const rest: Filter[] = [];
  for (const f of filters) {
    const mergeable = !f.modifier && !f.chain && !f.has && f.param?.singleRow === true && (f.type === 'date' || f.type === 'number' || f.type === 'quantity');
    if (mergeable) groups.set(f.code, [...(groups.get(f.code) ?? []), f]);
    else rest.push(f);
  }
  const merged: string[] = [];
  for (const [code, fs] of groups) {
    if (fs.length === 1) {
      rest.push(fs[0] as Filter);
      continue;
    }
    const dates = (fs[0] as Filter).type === 'date' ? mergedDateCond(resourceType, code, fs, p) : undefined;
    const conds = dates?.sql ?? fs.map((f) => `(${rangeCond(resourceType, f, p)})`).join(' AND ');
    merged.push(idsIn(tableFor((fs[0] as Filter).type), resourceType, code, conds, p, dates?.closed === true));
  }
  return { merged, rest };
}

/**
 * A composite filter's ids: rows of the value's table under the key of the token part (all keys of
 * the code in any system when the token part has no "|"), whose value satisfies the value part.
 */
function compositeSet(resourceType: string, f: Filter, p: Params): string {
  const c = f.composite;
  if (!c) throw badRequest(`"${f.code}" is not a composite parameter`, f.code);
  // a composite stored as other composites' rows (combo-code-value-quantity) reads each of theirs
  const conds = (c.param.parts ?? [c.param]).flatMap((cp) => c.pairs.map(([token, value]) => {
    const bar = token.indexOf('|');
    const exact = bar < 0 ? undefined : compositeKey(cp.code, token.slice(0, bar) || null, token.slice(bar + 1));
    const key = exact !== undefined
      ? `s.code = ${p.add(exact)}`
      : `s.code IN (SELECT ${p.add(`${cp.code}$`)} || coalesce(t.system, '') || '|' || t.value FROM sp_token t
          WHERE t.resource_type = ${p.add(resourceType)} AND ${codeIs(resourceType, cp.token.param.code, p, 't')} AND t.value = ${p.add(token)})`;
    return `(${key} AND (${compositeValueCond(resourceType, cp, value, exact, p)}))`;
  }));
  return `SELECT s.id FROM ${tableFor(c.param.value.type)} s WHERE s.resource_type = ${p.add(resourceType)} AND (${conds.join(' OR ')})`;
}

function compositeValueCond(resourceType: string, cp: CompositeParam, value: string, key: string | undefined, p: Params): string {
  switch (cp.value.type) {
    case 'quantity': return quantityCond(value, p);
    case 'number': return numberCond(value, 's.value', p);
    case 'date': return dateCond(value, 's.lo', 's.hi', p, key === undefined ? undefined : { resourceType, code: key });
    case 'token': return tokenCond(value, p);
    case 'string': return `s.norm LIKE ${p.add(`${likeEscape(normaliseString(value))}%`)}`;
    case 'uri': return `s.value = ${p.add(value)}`;
  }
}

/**
 * Filter pairs a composite answers in one set: code=X&value-quantity=Y on an Observation holds
 * exactly when code-value-quantity=X$Y does, because a composite whose base is the resource is
 * indexed as every pair of its two parameters' own rows (index-values.ts, compositeRows): a row
 * exists for X$Y only when both parameters have the rows, and always then. The two filters are
 * replaced by the composite (a small range of one index), instead of probing every X for its value.
 */
function impliedComposites(resourceType: string, filters: Filter[]): { composite: Filter; replaces: [Filter, Filter] }[] {
  const plain = (f: Filter): boolean => !f.modifier && !f.chain && !f.has && f.values.length === 1;
  const out: { composite: Filter; replaces: [Filter, Filter] }[] = [];
  const used = new Set<Filter>();
  for (const cp of compositeParamsFor(resourceType).values()) {
    if (cp.base) continue;
    const a = filters.find((f) => !used.has(f) && f.param === cp.token.param && plain(f) && !(f.values[0] as string).endsWith('|'));
    const b = filters.find((f) => !used.has(f) && f.param === cp.value.param && plain(f));
    if (!a || !b) continue;
    used.add(a).add(b);
    out.push({ composite: { code: cp.code, type: 'composite', values: [], composite: { param: cp, pairs: [[a.values[0] as string, b.values[0] as string]] } }, replaces: [a, b] });
  }
  return out;
}

function usesComposite(filters: Filter[]): boolean {
  return filters.some((f) => f.composite || (f.chain && usesComposite([f.chain.filter])) || (f.has && usesComposite([f.has.filter])));
}

/** A filter whose id set has one row per matching resource: one value per resource, one row per value. */
function uniqueSet(f: Filter): boolean {
  if (f.chain || f.has || !f.param?.uniqueRows) return false;
  return !f.modifier || ['exact', 'contains', 'missing', 'text'].includes(f.modifier) || /^[A-Z]/.test(f.modifier);
}

/**
 * A token filter and a chain through the resource's patient (`code=X&subject:Patient.family=Y`),
 * answered together from the token rows filed under their resource's patient (migration 045,
 * fhir/patient-key.ts): the code's rows of the chained patients, one index descent per patient,
 * rather than every resource with the code intersected with every resource of those patients.
 * Only a code that names a value is taken (not `system|`, which has no value to descend to).
 */
function patientTokenPair(resourceType: string, filters: Filter[]): { token: Filter; chain: Filter } | undefined {
  const chain = filters.find((f) => f.chain?.resourceType === 'Patient' && !f.has && readsPatientKey(resourceType, f.code));
  if (!chain) return undefined;
  const named = (v: string): boolean => v.indexOf('|') < 0 ? v !== '' : v.slice(v.indexOf('|') + 1) !== '';
  const token = filters.find((f) => f.type === 'token' && !f.modifier && !f.chain && !f.has && !f.composite && f.values.length > 0 && f.values.every(named)
    && filedUnderPatient(resourceType, f.code));
  return token ? { token, chain } : undefined;
}

/** The ids of patientTokenPair's two filters: the token rows of the chained patients. */
function patientTokenSet(resourceType: string, pair: { token: Filter; chain: Filter }, p: Params): string {
  const c = pair.chain.chain as { resourceType: string; filter: Filter };
  const own = filterSql(c.resourceType, c.filter, p, 'c');
  const patients = positiveSubquery(own, 'c') ?? `SELECT c.id FROM resource c WHERE c.resource_type = ${p.add(c.resourceType)} AND NOT c.deleted AND ${own}`;
  const values = pair.token.values.map((v) => tokenCond(v, p)).join(' OR ');
  return `SELECT s.id FROM sp_token s WHERE s.resource_type = ${p.add(resourceType)} AND ${codeIs(resourceType, pair.token.code, p)} AND (${values})
    AND s.patient IS NOT NULL AND s.patient IN (${patients})`;
}

export function tableFor(type: string): string {
  switch (type) {
    case 'token': return 'sp_token';
    case 'string': return 'sp_string';
    case 'date': return 'sp_date';
    case 'reference': return 'sp_reference';
    case 'number': return 'sp_number';
    case 'quantity': return 'sp_quantity';
    case 'uri': return 'sp_uri';
    default: throw badRequest(`Unsupported parameter type ${type}`);
  }
}

function tokenSql(resourceType: string, f: Filter, p: Params, alias: string): string {
  if (f.modifier === 'text') {
    const conds = f.values.map((v) => `lower(s.text) LIKE ${p.add(`%${likeEscape(v.toLowerCase())}%`)}`);
    return `${alias}.id IN (${idsIn('sp_token', resourceType, f.code, conds.join(' OR '), p)})`;
  }
  if (f.modifier === 'of-type') {
    // value: system|code|value
    const conds = f.values.map((v) => {
      const parts = v.split('|');
      if (parts.length !== 3) throw badRequest(`:of-type needs system|code|value, got "${v}"`, `${f.code}:of-type`);
      return `(s.system = ${p.add(`${parts[0]}|${parts[1]}`)} AND s.value = ${p.add(parts[2])})`;
    });
    return `${alias}.id IN (${idsIn('sp_token', resourceType, `${f.code}:of-type`, conds.join(' OR '), p)})`;
  }
  const conds = f.values.map((v) => tokenCond(v, p));
  const sub = idsIn('sp_token', resourceType, f.code, conds.join(' OR '), p);
  return f.modifier === 'not' ? `${alias}.id NOT IN (${sub})` : `${alias}.id IN (${sub})`;
}

function tokenCond(v: string, p: Params): string {
  const bar = v.indexOf('|');
  if (bar < 0) return `s.value = ${p.add(v)}`;
  const system = v.slice(0, bar);
  const code = v.slice(bar + 1);
  if (system === '' && code === '') return 'false';
  if (system === '') return `(s.value = ${p.add(code)} AND s.system IS NULL)`;
  if (code === '') return `s.system = ${p.add(system)}`;
  return `(s.value = ${p.add(code)} AND s.system = ${p.add(system)})`;
}

function stringSql(resourceType: string, f: Filter, p: Params, alias: string): string {
  const conds = f.values.map((v) => {
    if (f.modifier === 'exact') return `s.value = ${p.add(v)}`;
    const n = likeEscape(normaliseString(v));
    if (f.modifier === 'contains') return `s.norm LIKE ${p.add(`%${n}%`)}`;
    return `s.norm LIKE ${p.add(`${n}%`)}`;
  });
  return `${alias}.id IN (${idsIn('sp_string', resourceType, f.code, conds.join(' OR '), p)})`;
}

function referenceSql(resourceType: string, f: Filter, p: Params, alias: string): string {
  const typeModifier = f.modifier && /^[A-Z]/.test(f.modifier) ? f.modifier : undefined;
  if (f.modifier === 'identifier') {
    throw badRequest(':identifier on references is not supported', `${f.code}:identifier`);
  }
  const conds = f.values.map((v) => {
    const parsed = parseReference(v);
    if (parsed) {
      if (typeModifier && typeModifier !== parsed.type) return 'false';
      return `(s.target_type = ${p.add(parsed.type)} AND s.target_id = ${p.add(parsed.id)})`;
    }
    if (/^[A-Za-z0-9\-.]{1,64}$/.test(v)) {
      return typeModifier ? `(s.target_type = ${p.add(typeModifier)} AND s.target_id = ${p.add(v)})` : `s.target_id = ${p.add(v)}`;
    }
    return `s.url = ${p.add(v)}`;
  });
  return `${alias}.id IN (${idsIn('sp_reference', resourceType, f.code, conds.join(' OR '), p)})`;
}

function uriSql(resourceType: string, f: Filter, p: Params, alias: string): string {
  const conds = f.values.map((v) => {
    if (f.modifier === 'below') return `s.value LIKE ${p.add(`${likeEscape(v)}%`)}`;
    if (f.modifier === 'above') return `${p.add(v)} LIKE (replace(replace(replace(s.value, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%')`;
    return `s.value = ${p.add(v)}`;
  });
  return `${alias}.id IN (${idsIn('sp_uri', resourceType, f.code, conds.join(' OR '), p)})`;
}

/** The instants a date search value's window runs from and to (undefined: open); undefined for ne. */
interface DateWindow { from?: string; to?: string }

function dateWindow(raw: string, now: number): DateWindow | undefined {
  const { prefix, value } = splitPrefix(raw);
  const r = dateRange(value);
  if (!r) throw badRequest(`Invalid date "${value}"`);
  switch (prefix) {
    case 'eq': return { from: r.lo, to: r.hi };
    case 'ne': return undefined;
    case 'gt': case 'sa': return { from: r.hi };
    case 'ge': return { from: r.lo };
    case 'lt': case 'eb': return { to: r.lo };
    case 'le': return { to: r.hi };
    case 'ap': {
      const { from, to } = approximately(r.lo, r.hi, now);
      return { from, to };
    }
  }
}

/** ap: the value's range widened by 10% of its distance from now, at least a day (the spec leaves the width to the server). */
function approximately(lo: string, hi: string, now: number): { from: string; to: string } {
  const a = Date.parse(lo);
  const b = Date.parse(hi);
  const pad = Math.max(Math.abs(now - (a + b) / 2) * 0.1, 86_400_000);
  return { from: new Date(a - pad).toISOString(), to: new Date(b + pad).toISOString() };
}

/**
 * "The span of this sp_date row (alias s) overlaps the window": implied by every date condition but
 * ne, and answered by the SP-GiST index of migrations 005, 047 and 048 (the span as a range; the
 * planner estimates a range condition from the index's statistics) without reading the decades
 * before a month.
 */
function spanOverlaps(span: { resourceType: string; code: string }, w: DateWindow, p: Params): string {
  const t = (v: string | undefined): string => (v === undefined ? 'NULL::timestamptz' : `${p.add(v)}::timestamptz`);
  return `sp_date_span(s.resource_type, s.code, s.lo, s.hi) && sp_date_window(${p.add(span.resourceType)}::text, ${p.add(span.code)}::text, ${t(w.from)}, ${t(w.to)})`;
}

/**
 * Date comparison of a search value against a stored range [lo, hi] (FHIR R4 search 3.1.1.4.2).
 * `span`: the columns are an sp_date row (alias s) of this type and parameter; the condition then
 * also says which window the row's span overlaps (spanOverlaps). A closed window (eq, ap) is found
 * through the span index alone: its exact test is kept from the B-trees on lo and hi ("IS TRUE"),
 * which the planner would otherwise AND with it, reading every row before the window's end.
 */
export function dateCond(raw: string, lo: string, hi: string, p: Params, span?: { resourceType: string; code: string }, now = Date.now()): string {
  const { prefix, value } = splitPrefix(raw);
  const r = dateRange(value);
  if (!r) throw badRequest(`Invalid date "${value}"`);
  // parameters are added only when used: an unused parameter has no type PostgreSQL can infer
  const qlo = (): string => `${p.add(r.lo)}::timestamptz`;
  const qhi = (): string => `${p.add(r.hi)}::timestamptz`;
  const exact = ((): string => {
    switch (prefix) {
      case 'eq': return `${lo} >= ${qlo()} AND ${hi} <= ${qhi()}`;
      case 'ne': return `NOT (${lo} >= ${qlo()} AND ${hi} <= ${qhi()})`;
      case 'gt': return `${hi} > ${qhi()}`;
      case 'lt': return `${lo} < ${qlo()}`;
      case 'ge': return `${hi} >= ${qlo()}`;
      case 'le': return `${lo} <= ${qhi()}`;
      case 'sa': return `${lo} > ${qhi()}`;
      case 'eb': return `${hi} < ${qlo()}`;
      case 'ap': {
        const { from, to } = approximately(r.lo, r.hi, now);
        return `${lo} <= ${p.add(to)}::timestamptz AND ${hi} >= ${p.add(from)}::timestamptz`;
      }
    }
  })();
  const w = span ? dateWindow(raw, now) : undefined;
  if (!span || !w) return `(${exact})`;
  const closed = isClosed(w);
  return `(${closed ? `(${exact}) IS TRUE` : exact} AND ${spanOverlaps(span, w, p)})`;
}

/**
 * Several date conditions on one row (a parameter with one value per resource): one window, the
 * intersection of theirs, so a month asked as ge and lt is one closed window of the span index.
 * Undefined when a filter has several values or a ne (each then keeps its own window).
 */
function mergedDateCond(resourceType: string, code: string, fs: Filter[], p: Params): { sql: string; closed: boolean } | undefined {
  if (fs.some((f) => f.values.length !== 1)) return undefined;
  const now = Date.now();
  const windows = fs.map((f) => dateWindow(f.values[0] as string, now));
  if (windows.some((w) => !w)) return undefined;
  const later = (a: string | undefined, b: string | undefined): string | undefined => (a === undefined ? b : b === undefined ? a : Date.parse(a) >= Date.parse(b) ? a : b);
  const earlier = (a: string | undefined, b: string | undefined): string | undefined => (a === undefined ? b : b === undefined ? a : Date.parse(a) <= Date.parse(b) ? a : b);
  let from = windows.reduce<string | undefined>((x, w) => later(x, w?.from), undefined);
  let to = windows.reduce<string | undefined>((x, w) => earlier(x, w?.to), undefined);
  // a row overlapping [from, inf) and (-inf, to] with from after to spans [to, from]: still implied
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) [from, to] = [to, from];
  const exact = fs.map((f) => dateCond(f.values[0] as string, 's.lo', 's.hi', p, undefined, now)).join(' AND ');
  const closed = isClosed({ from, to });
  return { sql: `${closed ? `(${exact}) IS TRUE` : exact} AND ${spanOverlaps({ resourceType, code }, { from, to }, p)}`, closed };
}

/** Number comparison with the implicit precision of the search value (FHIR R4 search 3.1.1.4.1). */
export function numberCond(raw: string, col: string, p: Params): string {
  const { prefix, value } = splitPrefix(raw);
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) throw badRequest(`Invalid number "${value}"`);
  const n = Number(value);
  const decimals = value.includes('.') && !/[eE]/.test(value) ? (value.split('.')[1] as string).length : 0;
  // the implicit range of the value's precision, in exact decimal arithmetic: 6.1 means [6.05, 6.15)
  const half = `0.${'0'.repeat(decimals)}5`;
  const v = (): string => `${p.add(value)}::numeric`;
  const inRange = (): string => {
    const x = v();
    const h = `${p.add(half)}::numeric`;
    return `(${col} >= ${x} - ${h} AND ${col} < ${x} + ${h})`;
  };
  switch (prefix) {
    case 'eq': return inRange();
    case 'ne': return `NOT ${inRange()}`;
    case 'gt': case 'sa': return `${col} > ${v()}`;
    case 'lt': case 'eb': return `${col} < ${v()}`;
    case 'ge': return `${col} >= ${v()}`;
    case 'le': return `${col} <= ${v()}`;
    case 'ap': {
      const pad = String(Math.abs(n) * 0.1);
      return `(${col} >= ${v()} - ${p.add(pad)}::numeric AND ${col} <= ${v()} + ${p.add(pad)}::numeric)`;
    }
  }
}

function quantityCond(raw: string, p: Params): string {
  const [num, system, code] = raw.split('|') as [string, string | undefined, string | undefined];
  const parts = [numberCond(num, 's.value', p)];
  if (system) parts.push(`s.system = ${p.add(system)}`);
  if (code) parts.push(`s.unit = ${p.add(code)}`);
  return `(${parts.join(' AND ')})`;
}

function sortExpr(resourceType: string, s: SortKey, p: Params): string {
  if (s.code === '_id') return 'r.id';
  if (s.code === '_lastUpdated') return 'r.last_updated';
  const table = tableFor(s.type);
  const col = { sp_token: 'value', sp_string: 'norm', sp_date: s.descending ? 'hi' : 'lo', sp_reference: 'url', sp_number: 'value', sp_quantity: 'value', sp_uri: 'value' }[table];
  const agg = s.descending ? 'max' : 'min';
  return `(SELECT ${agg}(s.${col}) FROM ${table} s WHERE s.resource_type = ${p.add(resourceType)} AND s.id = r.id AND ${codeIs(resourceType, s.code, p)})`;
}

function sortCast(s: SortKey): string {
  if (s.code === '_lastUpdated' || s.type === 'date') return 'timestamptz';
  if (s.type === 'number' || s.type === 'quantity') return 'numeric';
  return 'text';
}

interface Key {
  expr: string;
  cast: string;
  desc: boolean;
  nullsLast: boolean;
}

/** Rows strictly after `values` in the order given by `keys` (then r.id): keyset paging. */
function afterCondition(keys: Key[], values: (string | null)[], id: string, idDesc: boolean, p: Params): string {
  const ors: string[] = [];
  const eqs: string[] = [];
  keys.forEach((k, i) => {
    const v = values[i] ?? null;
    let beyond: string;
    if (v === null) beyond = k.nullsLast ? 'false' : `${k.expr} IS NOT NULL`;
    else {
      const cmp = `${k.expr} ${k.desc ? '<' : '>'} ${p.add(v)}::${k.cast}`;
      beyond = k.nullsLast ? `(${cmp} OR ${k.expr} IS NULL)` : cmp;
    }
    ors.push([...eqs, beyond].join(' AND '));
    eqs.push(v === null ? `${k.expr} IS NULL` : `${k.expr} = ${p.add(v)}::${k.cast}`);
  });
  ors.push([...eqs, `r.id ${idDesc ? '<' : '>'} ${p.add(id)}`].join(' AND '));
  return `(${ors.map((o) => `(${o})`).join(' OR ')})`;
}

export interface SearchPage {
  ids: string[];
  total?: number;
  /** Keyset positions of the first and last rows, for previous/next links. */
  first?: { keys: (string | null)[]; id: string };
  last?: { keys: (string | null)[]; id: string };
  hasNext: boolean;
  hasPrev: boolean;
}

function keyText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** The subquery of a filter that is a plain set of ids ("r.id IN (...)"), or undefined for a condition. */
function positiveSubquery(sql: string, alias: string): string | undefined {
  const prefix = `${alias}.id IN (`;
  return sql.startsWith(prefix) && sql.endsWith(')') ? sql.slice(prefix.length, -1) : undefined;
}

/**
 * The total when the request wants one: counted (_total=accurate, the default, or _summary=count),
 * or the planner's estimate (_total=estimate: no rows read, within a few percent on the index sets).
 */
async function countIf(q: Queryable, req: SearchRequest, from: string, params: unknown[]): Promise<number | undefined> {
  if (req.total === 'estimate' && req.summary !== 'count') {
    const rows = setRows(await plan(q, `SELECT count(*) FROM ${from}`, params), 1);
    return Number.isFinite(rows) ? Math.round(rows) : undefined;
  }
  if (req.total !== 'accurate' && req.summary !== 'count') return undefined;
  const c = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${from}`, [...params]);
  return Number(c.rows[0]?.n ?? 0);
}

/** The page from rows fetched one past the page size (in the walking direction of the cursor). */
function toPage<R extends { id: string }>(fetched: R[], req: SearchRequest, total: number | undefined, keysOf: (row: R) => (string | null)[]): SearchPage {
  const reverse = req.cursor?.dir === 'prev';
  const more = fetched.length > req.count;
  let rows = fetched.slice(0, req.count);
  if (reverse) rows = rows.reverse();
  const pos = (row: R) => ({ keys: keysOf(row), id: row.id });
  const first = rows[0];
  const last = rows[rows.length - 1];
  return {
    ids: rows.map((x) => x.id),
    total,
    first: first ? pos(first) : undefined,
    last: last ? pos(last) : undefined,
    hasNext: reverse ? true : more,
    hasPrev: reverse ? more : !!req.cursor || req.offset > 0,
  };
}

/** Systems whose meta.security codes are sensitivity labels (the ones security/labels.ts sensitiveLabels reads). */
const LABEL_SYSTEMS = [CONFIDENTIALITY, ACT_CODE];

/**
 * The ids a viewer may not see, as two sets: resources labelled themselves, and resources in the
 * compartment of a labelled patient; the compartments of break-the-glass patients are spared.
 */
function hiddenSets(resourceType: string, hidden: HiddenRecords, p: Params): string[] {
  const labelled = (type: string, alias: string): string => `${alias}.resource_type = ${p.add(type)} AND ${alias}.code = '_security'
      AND ${alias}.value = ANY(${p.add(hidden.codes)}::text[])
      AND (${alias}.system IS NULL OR ${alias}.system = ANY(${p.add(LABEL_SYSTEMS)}::text[]) OR starts_with(${alias}.system, ${p.add(CUSTODIAN_SYSTEM_PREFIX)}))`;
  const spared = hidden.exceptPatients.length ? p.add(hidden.exceptPatients) : undefined;
  const own = spared
    ? `SELECT s.id FROM sp_token s JOIN resource b ON b.resource_type = s.resource_type AND b.id = s.id WHERE ${labelled(resourceType, 's')} AND NOT (b.compartments && ${spared}::text[])`
    : `SELECT s.id FROM sp_token s WHERE ${labelled(resourceType, 's')}`;
  const patients = `ARRAY(SELECT l.id FROM sp_token l WHERE ${labelled('Patient', 'l')}${spared ? ` AND l.id <> ALL(${spared}::text[])` : ''})`;
  const inCompartment = `SELECT c.id FROM resource c WHERE c.resource_type = ${p.add(resourceType)} AND c.compartments && ${patients}${spared ? ` AND NOT (c.compartments && ${spared}::text[])` : ''}`;
  return [own, inCompartment];
}

/** The subquery of a filter that excludes a set of ids ("r.id NOT IN (...)": :not, :missing=true). */
function negativeSubquery(sql: string, alias: string): string | undefined {
  const prefix = `${alias}.id NOT IN (`;
  return sql.startsWith(prefix) && sql.endsWith(')') ? sql.slice(prefix.length, -1) : undefined;
}

/**
 * The ids in every positive set and in no negative set, each once. Written as semi- and anti-joins
 * rather than INTERSECT / EXCEPT, so the planner can drive from the smallest set and probe the others
 * through the (resource_type, id, code) indexes, merge sets that stream sorted by id, and stop early
 * for a page ordered by id.
 */
function matchSet(sets: string[], negatives: string[], unique: ReadonlySet<string>): string {
  // a set with one index row per resource (unique) comes first and needs no GROUP BY
  const u = sets.findIndex((x) => unique.has(x));
  const [first, ...rest] = u > 0 ? [sets[u] as string, ...sets.filter((_, i) => i !== u)] : sets;
  const conds = [
    ...rest.map((x) => `m.id IN (${x})`),
    ...negatives.map((x) => `NOT EXISTS (SELECT 1 FROM (${x}) n WHERE n.id = m.id)`),
  ];
  return `SELECT m.id FROM (${first}) m${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}${u >= 0 ? '' : ' GROUP BY m.id'}`;
}

/**
 * Below driverLimit ids, a set drives the search and the other filters are probed per id (0: always
 * leave the join strategy to the planner); sets are first counted up to firstCount ids. The search
 * oracle test runs the defaults, the planner alone, and tiny limits that exercise every branch.
 */
export const searchTuning = { driverLimit: 20_000, firstCount: 1000 };
/** An index probe costs about as much as reading this many rows of an index range. */
const PROBE_COST = 8;
/** Sets hashed in memory stay under this many rows (PostgreSQL hashes a subplan only within work_mem). */
const HASH_LIMIT = 50_000;

/**
 * The planner's estimate of each set's rows, from one EXPLAIN of a statement that counts them all
 * (each set becomes an InitPlan, in order; a statement over one set alone would leave the other
 * sets' parameters untyped).
 */
async function estimateRows(q: Queryable, sets: string[], params: unknown[]): Promise<number[]> {
  const top = await plan(q, `SELECT ${sets.map((x, i) => `(SELECT count(*) FROM (${x}) c) AS c${i}`).join(', ')}`, params);
  const inits = (top?.Plans ?? []).filter((n) => n['Subplan Name']?.startsWith('InitPlan'));
  return sets.map((_, i) => setRows(inits[i]?.Plans?.[0], 1));
}

/** The planner's plan of a statement (EXPLAIN, nothing executed). */
async function plan(q: Queryable, sql: string, params: unknown[]): Promise<PlanNode | undefined> {
  const r = await q.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, [...params]);
  const raw = r.rows[0]?.['QUERY PLAN'];
  return ((typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan?: PlanNode }[])[0]?.Plan;
}

interface PlanNode { 'Node Type'?: string; 'Plan Rows'?: number; 'Subplan Name'?: string; 'Parallel Aware'?: boolean; 'Workers Planned'?: number; Plans?: PlanNode[] }

/** Rows of the set under a count(*): through a parallel plan, a worker's rows times the processes. */
function setRows(node: PlanNode | undefined, processes: number): number {
  if (!node) return Infinity;
  const type = node['Node Type'] ?? '';
  if (type === 'Gather' || type === 'Gather Merge') return setRows(node.Plans?.[0], (node['Workers Planned'] ?? 0) + 1);
  if (type === 'Aggregate') return setRows(node.Plans?.[0], processes);
  return Number(node['Plan Rows'] ?? Infinity) * (node['Parallel Aware'] ? processes : 1);
}

/**
 * The ids in every positive set and in no negative set when every positive set is large (counted
 * past the limit): each set is read once and the sets are joined by hashing or merging, whatever the
 * planner estimates. Its estimates fail exactly here: a date window's set is estimated from the span
 * index's band as if the type and parameter were independent of it (623 rows where there are
 * 28,098), and it would drive a nested loop probing the other set once per id (104 ms against 43).
 * A FULL JOIN cannot be a nested loop; the filter that keeps the ids found in every set is behind
 * coalesce, which is not strict, so the planner does not reduce the join to an inner one.
 */
function joinedMatchSet(sets: string[], negatives: string[], unique: ReadonlySet<string>): string {
  if (sets.length < 2) return matchSet(sets, negatives, unique);
  const from = sets
    .map((x, i) => `(${unique.has(x) ? x : `SELECT DISTINCT d.id FROM (${x}) d`}) j${i}`)
    .reduce((acc, part, i) => (i === 0 ? part : `${acc} FULL JOIN ${part} ON j${i}.id = j0.id`), '');
  const inAll = sets.map((_, i) => `j${i}.id IS NOT NULL`).join(' AND ');
  const joined = `SELECT j0.id FROM ${from} WHERE coalesce(${inAll}, false)`;
  const conds = negatives.map((x) => `NOT EXISTS (SELECT 1 FROM (${x}) n WHERE n.id = m.id)`);
  return `SELECT m.id FROM (${joined}) m${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`;
}

/**
 * The ids matching every set, driven by the smallest when it is small. The planner cannot estimate
 * correlated conditions (a month of encounters: it guesses 7,600 rows, there are 672) and would hash
 * the 80,000 ambulatory encounters to intersect them; counting the sets a little way (an index range
 * scan each, stopped early) finds the small one, and each other set is then read once and hashed, or
 * probed once per id through the (resource_type, id, code) indexes, whichever costs less. "OFFSET 0"
 * keeps each probe a per-row subplan.
 */
async function drivenMatchSet(q: Queryable, sets: string[], negatives: string[], unique: ReadonlySet<string>, p: Params): Promise<MatchSet> {
  const limit = searchTuning.driverLimit;
  if (limit <= 0) return { sql: matchSet(sets, negatives, unique), small: false };
  if (sets.length + negatives.length < 2) {
    // one set: counted up to firstCount ids, so a small one is read whole once (its page and its
    // total from one statement) rather than walked in id order in the hope of an early page
    const first = Math.min(searchTuning.firstCount, limit);
    const r = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sets[0]} LIMIT ${first + 1}) c`, [...p.values]);
    const n = Number(r.rows[0]?.n ?? Infinity);
    return { sql: matchSet(sets, negatives, unique), small: n <= first, rows: n <= first ? n : undefined };
  }
  // Every set is counted (negatives too, so the statement uses each parameter of the search), first
  // up to a thousand ids (a patient's observations are found without reading 20,000 vital signs),
  // then, when no set is that small, up to the limit.
  // (a set already counted in full is kept from the recount with LIMIT 0: not read, its parameters still typed)
  const countUpTo = async (cap: number, known: Record<string, number> = {}): Promise<Record<string, number>> => {
    const r = await q.query<Record<string, number>>(
      `SELECT ${[...sets, ...negatives].map((x, i) => `(SELECT count(*) FROM (${x} LIMIT ${known[`c${i}`] !== undefined ? 0 : cap + 1}) c)::int AS c${i}`).join(', ')}`,
      [...p.values],
    );
    return { ...(r.rows[0] ?? {}), ...known };
  };
  const fullyCounted = (r: Record<string, number>, upTo: number): Record<string, number> =>
    Object.fromEntries(Object.entries(r).filter(([, n]) => Number(n) <= upTo));
  // sets are first counted up to firstCount ids: one this small drives without counting the others further
  const first = Math.min(searchTuning.firstCount, limit);
  let row = await countUpTo(first);
  let cap = first;
  const all = [...sets, ...negatives];
  const smallestOf = (): number => Math.min(...sets.map((_, i) => Number(row[`c${i}`] ?? Infinity)));
  let planned: number[] | undefined;
  if (smallestOf() > first && limit > first) {
    // no set is small: the planner's estimates name the likely driver, and only it is counted up to
    // the limit (the others keep their estimates: counting 20,000 vital signs costs more than a probe per id)
    planned = await estimateRows(q, all, p.values);
    const est = planned;
    const candidate = sets.reduce((best, _, i) => ((est[i] ?? Infinity) < (est[best] ?? Infinity) ? i : best), 0);
    const others = Object.fromEntries(all.map((_, i) => [`c${i}`, Math.max(first + 1, Math.round(est[i] ?? Infinity))]).filter(([k]) => k !== `c${candidate}`));
    row = await countUpTo(limit, others);
    cap = limit;
  }
  const size = (i: number): number => Number(row[`c${i}`] ?? Infinity);
  const sizes = sets.map((_, i) => size(i));
  const smallest = sizes.indexOf(Math.min(...sizes));
  if ((sizes[smallest] as number) > cap) return { sql: joinedMatchSet(sets, negatives, unique), small: false, joined: sets.length > 1 };
  // Another set is read once and hashed when reading it costs less than probing it once per driving
  // id (a probe is an index descent, about PROBE_COST rows of a range scan); beyond the count limit
  // its size is the planner's estimate, which the extended statistics keep close.
  const driver = sizes[smallest] as number;
  const threshold = Math.min(driver * PROBE_COST, HASH_LIMIT);
  let counted = all.map((_, i) => size(i));
  // a set counted past its cap is larger than the cap; only when the threshold lies beyond the cap
  // is more needed: a count up to the threshold, or beyond the limit the planner's estimate
  if (!planned && threshold > cap && counted.some((n) => n > cap)) {
    if (threshold <= limit) {
      row = await countUpTo(threshold, fullyCounted(row, cap));
      counted = all.map((_, i) => size(i));
    } else {
      const estimates = await estimateRows(q, all, p.values);
      counted = counted.map((n, i) => (n <= cap ? n : Math.max(n, estimates[i] ?? Infinity)));
    }
  }
  const hashed = (i: number): boolean => (counted[i] as number) <= threshold;
  // "(IN) IS TRUE" and NOT IN stay hashed subplans (read once); a plain IN would be planned as a
  // join from the driver's estimate, which is poor for chains (it guesses 1 row where there are 7,854)
  const probe = (x: string): string => `EXISTS (SELECT 1 FROM (${x}) e WHERE e.id = m.id OFFSET 0)`;
  const conds = [
    ...sets.flatMap((x, i) => (i === smallest ? [] : [hashed(i) ? `(m.id IN (${x})) IS TRUE` : probe(x)])),
    ...negatives.map((x, j) => (hashed(sets.length + j) ? `m.id NOT IN (${x})` : `NOT ${probe(x)}`)),
  ];
  const driving = sets[smallest] as string;
  // Of the sets to hash, the largest is better read as the stream and the driving set hashed
  // instead: each is still read once, and the smaller one is the hash table (the 6,888 observations
  // of a family's patients, not 37,758 body heights). Its duplicates go after the filters.
  const largest = sets.reduce<number | undefined>((best, _, i) => (i !== smallest && hashed(i) && (best === undefined || (counted[i] as number) > (counted[best] as number)) ? i : best), undefined);
  if (largest !== undefined) {
    const flipped = [
      `(m.id IN (${driving})) IS TRUE`,
      ...sets.flatMap((x, i) => (i === smallest || i === largest ? [] : [hashed(i) ? `(m.id IN (${x})) IS TRUE` : probe(x)])),
      ...negatives.map((x, j) => (hashed(sets.length + j) ? `m.id NOT IN (${x})` : `NOT ${probe(x)}`)),
    ];
    const stream = sets[largest] as string;
    return { sql: `SELECT ${unique.has(stream) ? '' : 'DISTINCT '}m.id FROM (${stream}) m WHERE ${flipped.join(' AND ')}`, small: true, rows: driver };
  }
  return { sql: `SELECT m.id FROM (SELECT ${unique.has(driving) ? '' : 'DISTINCT '}d.id FROM (${driving}) d) m${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`, small: true, rows: driver };
}

interface MatchSet {
  sql: string;
  /** Driven by a set of at most searchTuning.driverLimit ids: cheap to read whole. */
  small: boolean;
  /**
   * When small: the driving set's size (at least the number of matches), as counted, or the
   * planner's estimate when another set's count sent the search past counting it.
   */
  rows?: number;
  /** Large sets joined by hashing (joinedMatchSet): a page reads every match, as the count does. */
  joined?: boolean;
}

/**
 * A small set's total is counted by the first page's own statement (count(*) OVER ()), one pass
 * instead of two; so are joined large sets, whose page reads them whole anyway. Any other large set
 * is counted apart, so its first page can stop after its rows.
 */
function countWithPage(req: SearchRequest, m: MatchSet): boolean {
  return (m.small || m.joined === true) && req.total === 'accurate' && req.summary !== 'count' && req.count > 0 && !req.cursor && req.offset === 0;
}

/**
 * Runs the search: one page of matching ids in order, and the total when asked.
 *
 * When every filter is a set of ids from the index tables and the order is by id, the page is taken
 * from the intersection of those sets alone: index rows exist only for current, undeleted versions,
 * so the resource table is not read at all (a search matching 100,000 claims answers in milliseconds).
 * Otherwise the filters are conditions on the resource table.
 */
export async function searchIds(q: Queryable, req: SearchRequest): Promise<SearchPage> {
  const p = new Params();
  const { merged, rest } = mergeSingleRowRanges(req.resourceType, req.filters, p);
  const sets: string[] = [...merged];
  let filters = rest;
  const implied = impliedComposites(req.resourceType, rest);
  const asksComposite = usesComposite(req.filters);
  if (implied.length || asksComposite) {
    const complete = await compositesIndexed(q);
    if (!complete && asksComposite) {
      throw notSupported('Composite search parameters need the search index rebuilt after the upgrade: run `custodian reindex`', 503);
    }
    if (complete) {
      const replaced = new Set(implied.flatMap((x) => x.replaces));
      filters = [...rest.filter((f) => !replaced.has(f)), ...implied.map((x) => x.composite)];
    }
  }
  // sets holding at most one row per resource (see SearchParam.uniqueRows): no de-duplication needed
  const unique = new Set<string>(merged);
  const pair = patientTokenPair(req.resourceType, filters);
  if (pair && (await tokenPatientsIndexed(q))) {
    const set = patientTokenSet(req.resourceType, pair, p);
    sets.push(set);
    if (uniqueSet(pair.token)) unique.add(set);
    filters = filters.filter((f) => f !== pair.token && f !== pair.chain);
  }
  const negatives: string[] = [];
  const conds: string[] = [];
  for (const f of filters) {
    const sql = filterSql(req.resourceType, f, p, 'r');
    const sub = positiveSubquery(sql, 'r');
    const neg = sub ? undefined : negativeSubquery(sql, 'r');
    if (sub) {
      sets.push(sub);
      if (uniqueSet(f)) unique.add(sub);
    }
    else if (neg) negatives.push(neg);
    else conds.push(sql);
  }
  if (req.hidden?.codes.length) negatives.push(...hiddenSets(req.resourceType, req.hidden, p));
  const setsOnly = sets.length > 0 && conds.length === 0 && !req.compartment;
  if (setsOnly && req.sort.every((s) => s.code === '_id')) return searchIdSets(q, req, await drivenMatchSet(q, sets, negatives, unique, p), p);
  const oneKey = req.sort[0];
  if (setsOnly && req.sort.length === 1 && oneKey && oneKey.code !== '_lastUpdated' && oneKey.code !== '_id') {
    return searchSortedSets(q, req, await drivenMatchSet(q, sets, negatives, unique, p), oneKey, p);
  }
  const where = [
    whereClause(req.resourceType, [], p, 'r', req.compartment),
    ...sets.map((s) => `r.id IN (${s})`),
    // anti-joins (NOT IN over a set too large for memory would be re-read for every row)
    ...negatives.map((s) => `NOT EXISTS (SELECT 1 FROM (${s}) n WHERE n.id = r.id)`),
    ...conds,
  ].join(' AND ');
  const total = await countIf(q, req, `resource r WHERE ${where}`, p.values);
  if (req.summary === 'count' || req.count === 0) return { ids: [], total, hasNext: false, hasPrev: false };
  const reverse = req.cursor?.dir === 'prev';
  const keys: Key[] = req.sort.map((s) => {
    const desc = reverse ? !s.descending : s.descending;
    return { expr: sortExpr(req.resourceType, s, p), cast: sortCast(s), desc, nullsLast: !reverse };
  });
  const idDesc = reverse;
  const pageConds = [where];
  if (req.cursor) pageConds.push(afterCondition(keys, req.cursor.keys, req.cursor.id, idDesc, p));
  const order = [...keys.map((k) => `${k.expr} ${k.desc ? 'DESC' : 'ASC'} NULLS ${k.nullsLast ? 'LAST' : 'FIRST'}`), `r.id ${idDesc ? 'DESC' : 'ASC'}`];
  const select = ['r.id', ...keys.map((k, i) => `${k.expr} AS k${i}`)].join(', ');
  const lim = p.add(req.count + 1);
  const off = req.cursor ? '' : ` OFFSET ${p.add(req.offset)}`;
  const r = await q.query<Record<string, unknown> & { id: string }>(
    `SELECT ${select} FROM resource r WHERE ${pageConds.join(' AND ')} ORDER BY ${order.join(', ')} LIMIT ${lim}${off}`,
    p.values,
  );
  return toPage(r.rows, req, total, (row) => keys.map((_, i) => keyText(row[`k${i}`])));
}
async function searchIdSets(q: Queryable, req: SearchRequest, m: MatchSet, p: Params): Promise<SearchPage> {
  const set = m.sql;
  const together = countWithPage(req, m);
  const total = together ? undefined : await countIf(q, req, `(${set}) x`, p.values);
  if (req.summary === 'count' || req.count === 0) return { ids: [], total, hasNext: false, hasPrev: false };
  const idSort = req.sort[0];
  // _sort=_id or -_id, or no sort (by id); a prev cursor walks the same order backwards
  const descending = (idSort?.descending ?? false) !== (req.cursor?.dir === 'prev');
  const where = req.cursor ? ` WHERE r.id ${descending ? '<' : '>'} ${p.add(req.cursor.id)}` : '';
  const lim = p.add(req.count + 1);
  const off = req.cursor ? '' : ` OFFSET ${p.add(req.offset)}`;
  const r = await q.query<{ id: string; n?: number }>(
    `SELECT r.id${together ? ', count(*) OVER ()::int AS n' : ''} FROM (${set}) r${where} ORDER BY r.id ${descending ? 'DESC' : 'ASC'} LIMIT ${lim}${off}`,
    p.values,
  );
  return toPage(r.rows, req, together ? Number(r.rows[0]?.n ?? 0) : total, (row) => (idSort ? [row.id] : []));
}

/**
 * Index-only id sets sorted by one search parameter: the sort key is joined to the matching ids as a
 * set (the planner chooses a hash join for many matches, index lookups for few) instead of a
 * correlated lookup per row; keyset cursors work on (key, id) as elsewhere.
 */
async function searchSortedSets(q: Queryable, req: SearchRequest, m: MatchSet, sort: SortKey, p: Params): Promise<SearchPage> {
  const set = m.sql;
  const together = countWithPage(req, m);
  const total = together ? undefined : await countIf(q, req, `(${set}) x`, p.values);
  if (req.summary === 'count' || req.count === 0) return { ids: [], total, hasNext: false, hasPrev: false };
  const table = tableFor(sort.type);
  const col = { sp_token: 'value', sp_string: 'norm', sp_date: sort.descending ? 'hi' : 'lo', sp_reference: 'url', sp_number: 'value', sp_quantity: 'value', sp_uri: 'value' }[table];
  const agg = sort.descending ? 'max' : 'min';
  const keyRows = `SELECT s.id, s.${col} FROM ${table} s WHERE s.resource_type = ${p.add(req.resourceType)} AND ${codeIs(req.resourceType, sort.code, p)}`;
  // Many matches whose keys are few rows in all (4,158 open deficiency Tasks, every Task's
  // authored-on): the key rows are read once and hashed against the matches, rather than one index
  // probe per match. The planner cannot choose this itself: it sees the intersection as a couple of
  // rows (a hashed "IN ... IS TRUE" has no estimate) and probes.
  const keyed = (await keysHashed(q, m, keyRows, p.values))
    ? `WITH m AS MATERIALIZED (${set}),
      k AS (SELECT s.id, ${agg}(s.${col}) AS k0 FROM (${keyRows}) s WHERE (s.id IN (SELECT id FROM m)) IS TRUE GROUP BY s.id)
      SELECT k.id, k.k0 FROM k UNION ALL SELECT m.id, NULL FROM m WHERE (m.id IN (SELECT id FROM k)) IS NOT TRUE`
    : `SELECT m.id, ${agg}(s.${col}) AS k0 FROM (${set}) m LEFT JOIN (${keyRows}) s ON s.id = m.id GROUP BY m.id`;
  const reverse = req.cursor?.dir === 'prev';
  const key: Key = { expr: 'r.k0', cast: sortCast(sort), desc: reverse ? !sort.descending : sort.descending, nullsLast: !reverse };
  const where = req.cursor ? ` WHERE ${afterCondition([key], req.cursor.keys, req.cursor.id, reverse, p)}` : '';
  const lim = p.add(req.count + 1);
  const off = req.cursor ? '' : ` OFFSET ${p.add(req.offset)}`;
  const r = await q.query<{ id: string; k0: unknown; n?: number }>(
    `SELECT r.id, r.k0${together ? ', count(*) OVER ()::int AS n' : ''} FROM (${keyed}) r${where} ORDER BY r.k0 ${key.desc ? 'DESC' : 'ASC'} NULLS ${key.nullsLast ? 'LAST' : 'FIRST'}, r.id ${reverse ? 'DESC' : 'ASC'} LIMIT ${lim}${off}`,
    p.values,
  );
  return toPage(r.rows, req, together ? Number(r.rows[0]?.n ?? 0) : total, (row) => [keyText(row.k0)]);
}

/**
 * Whether a sorted page reads its sort keys as one hashed set rather than probing them per match:
 * when the matches were counted past firstCount, and the planner expects the key rows of the type
 * (reliable: one parameter of one type, with extended statistics) to cost less than the probes.
 */
async function keysHashed(q: Queryable, m: MatchSet, keyRows: string, params: unknown[]): Promise<boolean> {
  if (m.rows === undefined || m.rows <= searchTuning.firstCount) return false;
  // (planned beside the match set, which types the parameters the key rows do not use)
  const [keys] = await estimateRows(q, [keyRows, m.sql], params);
  return (keys ?? Infinity) <= Math.min(m.rows * PROBE_COST, HASH_LIMIT);
}

/** Targets of the given reference parameter from the given resources (_include). */
export async function includeTargets(q: Queryable, sourceType: string, ids: string[], code: string, targetType?: string): Promise<{ resourceType: string; id: string }[]> {
  if (ids.length === 0) return [];
  const p = new Params();
  const where = [`s.resource_type = ${p.add(sourceType)}`, `s.id = ANY(${p.add(ids)}::text[])`, codeIs(sourceType, code, p), 's.target_id IS NOT NULL AND s.target_type IS NOT NULL'];
  if (targetType) where.push(`s.target_type = ${p.add(targetType)}`);
  const r = await q.query<{ target_type: string; target_id: string }>(
    `SELECT DISTINCT s.target_type, s.target_id FROM sp_reference s WHERE ${where.join(' AND ')}`,
    p.values,
  );
  return r.rows.map((x) => ({ resourceType: x.target_type, id: x.target_id }));
}

/** Resources of sourceType whose reference parameter points at the given targets (_revinclude). */
export async function revincludeSources(q: Queryable, sourceType: string, code: string, targetType: string, targetIds: string[]): Promise<{ resourceType: string; id: string }[]> {
  if (targetIds.length === 0) return [];
  const p = new Params();
  const r = await q.query<{ id: string }>(
    `SELECT DISTINCT s.id FROM sp_reference s
      WHERE s.target_id = ANY(${p.add(targetIds)}::text[]) AND s.target_type = ${p.add(targetType)} AND ${codeIs(sourceType, code, p)} AND s.resource_type = ${p.add(sourceType)}`,
    p.values,
  );
  return r.rows.map((x) => ({ resourceType: sourceType, id: x.id }));
}
