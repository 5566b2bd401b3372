-- Imported code-system releases (ICD-10-CM/PCS, HCPCS, CARC/RARC, MCE lists, POA-exempt lists, the
-- Tabular List), one row per release with its effective period; the parsed content is gzip JSON read
-- into memory by the terminology catalog. Shipped releases (data/terminology) are not stored here.
CREATE TABLE IF NOT EXISTS code_system_release (
  system text NOT NULL,
  kind text NOT NULL,
  version text NOT NULL,
  effective_from date NOT NULL,
  effective_to date,
  source text NOT NULL,
  entry_count integer NOT NULL,
  billable_count integer,
  imported_at timestamptz NOT NULL DEFAULT now(),
  content bytea NOT NULL,
  PRIMARY KEY (system, kind, version)
);
