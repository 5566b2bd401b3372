/** Parses a FHIR search query string into a structured request, pure and independent of storage. */
import { badRequest } from './outcomes.js';
import { compositeParamsFor, RESULT_PARAMS, searchParam, type CompositeParam, type ParamType, type SearchParam } from './search-parameters.js';
import { isKnownResourceType } from './definitions.js';
import { dateRange } from './dates.js';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';
const PREFIXES = new Set<Prefix>(['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']);

export interface Filter {
  /** The parameter code, e.g. "name", "_id", "_lastUpdated". */
  code: string;
  type: ParamType;
  modifier?: string;
  /** OR-ed values, unescaped. */
  values: string[];
  param?: SearchParam;
  /** Chained search: subject:Patient.name=x -> chain { resourceType: 'Patient', filter: name=x } */
  chain?: { resourceType: string; filter: Filter };
  /** Reverse chain: _has:Observation:patient:code=x */
  has?: { resourceType: string; referenceCode: string; filter: Filter };
  /** Composite: code-value-quantity=http://loinc.org|4548-4$gt9 -> OR-ed [token, value] pairs, unescaped. */
  composite?: { param: CompositeParam; pairs: [string, string][] };
}

export interface SortKey {
  code: string;
  descending: boolean;
  type: ParamType;
}

export interface IncludeSpec {
  sourceType: string;
  code: string;
  targetType?: string;
  iterate: boolean;
}

/** A keyset position: the sort-key values and id of the row a page starts after (next) or before (prev). */
export interface Cursor {
  dir: 'next' | 'prev';
  keys: (string | null)[];
  id: string;
}

export interface SearchRequest {
  resourceType: string;
  filters: Filter[];
  count: number;
  offset: number;
  cursor?: Cursor;
  /** Compartment search: Patient/123/Condition. */
  compartment?: { resourceType: 'Patient'; id: string };
  sort: SortKey[];
  total: 'none' | 'estimate' | 'accurate';
  summary?: 'true' | 'false' | 'count' | 'text' | 'data';
  elements?: string[];
  include: IncludeSpec[];
  revinclude: IncludeSpec[];
  /** Parameters that are not understood (reported, or an error under handling=strict). */
  unknown: string[];
  /** Records the viewer may not see, left out by the search itself so a page stays full. */
  hidden?: HiddenRecords;
}

/**
 * Sensitive records kept out of a search: those labelled (meta.security) with one of `codes`, and
 * everything in the compartment of a patient so labelled, except in the compartments of the
 * patients the viewer opened by break-the-glass.
 */
export interface HiddenRecords {
  codes: string[];
  exceptPatients: string[];
}

export const DEFAULT_COUNT = 20;
export const MAX_COUNT = 1000;

export type Query = Record<string, string | string[] | undefined>;

