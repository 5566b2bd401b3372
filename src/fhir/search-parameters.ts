/** The SearchParameters of each resource type, from the base R4 definitions, with parsed expressions. */
import { getSearchParameterDetails, getSearchParameters, parseFhirPath } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';
import { loadDefinitions } from './definitions.js';
import { compositeUnions, storageAliases, type StoredAs } from './storage-aliases.js';

export type ParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

export interface SearchParam {
  code: string;
  type: ParamType;
  expression: string;
  /** The expression narrowed to this resource type, parsed once. */
  atom: ReturnType<typeof parseFhirPath>;
  targets: string[];
  definition: SearchParameter;
  /**
   * At most one index row per resource: the expression yields at most one value (not an array) of a
   * type indexed as one row (a Timing may give one row per event). Several conditions on such a
   * parameter can then be tested on the same row.
   */
  singleRow: boolean;
  /**
   * At most one index row per resource under this parameter's code, whatever the value: singleRow,
   * and the value's type is indexed as one row (a status code, a Coding, an Identifier; not a
   * CodeableConcept, one row per coding, nor a HumanName, one per part). A set of ids found through
   * one such row each needs no de-duplication.
   */
  uniqueRows: boolean;
  /** Every value is an Identifier (a token whose values pick out one record each: MRN, claim number). */
  identifier: boolean;
  /**
   * Set when the parameter's index rows are another parameter's rows (storage-aliases.ts): it is
   * not indexed itself, and its searches read `codes` (narrowed to references to `targetType`).
   */
  storedAs?: StoredAs;
}

export type { StoredAs };

/** Element types that index-values.ts indexes as one row, per parameter type. */
const ONE_ROW_TYPES: Partial<Record<ParamType, ReadonlySet<string>>> = {
  token: new Set(['code', 'boolean', 'id', 'string', 'uri', 'Coding', 'Identifier', 'ContactPoint']),
  reference: new Set(['Reference', 'canonical', 'uri']),
  string: new Set(['string', 'markdown', 'code', 'uri']),
  date: new Set(['date', 'dateTime', 'instant', 'Period']),
  number: new Set(['decimal', 'integer', 'positiveInt', 'unsignedInt']),
  quantity: new Set(['Quantity', 'Age', 'Duration', 'Count', 'Distance', 'SimpleQuantity', 'Money']),
  uri: new Set(['uri', 'url', 'canonical']),
};

/** Parameters handled by the store itself rather than by index tables. */
export const RESULT_PARAMS = new Set([
  '_count', '_sort', '_include', '_revinclude', '_summary', '_elements', '_total', '_format', '_pretty',
  '_page', '_offset', '_cursor', '_contained', '_containedType', '_since', '_type', '_at', '_list',
]);

const cache = new Map<string, Map<string, SearchParam>>();

/** Indexed parameters of a type (composite, special and the common parameters handled as columns excluded). */
export function searchParamsFor(resourceType: string): Map<string, SearchParam> {
  let m = cache.get(resourceType);
  if (m) return m;
  loadDefinitions();
  m = new Map();
  const defs = getSearchParameters(resourceType) ?? {};
  for (const [code, sp] of Object.entries(defs)) {
    if (!sp.expression || sp.type === 'composite' || sp.type === 'special') continue;
    if (code === '_id' || code === '_lastUpdated' || code === '_compartment') continue;
    let details;
    try {
      details = getSearchParameterDetails(resourceType, sp);
    } catch {
      continue;
    }
    const elements = details.elementDefinitions ?? [];
    const singleRow = details.array === false && elements.length > 0
      && elements.every((e) => e.type.length > 0 && e.type.every((t) => t.code !== 'Timing'));
    const oneRow = ONE_ROW_TYPES[sp.type as ParamType];
    const uniqueRows = singleRow && !!oneRow && elements.every((e) => e.type.every((t) => oneRow.has(t.code)));
    const identifier = sp.type === 'token' && elements.length > 0 && elements.every((e) => e.type.length > 0 && e.type.every((t) => t.code === 'Identifier'));
    m.set(code, { code, type: sp.type as ParamType, expression: sp.expression, atom: details.parsedExpression, targets: sp.target ?? [], definition: sp, singleRow, uniqueRows, identifier });
  }
  for (const [code, storedAs] of storageAliases(resourceType, m)) {
    const sp = m.get(code) as SearchParam;
    // rows from several parameters may repeat a resource
    m.set(code, { ...sp, storedAs, uniqueRows: sp.uniqueRows && storedAs.codes.length === 1 });
  }
  cache.set(resourceType, m);
  return m;
}

