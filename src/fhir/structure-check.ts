/**
 * A fast, conservative stand-in for @medplum/core's structural validator (`validateResource`).
 *
 * `certainlyValid(resource)` answers true only when medplum's validator would return no issue at all
 * (no error and no warning) for the resource; it answers false whenever it is not sure, and the
 * caller then runs medplum's validator, whose issues are reported as before. It reads the same
 * schemas medplum reads (`getDataType`), checks the same things (element names, choice types,
 * cardinality, required elements, JSON types and formats of primitives, element invariants and
 * the resource's own invariants, evaluated by the same FHIRPath engine with the same variables,
 * reference target types), but visits only the keys a resource has, where medplum visits every
 * element of every schema on the way.
 *
 * Anything outside the common shape makes it answer false rather than reason about it: primitive
 * extensions (`_x` keys), nulls, empty strings, arrays or objects, a resourceType where no resource belongs,
 * two keys for one choice element, keys medplum might read as a choice type, elements with a
 * pattern, a fixed value or slicing. test/fhir/structure-check.test.ts compares its answers with
 * medplum's over a corpus and systematically broken resources.
 */
import {
  HTTP_HL7_ORG,
  UCUM,
  capitalize,
  evalFhirPathTyped,
  fhirTypeToJsType,
  getDataType,
  parseFhirPath,
  toTypedValue,
  validationRegexes,
  type InternalSchemaElement,
  type InternalTypeSchema,
  type TypedValue,
} from '@medplum/core';
import { loadDefinitions } from './definitions.js';
import { invariantShortcut, type InvariantShortcut } from './invariant-shortcuts.js';

type Atom = ReturnType<typeof parseFhirPath>;

/** Invariants medplum's validator does not evaluate (validation.ts `skippedConstraintKeys`). */
const SKIPPED = new Set(['ele-1', 'dom-3', 'org-1', 'sdf-19']);

/**
 * Resource invariants that hold whenever the resource has no `contained` element (every path starts
 * at `contained`, so each side is `empty()` of nothing, true); they are evaluated only when it has.
 */
const TRUE_WITHOUT_CONTAINED = new Set([
  'contained.contained.empty()',
  'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()',
  'contained.meta.security.empty()',
]);

interface Invariant {
  key: string;
  atom: Atom;
  /** True whenever the resource has no `contained`. */
  onlyContained?: boolean;
  /** A plain check that answers true where the expression surely holds (invariant-shortcuts.ts). */
  shortcut?: InvariantShortcut;
}

/** What a JSON key of an object of a type stands for. */
interface KeyRule {
  element: InternalSchemaElement;
  /** The element's name in the schema ("value[x]" for "valueQuantity"). */
  name: string;
  /** The FHIR type of the value under this key ("Resource": the value's resourceType). */
  type: string;
  choice: boolean;
  /** The JS type a primitive's value must have; undefined for a complex type. */
  jsType?: 'string' | 'number' | 'boolean';
  regex?: RegExp;
  invariants: Invariant[];
  /** Reference target types, when the element restricts them. */
  targets?: ReferenceTargets;
}

/** What medplum's referenceTypeCheck accepts of a reference element's target profiles. */
interface ReferenceTargets {
  /** A profile accepts any type (Resource, or a profile outside the HL7 and medplum bases). */
  any: boolean;
  /** The resource types named by the profiles of the HL7 and medplum bases. */
  types: Set<string>;
}

interface CompiledType {
  /** Keys the checker understands; any other key makes it answer false. */
  keys: Map<string, KeyRule>;
  /** Required elements (min > 0), each with the keys that can carry it. */
  required: { name: string; keys: string[] }[];
  /** The type's own invariants (checked on the resource at the root only, as medplum does). */
  rootInvariants: Invariant[];
  /** A resource type (may be contained). */
  resource: boolean;
}

const compiled = new Map<string, CompiledType>();
const atoms = new Map<string, Atom>();

/** A FHIRPath expression parsed once per process. */
export function atomOf(expression: string): Atom {
  let a = atoms.get(expression);
  if (!a) {
    a = parseFhirPath(expression);
    atoms.set(expression, a);
  }
  return a;
}

function invariantsOf(constraints: InternalSchemaElement['constraints'], root: boolean): Invariant[] {
  const out: Invariant[] = [];
  for (const c of constraints ?? []) {
    if (c.severity !== 'error' || SKIPPED.has(c.key)) continue;
    out.push({ key: c.key, atom: atomOf(c.expression), onlyContained: root && TRUE_WITHOUT_CONTAINED.has(c.expression), shortcut: invariantShortcut(c.expression) });
  }
  return out;
}

