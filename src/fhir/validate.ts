/**
 * Validation of a resource against the base R4 definitions.
 *
 * Structure (element names, types, cardinality, primitive formats, choice types) and the
 * element-level invariants come from @medplum/core's validator (structure-check.ts answers first for
 * the resources in which it can tell medplum would find nothing; medplum's validator runs for the
 * rest). It does not check required bindings nor the invariants declared on datatype roots (per-1
 * on Period, qty-3 on Quantity, ...), so this module walks the resource once more for those.
 *
 * Invariant failures are reported as warnings unless `strict` is set: records arriving from other
 * systems must not be lost for them. Structural failures are always errors.
 */
import {
  OperationOutcomeError as MedplumOutcomeError,
  evalFhirPathTyped,
  validateResource as medplumValidate,
  type InternalSchemaElement,
  type InternalTypeSchema,
  type TypedValue,
} from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { expandValueSet, isKnownResourceType, loadDefinitions, typeSchema } from './definitions.js';
import { issue } from './outcomes.js';
import { atomOf as atom, certainlyValid } from './structure-check.js';

export interface ValidationOptions {
  /** Reject invariant failures instead of answering them with warnings. */
  strict?: boolean;
}

export interface ValidationResult {
  errors: OperationOutcomeIssue[];
  warnings: OperationOutcomeIssue[];
}

const SKIPPED_INVARIANTS = new Set(['ele-1', 'dom-3', 'dom-6', 'ext-1']);

export function validateResource(resource: unknown, options: ValidationOptions = {}): ValidationResult {
  loadDefinitions();
  const errors: OperationOutcomeIssue[] = [];
  const warnings: OperationOutcomeIssue[] = [];
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    errors.push(issue('error', 'structure', 'A resource must be a JSON object'));
    return { errors, warnings };
  }
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !type) {
    errors.push(issue('error', 'required', 'Missing resourceType', 'resourceType'));
    return { errors, warnings };
  }
  if (!isKnownResourceType(type)) {
    errors.push(issue('error', 'value', `Unknown resource type "${type}"`, 'resourceType'));
    return { errors, warnings };
  }
  let found: OperationOutcomeIssue[] = [];
  // The fast checker answers for the common case; whatever it is not sure of goes to medplum's
  // validator, whose issues are the ones reported.
  if (!certainlyValid(resource)) {
    try {
      found = medplumValidate(resource as Resource);
    } catch (err) {
      if (err instanceof MedplumOutcomeError) found = err.outcome.issue ?? [];
      else throw err;
    }
  }
  for (const i of found) {
    const text = i.details?.text ?? i.diagnostics ?? '';
    const normalised: OperationOutcomeIssue = {
      severity: i.severity,
      code: i.code,
      details: { text },
      diagnostics: text,
      expression: i.expression,
    };
    if (text === 'Invalid base64Binary format' && base64IsValid(resource, i.expression?.[0])) continue;
    if (i.code === 'invariant') pushInvariant(normalised, options, errors, warnings);
    else if (i.severity === 'error' || i.severity === 'fatal') errors.push(normalised);
    else warnings.push(normalised);
  }
  // Datatype-root invariants and required bindings, which the structural validator does not check.
  const extra: OperationOutcomeIssue[] = [];
  walkObject(resource as Record<string, unknown>, typeSchema(type), type, type, extra, { type, value: resource });
  for (const i of extra) {
    if (i.code === 'invariant') pushInvariant(i, options, errors, warnings);
    else errors.push(i);
  }
  return { errors, warnings };
}

// FHIR R4's base64Binary regex allows whitespace between groups ((\s*([0-9a-zA-Z\+/=]){4}\s*)+);
// the structural validator does not, and rejects the official Media example for it.
const FHIR_BASE64 = /^(\s*([0-9a-zA-Z+/=]){4}\s*)+$/;

