/** What the record services need: the database, the validation policy and the code sets. */
import type { Db, Queryable } from '../store/db.js';
import type { WriteResult } from '../store/repository.js';
import type { LookupFn } from '../terminology/warnings.js';

export interface RecordContext {
  db: Db;
  /** Reject invariant failures (e.g. an Encounter ending before it starts) instead of warning. */
  strict: boolean;
  /** Code lookup for ICD-10-CM/PCS and HCPCS warnings on write (unknown or non-billable at the date). */
  codeLookup?: LookupFn;
  /**
   * Records the audit event of a write inside the write's own transaction, so the two commit or roll
   * back together (set by the server for an authenticated request).
   */
  audit?: (tx: Queryable, interaction: WriteInteraction, results: WriteResult[]) => Promise<void>;
}

export type WriteInteraction = 'create' | 'update' | 'delete' | 'transaction';
