/**
 * Checks that run on every write of one resource: the write path calls `onWriteIssues(resource)` and
 * returns the issues as OperationOutcome warnings (never silently, never blocking).
 */
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { memoryContext, runChecksMemory } from '../checks/engine.js';
import { ON_WRITE_CHECKS } from './instances.js';

export function onWriteIssues(resource: Resource, now = new Date()): OperationOutcomeIssue[] {
  const checks = ON_WRITE_CHECKS.filter((c) => c.resourceType === resource.resourceType);
  if (!checks.length) return [];
  return runChecksMemory(checks, memoryContext([resource], now))
    .filter((r) => r.status === 'failed')
    .map((r) => ({
      severity: 'warning',
      code: 'business-rule',
      diagnostics: `${r.title} (check ${r.checkId})`,
      details: { coding: [{ system: 'http://custodian.dev/fhir/CodeSystem/check', code: r.checkId }], text: r.title },
    }));
}
