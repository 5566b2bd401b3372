/** Reading a FHIR Patient as the matcher's PersonRecord. */
import type { Patient } from '@medplum/fhirtypes';
import type { PersonRecord } from './types.js';

export const SSN_SYSTEM = 'http://hl7.org/fhir/sid/us-ssn';

export function patientToPerson(p: Patient): PersonRecord {
  const names = p.name ?? [];
  const current = names.find((n) => (n.use === 'official' || n.use === 'usual' || !n.use) && !n.period?.end) ?? names[0];
  const previous = names.filter((n) => n !== current && (n.use === 'maiden' || n.use === 'old' || n.period?.end)).map((n) => n.family).filter((f): f is string => !!f);
  const addr = p.address?.find((a) => a.use !== 'old' && !a.period?.end) ?? p.address?.[0];
  const ssn = p.identifier?.find((i) => i.system === SSN_SYSTEM || i.type?.coding?.some((c) => c.code === 'SS'))?.value;
  const identifiers = (p.identifier ?? [])
    .filter((i) => i.system && i.value && i.system !== SSN_SYSTEM && !i.type?.coding?.some((c) => c.code === 'SS'))
    .map((i) => `${i.system}|${i.value}`);
  const telecom = p.telecom ?? [];
  return {
    id: p.id ?? '',
    given: current?.given?.flatMap((g) => g.split(/\s+/)).filter(Boolean),
    family: current?.family,
    previousFamily: previous.length ? previous : undefined,
    suffix: current?.suffix?.[0],
    birthDate: p.birthDate,
    sex: p.gender === 'unknown' || p.gender === 'other' ? undefined : p.gender,
    address: addr ? { line: addr.line?.join(' '), city: addr.city, state: addr.state, postcode: addr.postalCode } : undefined,
    phone: telecom.filter((t) => t.system === 'phone' && t.value).map((t) => t.value!),
    email: telecom.filter((t) => t.system === 'email' && t.value).map((t) => t.value!),
    ssn,
    identifiers,
  };
}
