/** The SearchParameters of each resource type, from the base R4 definitions, with parsed expressions. */
import { getSearchParameterDetails, getSearchParameters, parseFhirPath } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';
import { loadDefinitions } from './definitions.js';

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
}

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
    m.set(code, { code, type: sp.type as ParamType, expression: sp.expression, atom: details.parsedExpression, targets: sp.target ?? [], definition: sp, singleRow });
  }
  cache.set(resourceType, m);
  return m;
}

export function searchParam(resourceType: string, code: string): SearchParam | undefined {
  return searchParamsFor(resourceType).get(code);
}
