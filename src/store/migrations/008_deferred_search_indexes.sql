-- Indexes set aside during a bulk load (store/deferred-indexes.ts): a large import into a store
-- much smaller than itself drops the value indexes of the sp_* tables and the secondary indexes of
-- resource and resource_history, loads, and builds them again, which costs the server far less than
-- keeping them up to date row by row. Each dropped index is recorded here, with its definition, in
-- the transaction that drops it; the import builds it again at its end and deletes the row. A row
-- left behind (the import was killed) is built by the next openStore. The index rows themselves are
-- never deferred: a search meanwhile gives the same answers, only more slowly.
CREATE TABLE search_index_deferred (
  name text PRIMARY KEY,
  table_name text NOT NULL,
  definition text NOT NULL,
  deferred_at timestamptz NOT NULL DEFAULT now()
);
