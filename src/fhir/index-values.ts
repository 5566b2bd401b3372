/**
 * Extracts the search index values of a resource from its SearchParameter FHIRPath expressions.
 * Pure: the store persists what this returns (medplum's buildResourceRow, in spirit).
 */
import {
  AsAtom, DotAtom, FhirPathAtom, FunctionAtom, IsAtom, SymbolAtom, UnionAtom,
  evalFhirPathTyped, isResource, removeDuplicates, toJsBoolean, toTypedValue,
  type TypedValue,
} from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { dateRange, type InstantRange } from './dates.js';
import { uniqueRows } from './row-dedupe.js';
import { typedPropertyValue } from './typed-property.js';
import { compositeParamsFor, searchParamsFor, type CompositeParam, type SearchParam } from './search-parameters.js';

export interface TokenRow { code: string; system: string | null; value: string | null; text: string | null }
export interface StringRow { code: string; value: string }
export interface DateRow { code: string; lo: string; hi: string }
export interface ReferenceRow { code: string; targetType: string | null; targetId: string | null; url: string }
export interface NumberRow { code: string; value: number }
export interface QuantityRow { code: string; value: number; system: string | null; unit: string | null }
export interface UriRow { code: string; value: string }

export interface IndexRows {
  token: TokenRow[];
  string: StringRow[];
  date: DateRow[];
  reference: ReferenceRow[];
  number: NumberRow[];
  quantity: QuantityRow[];
  uri: UriRow[];
}

export function emptyRows(): IndexRows {
  return { token: [], string: [], date: [], reference: [], number: [], quantity: [], uri: [] };
}

/** Lower case without accents: how string search compares values (FHIR: case- and accent-insensitive). */
export function normaliseString(s: string): string {
  return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().trim();
}

export function buildIndexRows(resource: Resource): IndexRows {
  const rows = emptyRows();
  const params = searchParamsFor(resource.resourceType);
  const typed = [toTypedValue(resource)];
  const memo: Memo = new Map();
  for (const sp of params.values()) {
    // its rows are another parameter's (storage-aliases.ts)
    if (sp.storedAs) continue;
    let values: TypedValue[];
    try {
      const compiled = compiledFor(sp);
      values = compiled ? primitiveValues(compiled(typed, memo)) : evalFhirPathTyped(sp.atom, typed);
    } catch {
      continue;
    }
    if (values.length === 0) continue;
    switch (sp.type) {
      case 'token':
        for (const v of values) tokens(sp.code, v, rows.token);
        break;
      case 'string':
        for (const v of values) strings(sp.code, v, rows.string);
        break;
      case 'date':
        for (const v of values) dates(sp.code, v, rows.date);
        break;
      case 'reference':
        for (const v of values) references(sp.code, v, rows.reference);
        break;
      case 'number':
        for (const v of values) if (typeof v.value === 'number') rows.number.push({ code: sp.code, value: v.value });
        break;
      case 'quantity':
        for (const v of values) quantities(sp.code, v, rows.quantity);
        break;
      case 'uri':
        for (const v of values) if (typeof v.value === 'string') rows.uri.push({ code: sp.code, value: v.value });
        break;
    }
  }
  compositeRows(resource.resourceType, typed, rows, memo);
  return dedupe(rows);
}

// ---- composite parameters ----------------------------------------------------------------------

/** The index code of a composite's row: the parameter and the first component's coding. */
export function compositeKey(code: string, system: string | null, value: string): string {
  return `${code}$${system ?? ''}|${value}`;
}

/**
 * Rows of the composite parameters: for each base node, every coding of the token component paired
 * with every value of the second, stored in the value's table under compositeKey. When the base is
 * the resource itself, the components are the parameters their definitions name, so the pairs are
 * made from those parameters' own rows: a resource matching code=X and value-quantity=Y then always
 * has the code-value-quantity row for X$Y (the search relies on it, search-sql.ts impliedComposites).
 */