/** The choice element medplum's `isChoiceOfType` reads a key as (split before capitals, first prefix with "[x]"). */
function medplumChoiceName(key: string, elements: Record<string, InternalSchemaElement>): string | undefined {
  let test = '';
  for (const part of key.split(/(?=[A-Z])/g)) {
    test += part;
    if (Object.prototype.hasOwnProperty.call(elements, `${test}[x]`)) return `${test}[x]`;
  }
  return undefined;
}

function compile(type: string): CompiledType {
  let c = compiled.get(type);
  if (c) return c;
  const schema: InternalTypeSchema = getDataType(type);
  const keys = new Map<string, KeyRule>();
  const required: CompiledType['required'] = [];
  const unsure = new Set<string>();
  for (const [name, element] of Object.entries(schema.elements)) {
    const types = element.type ?? [];
    const usable = types.length > 0 && !name.includes('.') && !element.pattern && !element.fixed && !element.slicing;
    const isChoice = name.endsWith('[x]');
    const elementKeys: string[] = [];
    const candidates: { key: string; type: string }[] = isChoice
      ? types.map((t) => ({ key: name.slice(0, -3) + capitalize(t.code), type: t.code }))
      : types.length ? [{ key: name, type: (types[0] as { code: string }).code }] : [];
    for (const { key, type: t } of candidates) {
      if (keys.has(key) || unsure.has(key)) continue; // medplum takes the first type whose key is present
      elementKeys.push(key);
      // a key medplum reads as another choice element, or a direct key it might read as one, is not ours
      const asChoice = medplumChoiceName(key, schema.elements);
      if (!usable || (isChoice ? asChoice !== name : asChoice !== undefined) || t === 'undefined' || t === 'DomainResource') {
        unsure.add(key);
        continue;
      }
      const primitive = Object.prototype.hasOwnProperty.call(fhirTypeToJsType, t);
      const rule: KeyRule = { element, name, type: t, choice: isChoice, invariants: invariantsOf(element.constraints, false) };
      if (primitive) {
        rule.jsType = fhirTypeToJsType[t as keyof typeof fhirTypeToJsType];
        rule.regex = validationRegexes[t];
      } else if (t === 'Reference') {
        const profiles = types.find((x) => x.code === 'Reference')?.targetProfile;
        if (profiles) rule.targets = referenceTargets(profiles);
      }
      keys.set(key, rule);
    }
    if (element.min > 0) required.push({ name, keys: elementKeys });
  }
  c = { keys, required, rootInvariants: invariantsOf(schema.constraints, true), resource: schema.kind === 'resource' };
  compiled.set(type, c);
  return c;
}

interface Run {
  variables: Record<string, TypedValue>;
}

const ucum = toTypedValue(UCUM);

/**
 * True when @medplum/core's `validateResource(resource)` would find nothing to report; false when it
 * would, or when this checker cannot tell.
 */
export function certainlyValid(resource: unknown): boolean {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) return false;
  loadDefinitions(); // a type compiled before the schemas are loaded would stay without keys
  const type = (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !type) return false;
  let c: CompiledType;
  try {
    c = compile(type);
  } catch {
    return false;
  }
  const root = toTypedValue(resource);
  if (root.type !== type) return false;
  const run: Run = { variables: { '%ucum': ucum, '%resource': root, '%rootResource': root } };
  const hasContained = Object.prototype.hasOwnProperty.call(resource, 'contained');
  try {
    // the structure first, so that the invariants (and their shortcuts) see a well-formed resource
    if (!checkObject(resource as Record<string, unknown>, c, true, run)) return false;
    for (const inv of c.rootInvariants) if ((hasContained || !inv.onlyContained) && !holds(inv, root, run)) return false;
    return true;
  } catch {
    return false;
  }
}

function holds(inv: Invariant, value: TypedValue, run: Run): boolean {
  if (inv.shortcut?.(value.value)) return true;
  run.variables['%context'] = value;
  const r = evalFhirPathTyped(inv.atom, [value], run.variables);
  return r.length === 1 && r[0]?.value === true;
}

