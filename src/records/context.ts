/** What the record services need: the database, the validation policy and the code sets. */
import type { Db } from '../store/db.js';
import type { LookupFn } from '../terminology/warnings.js';

export interface RecordContext {
  db: Db;
  /** Reject invariant failures (e.g. an Encounter ending before it starts) instead of warning. */
  strict: boolean;
  /** Code lookup for ICD-10-CM/PCS and HCPCS warnings on write (unknown or non-billable at the date). */
  codeLookup?: LookupFn;
}