function compositeRows(resourceType: string, typed: TypedValue[], rows: IndexRows, memo: Memo): void {
  for (const cp of compositeParamsFor(resourceType).values()) {
    // its rows are other composites' (storage-aliases.ts)
    if (cp.parts) continue;
    if (!cp.base) {
      const tokenCodes = cp.token.param.storedAs?.codes ?? [cp.token.param.code];
      const valueCodes = cp.value.param.storedAs?.codes ?? [cp.value.param.code];
      pair(cp, rows.token.filter((t) => tokenCodes.includes(t.code)), valueCodes.flatMap((c) => valueRowsOf(rows, cp, c)), rows);
      continue;
    }
    let bases: TypedValue[];
    try {
      bases = evaluate(cp.base, typed, memo);
    } catch {
      continue;
    }
    const valueTypes = asTypes(cp.value.expression);
    for (const b of bases) {
      const codings: TokenRow[] = [];
      const part = emptyRows();
      try {
        const local: Memo = new Map();
        for (const v of evaluate(cp.token.atom, [b], local)) tokens(cp.token.param.code, v, codings);
        for (const v of evaluate(cp.value.atom, [b], local)) if (!valueTypes || valueTypes.has(v.type.toLowerCase())) valueRow(cp, v, part);
      } catch {
        continue;
      }
      pair(cp, codings, valueRowsOf(part, cp, cp.value.param.code), rows);
    }
  }
}

const asTypesCache = new Map<string, Set<string> | undefined>();

/**
 * The types a component expression's `.as(Type)` filters keep (lower case), when every branch of it
 * has one ("value.as(Quantity) | value.as(Range)"); medplum's as() returns its input unfiltered.
 */
function asTypes(expression: string): Set<string> | undefined {
  if (asTypesCache.has(expression)) return asTypesCache.get(expression);
  const types = [...expression.matchAll(/\.as\((\w+)\)|\bas\s+(\w+)/g)].map((m) => (m[1] ?? m[2] ?? '').toLowerCase());
  const set = types.length === expression.split('|').length ? new Set(types) : undefined;
  asTypesCache.set(expression, set);
  return set;
}

const compiledAtoms = new WeakMap<object, Compiled | null>();

/** An expression on `input`: compiled like the parameters' paths when it can be (memo per input), else medplum's. */
function evaluate(atom: CompositeParam['token']['atom'], input: TypedValue[], memo: Memo): TypedValue[] {
  let c = compiledAtoms.get(atom);
  if (c === undefined) {
    const a: unknown = atom;
    c = (a instanceof FhirPathAtom ? compileRoot(a.child) : undefined) ?? null;
    compiledAtoms.set(atom, c);
  }
  if (!c) return evalFhirPathTyped(atom, input);
  return primitiveValues(c(input, memo));
}

/**
 * The values as medplum's evaluation gives them: each value's valueOf() (a primitive with an
 * extension is a String, Number or Boolean object). The list itself when no value changes.
 */
function primitiveValues(values: TypedValue[]): TypedValue[] {
  let out: TypedValue[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as TypedValue;
    const value = (v.value as { valueOf(): unknown } | undefined)?.valueOf();
    if (value !== v.value) (out ??= values.slice(0, i)).push({ type: v.type, value });
    else out?.push(v);
  }
  return out ?? values;
}

function valueRowsOf(rows: IndexRows, cp: CompositeParam, code: string): { code: string }[] {
  return (rows[cp.value.type] as { code: string }[]).filter((r) => r.code === code);
}

function valueRow(cp: CompositeParam, v: TypedValue, out: IndexRows): void {
  const code = cp.value.param.code;
  switch (cp.value.type) {
    case 'token': tokens(code, v, out.token); break;
    case 'quantity': quantities(code, v, out.quantity); break;
    case 'date': dates(code, v, out.date); break;
    case 'string': strings(code, v, out.string); break;
    case 'number': if (typeof v.value === 'number') out.number.push({ code, value: v.value }); break;
    case 'uri': if (typeof v.value === 'string') out.uri.push({ code, value: v.value }); break;
  }
}

function pair(cp: CompositeParam, codings: TokenRow[], values: { code: string }[], rows: IndexRows): void {
  const out = rows[cp.value.type] as { code: string }[];
  for (const t of codings) {
    if (t.value === null) continue;
    const key = compositeKey(cp.code, t.system, t.value);
    for (const v of values) out.push({ ...v, code: key });
  }
}