function checkObject(obj: Record<string, unknown>, c: CompiledType, isRoot: boolean, run: Run): boolean {
  let choices: string[] | undefined;
  let n = 0;
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) return false;
    n++;
    if (key === 'resourceType') {
      if (isRoot) continue;
      return false;
    }
    const rule = c.keys.get(key);
    if (!rule) return false;
    if (rule.choice) {
      if (choices?.includes(rule.name)) return false; // two keys for one choice element
      (choices ??= []).push(rule.name);
    }
    const v = obj[key];
    const element = rule.element;
    if (element.isArray) {
      if (!Array.isArray(v) || v.length === 0) return false;
      if (v.length < element.min || v.length > element.max) return false;
      for (const item of v) if (!checkValue(item, rule, run)) return false;
    } else {
      if (Array.isArray(v)) return false;
      if (element.max < 1) return false;
      if (!checkValue(v, rule, run)) return false;
    }
  }
  if (n === 0) return false;
  for (const req of c.required) {
    let present = false;
    for (const k of req.keys) {
      if (obj[k] !== undefined && Object.prototype.hasOwnProperty.call(obj, k)) {
        present = true;
        break;
      }
    }
    if (!present) return false;
  }
  return true;
}

function checkValue(v: unknown, rule: KeyRule, run: Run): boolean {
  if (v === null || v === undefined) return false;
  if (rule.jsType) {
    if (typeof v !== rule.jsType) return false;
    if (rule.jsType === 'string') {
      const s = v as string;
      if (!s.trim() || s.length > 1024 * 1024) return false;
      if (rule.regex && !rule.regex.test(s)) return false;
    } else if (rule.jsType === 'number') {
      const x = v as number;
      if (!Number.isFinite(x)) return false;
      const t = rule.type;
      if ((t === 'integer' || t === 'positiveInt' || t === 'unsignedInt') && !Number.isInteger(x)) return false;
      if (t === 'positiveInt' && x <= 0) return false;
      if (t === 'unsignedInt' && x < 0) return false;
    }
  } else {
    if (typeof v !== 'object' || Array.isArray(v)) return false;
    if (rule.targets && !referenceTypeOk(v as { reference?: unknown }, rule.targets)) return false;
    if (rule.type === 'Resource') {
      // a contained resource: checked against its own type, with %resource set to it inside (as medplum's crawler does)
      const rt = (v as { resourceType?: unknown }).resourceType;
      if (typeof rt !== 'string' || !rt) return false;
      const inner = compile(rt);
      if (!inner.resource) return false;
      const typedResource = toTypedValue(v);
      if (typedResource.type !== rt) return false;
      const outer = run.variables['%resource'] as TypedValue;
      run.variables['%resource'] = typedResource;
      const ok = checkObject(v as Record<string, unknown>, inner, true, run);
      run.variables['%resource'] = outer;
      if (!ok) return false;
    } else if (!checkObject(v as Record<string, unknown>, compile(rule.type), false, run)) return false;
  }
  if (rule.invariants.length) {
    const typed: TypedValue = { type: rule.type === 'Resource' ? (v as { resourceType: string }).resourceType : rule.type, value: v };
    for (const inv of rule.invariants) if (!holds(inv, typed, run)) return false;
  }
  return true;
}

const HL7_BASE = `${HTTP_HL7_ORG}/fhir/StructureDefinition/`;
const MEDPLUM_BASE = 'https://medplum.com/fhir/StructureDefinition/';

function referenceTargets(targetProfiles: string[]): ReferenceTargets {
  const targets: ReferenceTargets = { any: false, types: new Set() };
  for (const p of targetProfiles) {
    if (p === `${HL7_BASE}Resource` || (!p.startsWith(HL7_BASE) && !p.startsWith(MEDPLUM_BASE))) targets.any = true;
    else targets.types.add(p.slice(p.startsWith(HL7_BASE) ? HL7_BASE.length : MEDPLUM_BASE.length));
  }
  return targets;
}

/** medplum's referenceTypeCheck without its warning: false when it would warn. */
function referenceTypeOk(ref: { reference?: unknown }, targets: ReferenceTargets): boolean {
  if (typeof ref.reference !== 'string') return true;
  const reference = ref.reference;
  if (reference.startsWith('#')) return true;
  const q = reference.indexOf('?');
  const end = q >= 0 ? q : reference.indexOf('/');
  const rt = end >= 0 ? reference.slice(0, end) : reference;
  if (!rt) return true;
  return targets.any || targets.types.has(rt);
}
