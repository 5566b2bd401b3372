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
import { invariantShortcut, type InvariantShortcut } from './invariant-shortcuts.js';
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
  // validator, whose issues are the ones reported. It is given a copy: what a caller validates may
  // share its parts with what it was given (bundles.ts rewriteReferences), so nothing here may change it.
  if (!certainlyValid(resource)) {
    try {
      found = medplumValidate(structuredClone(resource) as Resource);
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
  walkObject(resource as Record<string, unknown>, walkFor(typeSchema(type), type), type, extra, { type, value: resource });
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

type Constraint = NonNullable<InternalTypeSchema['constraints']>[number];

/** A datatype invariant checked on every value of the type, with its parsed expression and shortcut. */
interface Invariant {
  constraint: Constraint;
  atom: ReturnType<typeof atom>;
  shortcut?: InvariantShortcut;
}

/** How walkObject treats the values under one JSON key of a type; worked out once per schema, root type and key. */
interface KeyWalk {
  element: InternalSchemaElement;
  typeCode: string;
  /** The required binding's value set, if any. */
  binding?: string;
  /** Its expansion (null: none), once asked. */
  expansion?: Map<string, Set<string>> | null;
  kind: 'backbone' | 'resource' | 'datatype' | 'primitive';
  /** backbone: the inner type's walk (null: none); datatype: the datatype's walk and invariants (null: no schema). */
  inner?: Walk | null;
  datatype?: { walk: Walk; invariants: Invariant[] } | null;
}

/** The keys of objects of one schema, walked under one root type (backbone elements resolve against it). */
interface Walk {
  schema: InternalTypeSchema;
  rootType: string;
  keys: Map<string, KeyWalk | null>;
}

const walks = new WeakMap<InternalTypeSchema, Map<string, Walk>>();

function walkFor(schema: InternalTypeSchema, rootType: string): Walk {
  let byRoot = walks.get(schema);
  if (!byRoot) {
    byRoot = new Map();
    walks.set(schema, byRoot);
  }
  let w = byRoot.get(rootType);
  if (!w) {
    w = { schema, rootType, keys: new Map() };
    byRoot.set(rootType, w);
  }
  return w;
}

function keyWalk(w: Walk, key: string): KeyWalk | null {
  let k = w.keys.get(key);
  if (k === undefined) {
    const found = lookupElement(w.schema, key);
    k = null;
    if (found) {
      const { element, typeCode } = found;
      const kind = typeCode === 'BackboneElement' || typeCode === 'Element' ? 'backbone'
        : typeCode === 'Resource' || typeCode === 'DomainResource' ? 'resource'
          : /^[A-Z]/.test(typeCode) ? 'datatype' : 'primitive';
      k = { element, typeCode, kind, binding: element.binding?.strength === 'required' ? element.binding.valueSet : undefined };
    }
    w.keys.set(key, k);
  }
  return k;
}

function lookupElement(schema: InternalTypeSchema, key: string): { element: InternalSchemaElement; typeCode: string } | undefined {
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

/** The walk of a backbone element's inner type (found among the root type's inner types). */
function innerWalk(k: KeyWalk, rootType: string): Walk | null {
  if (k.inner === undefined) {
    const inner = typeSchema(rootType).innerTypes.find((t) => t.path === k.element.path);
    k.inner = inner ? walkFor(inner, rootType) : null;
  }
  return k.inner;
}

/** A datatype's walk and the invariants checked on it, or null when the type has no schema. */
function datatypeOf(k: KeyWalk): { walk: Walk; invariants: Invariant[] } | null {
  if (k.datatype === undefined) {
    let schema: InternalTypeSchema | undefined;
    try {
      schema = typeSchema(k.typeCode);
    } catch {
      schema = undefined;
    }
    k.datatype = schema
      ? {
        walk: walkFor(schema, k.typeCode),
        invariants: (schema.constraints ?? [])
          .filter((c) => c.severity === 'error' && !SKIPPED_INVARIANTS.has(c.key) && !!c.expression)
          .map((c) => ({ constraint: c, atom: atom(c.expression), shortcut: invariantShortcut(c.expression) })),
      }
      : null;
  }
  return k.datatype;
}

function walkObject(value: Record<string, unknown>, w: Walk, path: string, out: OperationOutcomeIssue[], rootResource: TypedValue): void {
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (key === 'resourceType' || key.charCodeAt(0) === 95 /* _ */ || v === null || v === undefined) continue;
    const k = keyWalk(w, key);
    if (!k) continue; // unknown elements are reported by the structural validator
    const isArray = Array.isArray(v);
    const values: unknown[] = isArray ? v : [v];
    for (let index = 0; index < values.length; index++) {
      const item = values[index];
      const isObject = typeof item === 'object' && item !== null;
      // the path is written only where an issue or a nested walk can use it
      if (!isObject && !(k.binding && typeof item === 'string')) continue;
      const itemPath = isArray ? `${path}.${key}[${index}]` : `${path}.${key}`;
      if (k.binding) checkBinding(item, k, itemPath, out);
      if (!isObject) continue;
      if (k.kind === 'backbone') {
        const inner = innerWalk(k, w.rootType);
        if (inner) walkObject(item as Record<string, unknown>, inner, itemPath, out, rootResource);
        continue;
      }
      if (k.kind === 'resource') {
        const rt = (item as { resourceType?: string }).resourceType;
        // a contained resource's references resolve against the resource that contains it
        if (rt && isKnownResourceType(rt)) walkObject(item as Record<string, unknown>, walkFor(typeSchema(rt), rt), itemPath, out, key === 'contained' ? rootResource : { type: rt, value: item });
        continue;
      }
      if (k.kind !== 'datatype') continue;
      const dt = datatypeOf(k);
      if (!dt) continue;
      for (const inv of dt.invariants) {
        if (!constraintHolds(inv, k.typeCode, item, rootResource)) {
          out.push(issue('error', 'invariant', `Constraint ${inv.constraint.key} not met: ${inv.constraint.description}`, itemPath));
        }
      }
      walkObject(item as Record<string, unknown>, dt.walk, itemPath, out, rootResource);
    }
  }
}

function constraintHolds(inv: Invariant, type: string, value: unknown, rootResource: TypedValue): boolean {
  // ref-1 only concerns local references ("#id"); every other reference passes it without evaluation
  if (inv.constraint.key === 'ref-1' && !String((value as { reference?: unknown }).reference ?? '').startsWith('#')) return true;
  if (inv.shortcut?.(value)) return true;
  try {
    const result = evalFhirPathTyped(inv.atom, [{ type, value }], { '%resource': rootResource, '%rootResource': rootResource });
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

function inSet(expansion: Map<string, Set<string>>, system: string | undefined, code: string | undefined): boolean {
  if (code === undefined) return true;
  if (system === undefined) return allCodes(expansion).has(code);
  return expansion.get(system)?.has(code) ?? false;
}

function checkBinding(item: unknown, k: KeyWalk, path: string, out: OperationOutcomeIssue[]): void {
  const valueSet = k.binding as string;
  if (k.expansion === undefined) k.expansion = expandValueSet(valueSet);
  const expansion = k.expansion;
  if (!expansion) return;
  const typeCode = k.typeCode;
  if (typeCode === 'code' && typeof item === 'string') {
    if (!inSet(expansion, undefined, item)) {
      out.push(issue('error', 'code-invalid', `Value "${item}" is not in the required value set ${valueSet.split('|')[0]}`, path));
    }
  } else if (typeCode === 'Coding' && item && typeof item === 'object') {
    const c = item as { system?: string; code?: string };
    if (!inSet(expansion, c.system, c.code)) {
      out.push(issue('error', 'code-invalid', `Code "${c.system ?? ''}|${c.code}" is not in the required value set ${valueSet.split('|')[0]}`, path));
    }
  } else if (typeCode === 'CodeableConcept' && item && typeof item === 'object') {
    const codings = (item as { coding?: { system?: string; code?: string }[] }).coding ?? [];
    if (codings.length > 0 && !codings.some((c) => inSet(expansion, c.system, c.code))) {
      out.push(issue('error', 'code-invalid', `No coding is in the required value set ${valueSet.split('|')[0]}`, path));
    }
  }
}