function base64IsValid(resource: unknown, expression: string | undefined): boolean {
  if (!expression) return false;
  let cur: unknown = resource;
  for (const part of expression.split('.').slice(1)) {
    const m = /^([^[]+)(?:\[(\d+)\])?$/.exec(part);
    if (!m || cur === null || typeof cur !== 'object') return false;
    cur = (cur as Record<string, unknown>)[m[1] as string];
    if (m[2] !== undefined) cur = Array.isArray(cur) ? cur[Number(m[2])] : undefined;
    else if (Array.isArray(cur) && cur.length === 1) cur = cur[0];
  }
  return typeof cur === 'string' && FHIR_BASE64.test(cur);
}

function pushInvariant(
  i: OperationOutcomeIssue,
  options: ValidationOptions,
  errors: OperationOutcomeIssue[],
  warnings: OperationOutcomeIssue[],
): void {
  if (options.strict) errors.push({ ...i, severity: 'error' });
  else warnings.push({ ...i, severity: 'warning' });
}

type FoundElement = { element: InternalSchemaElement; typeCode: string };
const elementCache = new WeakMap<InternalTypeSchema, Map<string, FoundElement | null>>();

/** The element of a schema a JSON key names (choice types by their suffix), cached per schema and key. */
function findElement(schema: InternalTypeSchema, key: string): FoundElement | undefined {
  let bySchema = elementCache.get(schema);
  if (!bySchema) {
    bySchema = new Map();
    elementCache.set(schema, bySchema);
  }
  let found = bySchema.get(key);
  if (found === undefined) {
    found = lookupElement(schema, key) ?? null;
    bySchema.set(key, found);
  }
  return found ?? undefined;
}

function lookupElement(schema: InternalTypeSchema, key: string): FoundElement | undefined {
  const direct = schema.elements[key];
  if (direct) return { element: direct, typeCode: direct.type[0]?.code ?? '' };
  for (const [name, element] of Object.entries(schema.elements)) {
    if (!name.endsWith('[x]')) continue;
    const base = name.slice(0, -3);
    if (!key.startsWith(base)) continue;
    const suffix = key.slice(base.length);
    const t = element.type.find((tt) => tt.code.toLowerCase() === suffix.toLowerCase());
    if (t) return { element, typeCode: t.code };
  }
  return undefined;
}

const innerCache = new WeakMap<InternalTypeSchema, WeakMap<InternalSchemaElement, InternalTypeSchema | null>>();

function innerSchema(root: InternalTypeSchema, element: InternalSchemaElement): InternalTypeSchema | undefined {
  let byRoot = innerCache.get(root);
  if (!byRoot) {
    byRoot = new WeakMap();
    innerCache.set(root, byRoot);
  }
  let inner = byRoot.get(element);
  if (inner === undefined) {
    inner = root.innerTypes.find((t) => t.path === element.path) ?? null;
    byRoot.set(element, inner);
  }
  return inner ?? undefined;
}

type Constraint = NonNullable<InternalTypeSchema['constraints']>[number];
/** A datatype's schema and the invariants checked on it, or null when the type has no schema. */
const datatypeCache = new Map<string, { schema: InternalTypeSchema; constraints: Constraint[] } | null>();

function datatype(typeCode: string): { schema: InternalTypeSchema; constraints: Constraint[] } | null {
  let d = datatypeCache.get(typeCode);
  if (d === undefined) {
    try {
      const schema = typeSchema(typeCode);
      d = { schema, constraints: (schema.constraints ?? []).filter((c) => c.severity === 'error' && !SKIPPED_INVARIANTS.has(c.key) && !!c.expression) };
    } catch {
      d = null;
    }
    datatypeCache.set(typeCode, d);
  }
  return d;
}

function walkObject(
  value: Record<string, unknown>,
  schema: InternalTypeSchema,
  rootType: string,
  path: string,
  out: OperationOutcomeIssue[],
  rootResource: TypedValue,
): void {
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (key === 'resourceType' || key.charCodeAt(0) === 95 /* _ */ || v === null || v === undefined) continue;
    const found = findElement(schema, key);
    if (!found) continue; // unknown elements are reported by the structural validator
    const { element, typeCode } = found;
    const isArray = Array.isArray(v);
    const values: unknown[] = isArray ? v : [v];
    const binding = element.binding?.strength === 'required' ? element.binding.valueSet : undefined;
    for (let index = 0; index < values.length; index++) {
      const item = values[index];
      const itemPath = isArray ? `${path}.${key}[${index}]` : `${path}.${key}`;
      if (binding) checkBinding(item, typeCode, binding, itemPath, out);
      if (typeof item !== 'object' || item === null) continue;
      if (typeCode === 'BackboneElement' || typeCode === 'Element') {
        const inner = innerSchema(typeSchema(rootType), element);
        if (inner) walkObject(item as Record<string, unknown>, inner, rootType, itemPath, out, rootResource);
        continue;
      }
      if (typeCode === 'Resource' || typeCode === 'DomainResource') {
        const rt = (item as { resourceType?: string }).resourceType;
        // a contained resource's references resolve against the resource that contains it
        if (rt && isKnownResourceType(rt)) walkObject(item as Record<string, unknown>, typeSchema(rt), rt, itemPath, out, key === 'contained' ? rootResource : { type: rt, value: item });
        continue;
      }
      if (!/^[A-Z]/.test(typeCode)) continue;
      const dt = datatype(typeCode);
      if (!dt) continue;
      for (const c of dt.constraints) {
        if (!constraintHolds(c, typeCode, item, rootResource)) {
          out.push(issue('error', 'invariant', `Constraint ${c.key} not met: ${c.description}`, itemPath));
        }
      }
      walkObject(item as Record<string, unknown>, dt.schema, typeCode, itemPath, out, rootResource);
    }
  }
}