// ---- compiled expressions ----------------------------------------------------------------------
// Most SearchParameter expressions are paths, unions of paths and `as` type filters. These are
// compiled into functions that do what medplum's FHIRPath atoms do for them (the same
// getTypedPropertyValue per step, the same union de-duplication and `as` filter), without the
// interpreter's per-step overhead, and with every path from the root computed once per resource
// (memo) though several parameters walk it. Anything else is evaluated by medplum.

type Memo = Map<string, TypedValue[]>;
type Compiled = (input: TypedValue[], memo: Memo) => TypedValue[];

const compiledCache = new WeakMap<SearchParam, Compiled | null>();

function compiledFor(sp: SearchParam): Compiled | undefined {
  let c = compiledCache.get(sp);
  if (c === undefined) {
    const atom: unknown = sp.atom;
    c = (atom instanceof FhirPathAtom ? compileRoot(atom.child) : undefined) ?? null;
    compiledCache.set(sp, c);
  }
  return c ?? undefined;
}

/** An atom evaluated on the root input (the resource): results are memoised by the path's key. */
function compileRoot(atom: unknown): Compiled | undefined {
  if (atom instanceof UnionAtom) {
    const left = compileRoot(atom.left);
    const right = compileRoot(atom.right);
    if (!left || !right) return undefined;
    return (input, memo) => removeDuplicates([...left(input, memo), ...right(input, memo)]);
  }
  const path = compilePath(atom);
  if (!path) return undefined;
  const [key, fn] = path;
  return (input, memo) => {
    let r = memo.get(key);
    if (!r) {
      r = fn(input, memo);
      memo.set(key, r);
    }
    return r;
  };
}

/**
 * A path from the root: Symbol, Dot(path, Symbol), As(path, Symbol), Dot(path, as(Type)) (which
 * medplum answers with its input), Dot(path, where(criteria)) with criteria that use no variables
 * (evaluated by medplum per item, as its where() does). Returns the path's memo key and function.
 */
function compilePath(atom: unknown): [string, Compiled] | undefined {
  if (atom instanceof SymbolAtom) {
    const step = compileSymbol(atom);
    return step ? [atom.name, (input) => step(input)] : undefined;
  }
  if (atom instanceof DotAtom || atom instanceof AsAtom) {
    const left = compileRoot(atom.left);
    const leftKey = compilePath(atom.left)?.[0];
    if (!left || leftKey === undefined) return undefined;
    const right: unknown = atom.right;
    if (atom instanceof AsAtom) {
      if (!(right instanceof SymbolAtom)) return undefined;
      const type = right.name;
      return [`(${leftKey} as ${type})`, (input, memo) => left(input, memo).filter((e) => e.type === type)];
    }
    if (right instanceof SymbolAtom) {
      const step = compileSymbol(right);
      return step ? [`${leftKey}.${right.name}`, (input, memo) => step(left(input, memo))] : undefined;
    }
    if (right instanceof FunctionAtom && right.name === 'as' && right.args.length === 1) return [`${leftKey}.as()`, left];
    if (right instanceof FunctionAtom && right.name === 'where' && right.args.length === 1) {
      const criteria = right.args[0] as FhirPathAtom['child'];
      if (/[$%]/.test(criteria.toString())) return undefined;
      const test = referenceTypeTest(criteria) ?? ((e: TypedValue): boolean => toJsBoolean(criteria.eval({ variables: {} }, [e])));
      return [`${leftKey}.where(${criteria.toString()})`, (input, memo) => left(input, memo).filter(test)];
    }
  }
  return undefined;
}

/** fhirPathIs's types with a test of their own; any other type name is compared with the value's type. */
const SPECIAL_TYPES = new Set(['Boolean', 'Decimal', 'Integer', 'Date', 'DateTime', 'Time', 'Period', 'Quantity']);

/**
 * `resolve() is T` (a reference parameter narrowed to a target type) as a test of the reference
 * text, the same as medplum's: resolve() reads "T/id" or "T?query" as a T, anything else as nothing.
 * A Reference with a contained resource, without a reference text, or of another shape is left to medplum.
 */
