-- FHIR Bulk Data export jobs (the async kick-off / status / file pattern).
CREATE TABLE bulk_export_job (
  id text PRIMARY KEY,
  status text NOT NULL,               -- in-progress | complete | error | cancelled
  level text NOT NULL,                -- system | patient | group
  request_url text NOT NULL,
  params jsonb NOT NULL,
  transaction_time timestamptz NOT NULL,
  progress text,
  output jsonb NOT NULL DEFAULT '[]',
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