/** Splits on `sep` where it is not escaped with a backslash; the parts keep their escapes. */
function splitUnescaped(raw: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\') i++;
    else if (raw[i] === sep) {
      out.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  out.push(raw.slice(start));
  return out;
}

/** Removes the backslash of each escape: \, \$ \| \\ . */
function unescapePart(part: string): string {
  return part.replace(/\\(.)/g, '$1');
}

/** Splits on commas not escaped with a backslash, and unescapes \, \$ \| \\ . */
export function splitValues(raw: string): string[] {
  return splitUnescaped(raw, ',').map(unescapePart);
}

/** A composite parameter's value: OR-ed (comma) pairs of a token and a value joined by "$", each part unescaped. */
export function splitComposite(raw: string, name: string): [string, string][] {
  return splitUnescaped(raw, ',').map((item) => {
    const parts = splitUnescaped(item, '$').map(unescapePart);
    const [token, value] = parts as [string, string | undefined];
    if (parts.length !== 2 || !token || !value) throw badRequest(`Composite parameter "${name}" takes token$value pairs, got "${item}"`, name);
    if (token.endsWith('|')) throw badRequest(`Composite parameter "${name}" needs a code in its first part, got "${token}"`, name);
    return [token, value];
  });
}

export function splitPrefix(value: string): { prefix: Prefix; value: string } {
  const p = value.slice(0, 2) as Prefix;
  if (PREFIXES.has(p) && /^[\d-]/.test(value.slice(2))) return { prefix: p, value: value.slice(2) };
  return { prefix: 'eq', value };
}

function specialParam(code: string): ParamType | undefined {
  if (code === '_id') return 'token';
  if (code === '_lastUpdated') return 'date';
  return undefined;
}

function buildFilter(resourceType: string, name: string, raw: string, depth = 0): Filter {
  if (name.startsWith('_has:')) {
    const parts = name.split(':');
    if (parts.length < 4) throw badRequest(`_has needs _has:Type:reference:parameter, got "${name}"`, name);
    const [, hasType, refCode, ...rest] = parts as [string, string, string, ...string[]];
    if (!isKnownResourceType(hasType)) throw badRequest(`Unknown resource type "${hasType}" in _has`, name);
    if (!searchParam(hasType, refCode)) throw badRequest(`Unknown reference parameter "${refCode}" on ${hasType}`, name);
    if (depth > 1) throw badRequest('Only one level of _has is supported', name);
    return { code: '_has', type: 'reference', values: [], has: { resourceType: hasType, referenceCode: refCode, filter: buildFilter(hasType, rest.join(':'), raw, depth + 1) } };
  }
  const dot = name.indexOf('.');
  if (dot > 0) {
    const head = name.slice(0, dot);
    const tail = name.slice(dot + 1);
    const [code, targetType] = head.split(':') as [string, string | undefined];
    const sp = searchParam(resourceType, code);
    if (!sp || sp.type !== 'reference') throw badRequest(`"${code}" is not a reference parameter of ${resourceType}`, name);
    const targets = targetType ? [targetType] : sp.targets;
    if (targets.length !== 1) throw badRequest(`Chained parameter "${name}" needs a type modifier, e.g. ${code}:${sp.targets[0] ?? 'Patient'}.${tail}`, name);
    if (depth > 0) throw badRequest('Only one level of chaining is supported', name);
    const t = targets[0] as string;
    return { code, type: 'reference', param: sp, values: [], chain: { resourceType: t, filter: buildFilter(t, tail, raw, depth + 1) } };
  }
  const [code, modifier] = name.split(':') as [string, string | undefined];
  const special = specialParam(code);
  const values = splitValues(raw);
  if (special) return { code, type: special, modifier, values: checkValues(special, modifier, values, name) };
  const sp = searchParam(resourceType, code);
  if (!sp) {
    const cp = compositeParamsFor(resourceType).get(code);
    if (!cp) throw new UnknownParam(name);
    if (modifier) throw badRequest(`Modifier ":${modifier}" is not supported on composite parameter "${code}"`, name);
    const pairs = splitComposite(raw, name);
    for (const [, value] of pairs) checkValues(cp.value.type, undefined, [value], name);
    return { code, type: 'composite', values: [raw], composite: { param: cp, pairs } };
  }
  if (modifier && !validModifier(sp.type, modifier)) throw badRequest(`Modifier ":${modifier}" is not supported on ${sp.type} parameter "${code}"`, name);
  return { code, type: sp.type, modifier, values: checkValues(sp.type, modifier, values, name), param: sp };
}

const NUMBER_RE = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/**
 * The values of a parameter, each checked against its type before any SQL is built, so a bad one is
 * a 400 naming the parameter (`Encounter?date=2015-13-01`: "date" in the OperationOutcome's
 * expression), not a search that finds nothing.
 */
function checkValues(type: ParamType | CompositeParam['value']['type'], modifier: string | undefined, values: string[], name: string): string[] {
  for (const raw of values) {
    if (modifier === 'missing') {
      if (raw !== 'true' && raw !== 'false') throw badRequest(`Parameter "${name}" takes true or false, got "${raw}"`, name);
      continue;
    }
    if (type === 'date') {
      const { value } = splitPrefix(raw);
      if (!dateRange(value)) throw badRequest(`Invalid date "${value}" in parameter "${name}": expected YYYY, YYYY-MM, YYYY-MM-DD or a dateTime (YYYY-MM-DDThh:mm[:ss][Z|+hh:mm]), with an optional prefix (eq, ne, lt, gt, le, ge, sa, eb, ap)`, name);
    } else if (type === 'number' || type === 'quantity') {
      const { value } = splitPrefix(raw);
      const num = type === 'quantity' ? (value.split('|')[0] as string) : value;
      if (!NUMBER_RE.test(num)) throw badRequest(`Invalid ${type} "${raw}" in parameter "${name}": expected a number${type === 'quantity' ? ', optionally |system|code,' : ''} with an optional prefix (eq, ne, lt, gt, le, ge, sa, eb, ap)`, name);
    }
  }
  return values;
}

function validModifier(type: ParamType, m: string): boolean {
  if (m === 'missing') return true;
  switch (type) {
    case 'string': return m === 'exact' || m === 'contains';
    case 'token': return m === 'not' || m === 'text' || m === 'of-type';
    case 'reference': return /^[A-Z][A-Za-z]+$/.test(m) || m === 'identifier';
    case 'uri': return m === 'below' || m === 'above';
    default: return false;
  }
}

class UnknownParam extends Error {}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.dir === 'next' ? 'n' : 'p', c.keys, c.id])).toString('base64url');
}

