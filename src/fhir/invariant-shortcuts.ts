/**
 * Plain answers for the few invariants evaluated on nearly every resource of an import (per-1 on every
 * Period, qty-3 on every Quantity, obs-6 and obs-7 on every Observation), keyed by their FHIRPath
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
]);

/** The shortcut for an invariant's expression, if it has one. */
export function invariantShortcut(expression: string): InvariantShortcut | undefined {
  return SHORTCUTS.get(expression);
}
