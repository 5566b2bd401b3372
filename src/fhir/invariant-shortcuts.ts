/**
 * Plain answers for the few invariants evaluated on nearly every resource of an import (per-1 on every
 * Period, qty-3 on every Quantity, obs-6 and obs-7 on every Observation, ext-1 on every Extension,
 * dom-2, dom-4 and dom-5 on every resource with contained resources), keyed by their FHIRPath
 * expression. A shortcut answers true only where @medplum/core's evaluation of the expression on the
 * value surely yields exactly `true` (without throwing): a missing element, or two plain strings that
 * medplum's `<=` compares as strings. Anywhere else it answers false, and the caller evaluates the
 * expression as before. test/fhir/invariant-shortcuts.test.ts compares them with the evaluation.
 */

/** True when the invariant surely holds on the value; false when the expression must be evaluated. */
export type InvariantShortcut = (value: unknown) => boolean;

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v !== '';

const SHORTCUTS = new Map<string, InvariantShortcut>([
  [
    // Period: medplum compares the two strings with JavaScript's `<=`
    'start.hasValue().not() or end.hasValue().not() or (start <= end)',
    (v) => {
      if (!isObject(v) || v._start !== undefined || v._end !== undefined) return false;
      const { start, end } = v;
      if (start === undefined) return end === undefined || isText(end);
      if (end === undefined) return isText(start);
      return isText(start) && isText(end) && start <= end;
    },
  ],
  [
    // Quantity: no code, or a code with a system
    'code.empty() or system.exists()',
    (v) => {
      if (!isObject(v) || v._code !== undefined || v._system !== undefined) return false;
      const { code, system } = v;
      if (code === undefined) return system === undefined || isText(system);
      return isText(code) && isText(system);
    },
  ],
  [
    // Observation without dataAbsentReason
    'dataAbsentReason.empty() or value.empty()',
    (v) => isObject(v) && v.dataAbsentReason === undefined && v._dataAbsentReason === undefined,
  ],
  [
    // Observation without component
    'value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()',
    (v) => isObject(v) && v.component === undefined && v._component === undefined,
  ],
  [
    // a resource whose contained resources contain none
    'contained.contained.empty()',
    (v) => containedAll(v, (c) => c.contained === undefined && c._contained === undefined),
  ],
  [
    // a resource whose contained resources have no meta
    'contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()',
    (v) => containedAll(v, (c) => c.meta === undefined && c._meta === undefined),
  ],
  ['contained.meta.security.empty()', (v) => containedAll(v, (c) => c.meta === undefined && c._meta === undefined)],
  [
    // Extension: nested extensions and no value, or a value of a common type and no nested extension
    'extension.exists() != value.exists()',
    (v) => {
      if (!isObject(v) || v._extension !== undefined) return false;
      let values = 0;
      let plain = true;
      for (const k in v) {
        if (k.startsWith('_value')) return false;
        if (!k.startsWith('value')) continue;
        values++;
        plain = EXTENSION_VALUE_KEYS.has(k) && isFilled(v[k]);
      }
      const ext = v.extension;
      if (ext === undefined) return values === 1 && plain;
      return values === 0 && Array.isArray(ext) && ext.length > 0 && ext.every((e) => isObject(e) && Object.keys(e).length > 0);
    },
  ],
]);

/** Value keys of Extension (value[x]) of R4 types. */
const EXTENSION_VALUE_KEYS = new Set([
  'valueString', 'valueCode', 'valueUri', 'valueUrl', 'valueBoolean', 'valueInteger', 'valueDecimal', 'valueDate', 'valueDateTime',
  'valueCoding', 'valueCodeableConcept', 'valueReference', 'valueAddress', 'valueQuantity', 'valueIdentifier', 'valuePeriod',
]);

/** A present JSON value: a non-empty string, a finite number, a boolean, an object with members. */
function isFilled(v: unknown): boolean {
  if (typeof v === 'string') return v !== '';
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v === 'boolean') return true;
  return isObject(v) && Object.keys(v).length > 0;
}

/** True when the value's `contained` is absent, or an array of objects each passing `test`. */
function containedAll(v: unknown, test: (c: Obj) => boolean): boolean {
  if (!isObject(v) || v._contained !== undefined) return false;
  const contained = v.contained;
  if (contained === undefined) return true;
  return Array.isArray(contained) && contained.every((c) => isObject(c) && test(c));
}

/** The shortcut for an invariant's expression, if it has one. */
export function invariantShortcut(expression: string): InvariantShortcut | undefined {
  return SHORTCUTS.get(expression);
}