export function decodeCursor(raw: string): Cursor {
  try {
    const [d, keys, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as [string, (string | null)[], string];
    if ((d !== 'n' && d !== 'p') || !Array.isArray(keys) || typeof id !== 'string') throw new Error('shape');
    return { dir: d === 'n' ? 'next' : 'prev', keys: keys.map((k) => (k === null ? null : String(k))), id };
  } catch {
    throw badRequest('Invalid _cursor: use the next/previous links of a search Bundle', '_cursor');
  }
}

export function parseSearchRequest(resourceType: string, query: Query, options: { strict?: boolean } = {}): SearchRequest {
  const req: SearchRequest = {
    resourceType, filters: [], count: DEFAULT_COUNT, offset: 0, sort: [], total: 'accurate', include: [], revinclude: [], unknown: [],
  };
  for (const [name, rawValue] of Object.entries(query)) {
    if (rawValue === undefined) continue;
    const raws = Array.isArray(rawValue) ? rawValue : [rawValue];
    for (const raw of raws) {
      if (name === '_count') {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 0) throw badRequest(`_count must be a non-negative integer, got "${raw}"`, '_count');
        req.count = Math.min(n, MAX_COUNT);
      } else if (name === '_offset') {
        const n = Number(raw);
        if (!Number.isInteger(n) || n < 0) throw badRequest(`_offset must be a non-negative integer, got "${raw}"`, '_offset');
        req.offset = n;
      } else if (name === '_cursor') {
        req.cursor = decodeCursor(raw);
      } else if (name === '_sort') {
        for (const s of raw.split(',').filter(Boolean)) {
          const descending = s.startsWith('-');
          const code = descending ? s.slice(1) : s;
          const type = specialParam(code) ?? searchParam(resourceType, code)?.type;
          if (!type) throw badRequest(`Unknown sort parameter "${code}" for ${resourceType}`, '_sort');
          req.sort.push({ code, descending, type });
        }
      } else if (name === '_total') {
        if (raw !== 'none' && raw !== 'estimate' && raw !== 'accurate') throw badRequest(`_total must be none, estimate or accurate`, '_total');
        req.total = raw;
      } else if (name === '_summary') {
        if (!['true', 'false', 'count', 'text', 'data'].includes(raw)) throw badRequest(`_summary must be true, false, count, text or data`, '_summary');
        req.summary = raw as SearchRequest['summary'];
      } else if (name === '_elements') {
        req.elements = raw.split(',').map((s) => s.trim()).filter(Boolean);
      } else if (name === '_include' || name.startsWith('_include:') || name === '_revinclude' || name.startsWith('_revinclude:')) {
        const iterate = name.endsWith(':iterate') || name.endsWith(':recurse');
        const rev = name.startsWith('_revinclude');
        const [sourceType, code, targetType] = raw.split(':') as [string, string | undefined, string | undefined];
        if (!code || !isKnownResourceType(sourceType)) throw badRequest(`${rev ? '_revinclude' : '_include'} needs Type:parameter[:target], got "${raw}"`, name);
        const sp = searchParam(sourceType, code);
        if (!sp || sp.type !== 'reference') throw badRequest(`"${code}" is not a reference parameter of ${sourceType}`, name);
        (rev ? req.revinclude : req.include).push({ sourceType, code, targetType, iterate });
      } else if (RESULT_PARAMS.has(name)) {
        // accepted and handled elsewhere (or harmless): _format, _pretty, _since, _type ...
      } else {
        try {
          req.filters.push(buildFilter(resourceType, name, raw));
        } catch (e) {
          if (!(e instanceof UnknownParam)) throw e;
          if (options.strict) throw badRequest(`Unknown search parameter "${name}" for ${resourceType}`, name);
          req.unknown.push(name);
        }
      }
    }
  }
  return req;
}
