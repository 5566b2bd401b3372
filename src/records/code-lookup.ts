/** The code lookup the write path uses: shipped code sets plus the releases imported into this database. */
import type { Queryable } from '../store/db.js';
import { terminologyWith } from '../store/terminology-files.js';
import { loadStoredReleases } from '../store/terminology-store.js';
import type { LookupFn } from '../terminology/warnings.js';

export async function codeLookupFor(db: Queryable): Promise<LookupFn> {
  const catalog = terminologyWith(await loadStoredReleases(db));
  return (system, code, date) => catalog.lookup(system, code, date);
}
