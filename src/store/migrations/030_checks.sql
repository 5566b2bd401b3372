-- Check runs and their results, kept so scores can be compared over time; and the date helpers the
-- pushed-down checks use to compare FHIR date/dateTime text of any precision.
CREATE OR REPLACE FUNCTION custodian_date_lo(t text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN t ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$' THEN t::timestamptz
    WHEN t ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$' THEN (t || 'Z')::timestamptz
    WHEN t ~ '^\d{4}-\d{2}-\d{2}$' THEN (t || 'T00:00:00Z')::timestamptz
    WHEN t ~ '^\d{4}-\d{2}$' THEN (t || '-01T00:00:00Z')::timestamptz
    WHEN t ~ '^\d{4}$' THEN (t || '-01-01T00:00:00Z')::timestamptz
  END
$$;

CREATE OR REPLACE FUNCTION custodian_date_hi(t text) RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN t ~ '^\d{4}-\d{2}-\d{2}T' THEN custodian_date_lo(t)
    WHEN t ~ '^\d{4}-\d{2}-\d{2}$' THEN custodian_date_lo(t) + interval '1 day' - interval '1 millisecond'
    WHEN t ~ '^\d{4}-\d{2}$' THEN custodian_date_lo(t) + interval '1 month' - interval '1 millisecond'
    WHEN t ~ '^\d{4}$' THEN custodian_date_lo(t) + interval '1 year' - interval '1 millisecond'
  END
$$;

CREATE TABLE check_run (
  id text PRIMARY KEY,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  status text NOT NULL,            -- running, completed, failed
  scope jsonb NOT NULL DEFAULT '{}',  -- { patientId?, checks? }
  progress_done integer NOT NULL DEFAULT 0,
  progress_total integer NOT NULL DEFAULT 0,
  summary jsonb,
  error text
);
CREATE INDEX check_run_started ON check_run (started_at);

CREATE TABLE check_result (
  run_id text NOT NULL REFERENCES check_run (id) ON DELETE CASCADE,
  check_id text NOT NULL,
  title text NOT NULL,
  severity text NOT NULL,
  category text NOT NULL,
  subcategory text NOT NULL,
  resource_type text NOT NULL,
  threshold numeric NOT NULL,
  status text NOT NULL,
  numerator integer NOT NULL,
  denominator integer NOT NULL,
  total integer NOT NULL,
  percentage numeric,
  offending_ids text[] NOT NULL DEFAULT '{}',
  reason text,
  millis integer NOT NULL,
  PRIMARY KEY (run_id, check_id)
);
