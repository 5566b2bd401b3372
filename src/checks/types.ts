/** The check engine's vocabulary: check instances (data), results, and the ports the engine runs on. */
import type { Resource } from '@medplum/fhirtypes';

/** Kahn et al. (2016) harmonised data-quality terms, as used by OHDSI's Data Quality Dashboard. */
export type KahnCategory = 'conformance' | 'completeness' | 'plausibility';
export type KahnSubcategory = 'value' | 'relational' | 'computational' | 'atemporal' | 'temporal' | 'uniqueness' | '';

export type CheckSeverity = 'error' | 'warning' | 'information';
export type CheckStatus = 'passed' | 'failed' | 'not-applicable' | 'error';

/** One check instance: a check type with its parameters, as data. */
export interface CheckInstance {
  id: string;
  title: string;
  /** The check type (see check-types.ts). */
  type: string;
  severity: CheckSeverity;
  /** Failed when the offending percentage is above this (0 = any offending row fails). */
  threshold: number;
  category: KahnCategory;
  subcategory: KahnSubcategory;
  /** The resource type the check counts over (its denominator). */
  resourceType: string;
  /** Type-specific parameters. */
  params: Record<string, unknown>;
  /** Checks whose not-applicable or error result makes this one not applicable (DQD cascade). */
  dependsOn?: string[];
  /** Also run on every write of one resource (answers with an OperationOutcome warning). */
  onWrite?: boolean;
  /** Why it exists / rule reference. */
  rationale?: string;
}

export interface CheckCounts {
  numerator: number;
  denominator: number;
  /** Rows of the resource type in scope (0 = the table is empty: not applicable). */
  total: number;
  /** Offending resource ids (capped). */
  ids: string[];
}

export interface CheckResult extends CheckCounts {
  checkId: string;
  title: string;
  severity: CheckSeverity;
  category: KahnCategory;
  subcategory: KahnSubcategory;
  resourceType: string;
  threshold: number;
  /** numerator / denominator * 100, or null when not applicable. */
  percentage: number | null;
  status: CheckStatus;
  /** Why not applicable, or the error text. */
  reason?: string;
  millis: number;
}

/** The minimal SQL port the engine needs (store/db.ts Queryable satisfies it). */
export interface SqlPort {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /** Runs fn in one transaction on one connection (when the port has transactions). */
  transaction?<T>(fn: (tx: SqlPort) => Promise<T>): Promise<T>;
}

/** In-memory evaluation context: the resources in scope and a resolver for references leaving it. */
export interface MemoryContext {
  resources: Resource[];
  /** Resolves "Type/id"; undefined when no such (live) resource is known. */
  resolve(reference: string): Resource | undefined;
  now: Date;
}

export interface SqlScope {
  /** Only resources in this patient's compartment. */
  patientId?: string;
  now: Date;
  /** Cap on offending ids per check. */
  maxIds: number;
}