function referenceTypeTest(criteria: FhirPathAtom['child']): ((e: TypedValue) => boolean) | undefined {
  const c: unknown = criteria;
  if (!(c instanceof IsAtom) || !(c.left instanceof FunctionAtom) || c.left.name !== 'resolve' || c.left.args.length !== 0) return undefined;
  if (!(c.right instanceof SymbolAtom)) return undefined;
  const type = c.right.name;
  if (!/^[A-Za-z]+$/.test(type) || SPECIAL_TYPES.has(type)) return undefined;
  return (e) => {
    const v = e.value as { resource?: unknown; reference?: unknown } | null | undefined;
    if (v && typeof v === 'object' && !v.resource && typeof v.reference === 'string' && v.reference !== '') {
      const ref = v.reference;
      const q = ref.indexOf('?');
      if (q >= 0) return ref.slice(0, q) === type;
      const slash = ref.indexOf('/');
      return slash >= 0 && ref.slice(0, slash) === type;
    }
    return toJsBoolean(criteria.eval({ variables: {} }, [e]));
  };
}

/** SymbolAtom.eval without variables (buildIndexRows passes none; `%` names and `$this` are left to medplum). */
function compileSymbol(atom: SymbolAtom): ((input: TypedValue[]) => TypedValue[]) | undefined {
  const name = atom.name;
  if (name.startsWith('%') || name.startsWith('$') || name in Object.prototype) return undefined;
  return (input) => {
    const out: TypedValue[] = [];
    for (const e of input) {
      const value = e.value as unknown;
      if (!value || typeof value !== 'object') continue;
      const r = isResource(value, name as never) ? e : typedPropertyValue(e, name);
      if (Array.isArray(r)) {
        for (const x of r) if (x?.value !== undefined) out.push(x);
      } else if (r?.value !== undefined) out.push(r);
    }
    return out;
  };
}

/** Drops repeated rows (equal in every field), table by table. */
function dedupe(rows: IndexRows): IndexRows {
  return {
    token: uniqueRows(rows.token, ['code', 'system', 'value', 'text']),
    string: uniqueRows(rows.string, ['code', 'value']),
    date: uniqueRows(rows.date, ['code', 'lo', 'hi']),
    reference: uniqueRows(rows.reference, ['code', 'targetType', 'targetId', 'url']),
    number: uniqueRows(rows.number, ['code', 'value']),
    quantity: uniqueRows(rows.quantity, ['code', 'value', 'system', 'unit']),
    uri: uniqueRows(rows.uri, ['code', 'value']),
  };
}

type Obj = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

function tokens(code: string, tv: TypedValue, out: TokenRow[]): void {
  const v = tv.value as unknown;
  if (v === null || v === undefined) return;
  if (typeof v === 'boolean') {
    out.push({ code, system: null, value: String(v), text: null });
    return;
  }
  if (typeof v === 'string') {
    out.push({ code, system: null, value: v, text: null });
    return;
  }
  if (typeof v !== 'object') return;
  const o = v as Obj;
  switch (tv.type) {
    case 'CodeableConcept': {
      const text = str(o.text);
      let said = false;
      for (const c of (o.coding as Obj[] | undefined) ?? []) {
        const shown = str(c.display) ?? text;
        out.push({ code, system: str(c.system), value: str(c.code), text: shown });
        if (text !== null && shown === text) said = true;
      }
      // The concept's own text gets a row of its own (no system, no code) only when no coding's row
      // carries it already: `:text` reads the text column of every row of the parameter, so a second
      // row with the same text finds nothing more. (Synthea repeats the display as the text on almost
      // every concept: a fifth of its token rows were such repeats.)
      if (text && !said) out.push({ code, system: null, value: null, text });
      return;
    }
    case 'Coding':
      out.push({ code, system: str(o.system), value: str(o.code), text: str(o.display) });
      return;
    case 'Identifier': {
      const type = o.type as Obj | undefined;
      out.push({ code, system: str(o.system), value: str(o.value), text: str(type?.text) });
      // identifier:of-type is indexed as a token of this parameter with the type's system|code as its
      // system and the value; stored under code "<param>:of-type".
      for (const c of (type?.coding as Obj[] | undefined) ?? []) {
        if (str(c.code) && str(o.value)) {
          out.push({ code: `${code}:of-type`, system: `${str(c.system) ?? ''}|${str(c.code)}`, value: str(o.value), text: null });
        }
      }
      return;
    }
    case 'ContactPoint':
      out.push({ code, system: str(o.system), value: str(o.value), text: null });
      return;
    case 'Reference':
      if (o.identifier) tokens(code, { type: 'Identifier', value: o.identifier }, out);
      return;
    default:
      if ('code' in o || 'system' in o) out.push({ code, system: str(o.system), value: str(o.code), text: str(o.display) });
  }
}