function constraintHolds(c: { key: string; expression: string }, type: string, value: unknown, rootResource: TypedValue): boolean {
  // ref-1 only concerns local references ("#id"); every other reference passes it without evaluation
  if (c.key === 'ref-1' && !String((value as { reference?: unknown }).reference ?? '').startsWith('#')) return true;
  try {
    const result = evalFhirPathTyped(atom(c.expression), [{ type, value }], { '%resource': rootResource, '%rootResource': rootResource });
    if (result.length === 0) return true;
    return result.every((r) => r.value !== false);
  } catch {
    return true; // an expression the engine cannot evaluate is not the record's fault
  }
}

/** Every code of an expansion, whatever its system (a code without a system matches any). */
const anySystem = new WeakMap<Map<string, Set<string>>, Set<string>>();

function allCodes(expansion: Map<string, Set<string>>): Set<string> {
  let all = anySystem.get(expansion);
  if (!all) {
    all = new Set<string>();
    for (const codes of expansion.values()) for (const c of codes) all.add(c);
    anySystem.set(expansion, all);
  }
  return all;
}

function checkBinding(item: unknown, typeCode: string, valueSet: string, path: string, out: OperationOutcomeIssue[]): void {
  const expansion = expandValueSet(valueSet);
  if (!expansion) return;
  const vsName = valueSet.split('|')[0];
  const inSet = (system: string | undefined, code: string | undefined): boolean => {
    if (code === undefined) return true;
    if (system === undefined) return allCodes(expansion).has(code);
    return expansion.get(system)?.has(code) ?? false;
  };
  if (typeCode === 'code' && typeof item === 'string') {
    if (!inSet(undefined, item)) {
      out.push(issue('error', 'code-invalid', `Value "${item}" is not in the required value set ${vsName}`, path));
    }
  } else if (typeCode === 'Coding' && item && typeof item === 'object') {
    const c = item as { system?: string; code?: string };
    if (!inSet(c.system, c.code)) {
      out.push(issue('error', 'code-invalid', `Code "${c.system ?? ''}|${c.code}" is not in the required value set ${vsName}`, path));
    }
  } else if (typeCode === 'CodeableConcept' && item && typeof item === 'object') {
    const codings = (item as { coding?: { system?: string; code?: string }[] }).coding ?? [];
    if (codings.length > 0 && !codings.some((c) => inSet(c.system, c.code))) {
      out.push(issue('error', 'code-invalid', `No coding is in the required value set ${vsName}`, path));
    }
  }
}
