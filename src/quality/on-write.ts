/**
 * Checks that run on every write of one resource: the write path calls `onWriteIssues(resource)` and
 * returns the issues as OperationOutcome warnings (never silently, never blocking).
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { memoryContext, runChecksMemory } from '../checks/engine.js';
import type { CheckInstance } from '../checks/types.js';
import { ON_WRITE_CHECKS } from './instances.js';

/** The on-write checks of each resource type, in their order in ON_WRITE_CHECKS. */
const BY_TYPE = new Map<string, CheckInstance[]>();
for (const c of ON_WRITE_CHECKS) BY_TYPE.set(c.resourceType, [...(BY_TYPE.get(c.resourceType) ?? []), c]);

export function onWriteIssues(resource: Resource, now = new Date()): OperationOutcomeIssue[] {
  const checks = BY_TYPE.get(resource.resourceType);
  if (!checks) return [];
  return runChecksMemory(checks, memoryContext([resource], now))
    .filter((r) => r.status === 'failed')
    .map((r) => ({
      severity: 'warning',
      code: 'business-rule',
      diagnostics: `${r.title} (check ${r.checkId})`,
      details: { coding: [{ system: 'http://custodian.dev/fhir/CodeSystem/check', code: r.checkId }], text: r.title },
    }));
}