function strings(code: string, tv: TypedValue, out: StringRow[]): void {
  const push = (s: unknown): void => {
    if (typeof s === 'string' && s.trim()) out.push({ code, value: s });
  };
  const v = tv.value as unknown;
  if (typeof v === 'string') return push(v);
  if (!v || typeof v !== 'object') return;
  const o = v as Obj;
  if (tv.type === 'HumanName') {
    push(o.text);
    push(o.family);
    for (const g of (o.given as string[] | undefined) ?? []) push(g);
    for (const p of (o.prefix as string[] | undefined) ?? []) push(p);
    for (const p of (o.suffix as string[] | undefined) ?? []) push(p);
    return;
  }
  if (tv.type === 'Address') {
    push(o.text);
    for (const l of (o.line as string[] | undefined) ?? []) push(l);
    for (const k of ['city', 'district', 'state', 'postalCode', 'country']) push(o[k]);
    return;
  }
  for (const k of ['text', 'display', 'value', 'name']) push(o[k]);
}

/**
 * dateRange, remembered: a resource's dates repeat (effective and issued, a period in several
 * parameters) and so do a file's. The ranges are only read here. Forgotten past RANGES_KEPT texts.
 */
const ranges = new Map<string, InstantRange | undefined>();
const RANGES_KEPT = 20_000;

function rangeOf(text: string): InstantRange | undefined {
  let r = ranges.get(text);
  if (r === undefined && !ranges.has(text)) {
    if (ranges.size >= RANGES_KEPT) ranges.clear();
    r = dateRange(text);
    ranges.set(text, r);
  }
  return r;
}

function dates(code: string, tv: TypedValue, out: DateRow[]): void {
  const v = tv.value as unknown;
  if (typeof v === 'string') {
    const r = rangeOf(v);
    if (r) out.push({ code, ...r });
    return;
  }
  if (!v || typeof v !== 'object') return;
  const o = v as Obj;
  if (tv.type === 'Period') {
    const lo = typeof o.start === 'string' ? rangeOf(o.start)?.lo : undefined;
    const hi = typeof o.end === 'string' ? rangeOf(o.end)?.hi : undefined;
    if (lo || hi) out.push({ code, lo: lo ?? '-infinity', hi: hi ?? 'infinity' });
    return;
  }
  if (tv.type === 'Timing') {
    for (const e of (o.event as string[] | undefined) ?? []) {
      const r = rangeOf(e);
      if (r) out.push({ code, ...r });
    }
  }
}

function references(code: string, tv: TypedValue, out: ReferenceRow[]): void {
  const v = tv.value as unknown;
  let ref: string | null = null;
  if (typeof v === 'string') ref = v; // canonical / uri
  else if (v && typeof v === 'object') ref = str((v as Obj).reference);
  if (!ref || ref.startsWith('#')) return;
  const parsed = parseReference(ref);
  out.push({ code, targetType: parsed?.type ?? null, targetId: parsed?.id ?? null, url: ref });
}

/** "Patient/123", "http://x/fhir/Patient/123/_history/2" -> { type, id }; undefined for others. */
export function parseReference(ref: string): { type: string; id: string } | undefined {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref);
  return m ? { type: m[1] as string, id: m[2] as string } : undefined;
}

function quantities(code: string, tv: TypedValue, out: QuantityRow[]): void {
  const o = tv.value as Obj | undefined;
  if (!o || typeof o !== 'object' || typeof o.value !== 'number') return;
  out.push({ code, value: o.value, system: str(o.system), unit: str(o.code) ?? str(o.unit) });
}