export function searchParam(resourceType: string, code: string): SearchParam | undefined {
  return searchParamsFor(resourceType).get(code);
}

/**
 * The SQL condition selecting a parameter's index rows (table alias `s`): its own code, or where an
 * aliased parameter's rows are stored (storedAs). `value` renders a value: a bind parameter or a
 * quoted literal.
 */
export function storedCodeCondition(resourceType: string, code: string, value: (v: string) => string, s = 's'): string {
  const at = searchParam(resourceType, code)?.storedAs;
  if (!at) return `${s}.code = ${value(code)}`;
  const codes = at.codes.length === 1 ? `${s}.code = ${value(at.codes[0] as string)}` : `${s}.code IN (${at.codes.map(value).join(', ')})`;
  return at.targetType ? `${codes} AND ${s}.target_type = ${value(at.targetType)}` : codes;
}

/** Types a composite's second component can have (its rows go to that type's index table). */
export type CompositeValueType = 'token' | 'quantity' | 'date' | 'string' | 'number' | 'uri';
const COMPOSITE_VALUE_TYPES = new Set<string>(['token', 'quantity', 'date', 'string', 'number', 'uri']);

/**
 * A composite parameter of two components, a token and a value (R4's code-value-quantity,
 * component-code-value-quantity, characteristic-value, context-type-quantity...): each base node
 * (the resource, a component, a useContext) pairs the codings of its first component with the values
 * of its second. Stored as rows of the value's table under the code `<code>$<system>|<code>`.
 */
export interface CompositeParam {
  code: string;
  definition: SearchParameter;
  /** The base expression narrowed to this type; undefined when the base is the resource itself. */
  base?: ReturnType<typeof parseFhirPath>;
  /** The token component: its parameter on this type (found by its definition URL) and expression from the base. */
  token: { param: SearchParam; atom: ReturnType<typeof parseFhirPath> };
  value: { param: SearchParam; type: CompositeValueType; atom: ReturnType<typeof parseFhirPath>; expression: string };
  /**
   * Set when the composite's rows are the union of other composites' rows (storage-aliases.ts):
   * not indexed itself; its searches read those composites' rows.
   */
  parts?: CompositeParam[];
}

const compositeCache = new Map<string, Map<string, CompositeParam>>();

/** Composite parameters of a type that Custodian indexes (two components, token then value). */
export function compositeParamsFor(resourceType: string): Map<string, CompositeParam> {
  let m = compositeCache.get(resourceType);
  if (m) return m;
  loadDefinitions();
  m = new Map();
  const byUrl = new Map([...searchParamsFor(resourceType).values()].map((p) => [p.definition.url, p]));
  for (const [code, sp] of Object.entries(getSearchParameters(resourceType) ?? {})) {
    if (sp.type !== 'composite' || !sp.expression || sp.component?.length !== 2) continue;
    const [c1, c2] = sp.component as [NonNullable<SearchParameter['component']>[number], NonNullable<SearchParameter['component']>[number]];
    const tokenParam = byUrl.get(c1.definition ?? '');
    const valueParam = byUrl.get(c2.definition ?? '');
    if (tokenParam?.type !== 'token' || !valueParam || !COMPOSITE_VALUE_TYPES.has(valueParam.type)) continue;
    if (!c1.expression || !c2.expression || c1.expression.includes('%') || c2.expression.includes('%')) continue;
    const parts = sp.expression.split('|').map((x) => x.trim()).filter((x) => x === resourceType || x.startsWith(`${resourceType}.`));
    if (parts.length === 0) continue;
    try {
      m.set(code, {
        code,
        definition: sp,
        base: parts.length === 1 && parts[0] === resourceType ? undefined : parseFhirPath(parts.join(' | ')),
        token: { param: tokenParam, atom: parseFhirPath(c1.expression) },
        value: { param: valueParam, type: valueParam.type as CompositeValueType, atom: parseFhirPath(c2.expression), expression: c2.expression },
      });
    } catch {
      // an expression medplum cannot parse: not indexed
    }
  }
  for (const [code, parts] of compositeUnions(resourceType, m)) m.set(code, { ...(m.get(code) as CompositeParam), parts });
  compositeCache.set(resourceType, m);
  return m;
}
