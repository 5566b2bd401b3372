/**
 * medplum's getTypedPropertyValue (the FHIRPath property step) with the schema work done once per
 * type and property name: which element the name is, the JSON names of its choices ("valueQuantity",
 * "_valueQuantity"...) and their types. Per value it only reads those names. The same answer as
 * medplum's in every case; the rare ones (a primitive extension "_name", a name the schema does not
 * know, a type that is not a plain schema) are handed to medplum itself.
 */
import { getElementDefinition, getTypedPropertyValue, isResource, tryGetDataType, type TypedValue } from '@medplum/core';

/** What getTypedPropertyValueWithSchema reads for one element: the JSON name, its "_" name and type per choice. */
interface Plan {
  names: string[];
  extensionNames: string[];
  types: string[];
  /** The element's first type: the value's type when the choice found is Element or BackboneElement. */
  firstType: string;
}

/** `medplum`: ask medplum (no schema element, or the lookup failed); `none`: an element without types (never a value). */
type Step = Plan | 'medplum' | 'none';

const byType = new Map<string, { schema: unknown; steps: Map<string, Step> }>();

function stepFor(type: string, name: string): Step {
  const schema: unknown = tryGetDataType(type);
  let t = byType.get(type);
  if (!t || t.schema !== schema) {
    t = { schema, steps: new Map<string, Step>() };
    byType.set(type, t);
  }
  let step = t.steps.get(name);
  if (step === undefined) {
    step = planStep(type, name);
    t.steps.set(name, step);
  }
  return step;
}

function planStep(type: string, name: string): Step {
  let element;
  try {
    element = getElementDefinition(type, name);
  } catch {
    return 'medplum';
  }
  if (!element) return 'medplum';
  const types = element.type;
  if (!types || types.length === 0) return 'none';
  const last = element.path.substring(element.path.lastIndexOf('.') + 1);
  const names = types.map((t) => last.replace('[x]', capitalize(t.code)));
  return { names, extensionNames: names.map((n) => `_${n}`), types: types.map((t) => t.code), firstType: (types[0] as { code: string }).code };
}

function capitalize(s: string): string {
  return s ? s.charAt(0).toUpperCase() + s.substring(1) : '';
}

/** medplum's isEmpty without the array Object.keys makes: own enumerable keys are what it counts. */
function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return v === '';
  if (typeof v !== 'object') return false;
  if ('length' in v && (v as { length: number }).length > 0) return false;
  for (const k in v) if (Object.prototype.hasOwnProperty.call(v, k)) return false;
  return true;
}

function typed(value: unknown, type: string): TypedValue {
  if (type === 'Resource' && isResource(value)) return { type: value.resourceType, value };
  return { type, value };
}

/** getTypedPropertyValue(input, name) of @medplum/core, without a profile. */
export function typedPropertyValue(input: TypedValue, name: string): TypedValue[] | TypedValue | undefined {
  const value = input.value as Record<string, unknown> | undefined;
  if (!value) return undefined;
  const step = stepFor(input.type, name);
  if (step === 'medplum') return getTypedPropertyValue(input, name);
  if (step === 'none') return undefined;
  let result: unknown;
  let extension: unknown;
  let type = 'undefined';
  const { names, extensionNames, types } = step;
  for (let i = 0; i < names.length; i++) {
    result = value[names[i] as string];
    extension = value[extensionNames[i] as string];
    if (result !== undefined || extension !== undefined) {
      type = types[i] as string;
      break;
    }
  }
  if (extension) return getTypedPropertyValue(input, name);
  if (isEmpty(result)) return undefined;
  if (type === 'Element' || type === 'BackboneElement') type = step.firstType;
  if (Array.isArray(result)) return result.map((e) => typed(e, type));
  return typed(result, type);
}
