/** What the record services need: the database and the server's validation policy. */
import type { Db } from '../store/db.js';

export interface RecordContext {
  db: Db;
  /** Reject invariant failures (e.g. an Encounter ending before it starts) instead of warning. */
  strict: boolean;
}
