-- Which parts of the search index hold rows for every stored resource.
--
-- Composite parameters (code-value-quantity, component-code-value-quantity, characteristic-value...)
-- are indexed from this version on: a database that already holds resources has no composite rows
-- for them until `custodian reindex` rebuilds every resource's index rows. Until then the search
-- answers composite parameters with an error saying so, and does not use their rows to speed up
-- other searches (a missing row would silently drop a match). An empty database is complete now.
CREATE TABLE search_index_state (
  feature text PRIMARY KEY,
  complete boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO search_index_state (feature, complete) SELECT 'composite', NOT EXISTS (SELECT 1 FROM resource);
