/**
 * Overlay detection: one record whose history looks like two people. A change of birth date or sex
 * together with a change of name (between any two versions) is flagged for review.
 */
import type { Patient } from '@medplum/fhirtypes';
import { normName } from './prepare.js';

export interface OverlaySuspicion {
  fromVersion: number;
  toVersion: number;
  changed: string[];
}

const nameOf = (p: Patient): string => {
  const n = p.name?.find((x) => !x.use || x.use === 'official' || x.use === 'usual') ?? p.name?.[0];
  return normName(`${n?.given?.[0] ?? ''}${n?.family ?? ''}`);
};

/** versions oldest first, as [versionId, content]. */
export function detectOverlay(versions: [number, Patient][]): OverlaySuspicion | undefined {
  for (let i = 1; i < versions.length; i++) {
    const [v0, a] = versions[i - 1]!;
    const [v1, b] = versions[i]!;
    const changed: string[] = [];
    const nameChanged = nameOf(a) !== '' && nameOf(b) !== '' && nameOf(a) !== nameOf(b);
    if (a.birthDate && b.birthDate && a.birthDate !== b.birthDate) changed.push('birthDate');
    if (a.gender && b.gender && a.gender !== b.gender) changed.push('gender');
    if (nameChanged && changed.length) return { fromVersion: v0, toVersion: v1, changed: ['name', ...changed] };
  }
  return undefined;
}
