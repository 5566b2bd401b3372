-- Master patient index: blocking keys per patient version, the fitted model, candidate pairs and links.
CREATE TABLE mpi_key (
  patient_id text NOT NULL,
  key text NOT NULL,
  PRIMARY KEY (key, patient_id)
);
CREATE INDEX mpi_key_patient ON mpi_key (patient_id);

-- Which version of each Patient mpi_key reflects.
CREATE TABLE mpi_indexed (
  patient_id text PRIMARY KEY,
  version_id integer NOT NULL
);

-- The parameters fitted by the last run (m, u, lambda, term frequencies).
CREATE TABLE mpi_model (
  id text PRIMARY KEY,
  params jsonb NOT NULL,
  fitted_at timestamptz NOT NULL DEFAULT now()
);

-- Scored pairs from runs: matches (auto-linked) and possible matches (with their review Task).
CREATE TABLE mpi_pair (
  left_id text NOT NULL,
  right_id text NOT NULL,
  probability double precision NOT NULL,
  weight double precision NOT NULL,
  classification text NOT NULL,
  task_id text,
  found_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (left_id, right_id)
);
CREATE INDEX mpi_pair_task ON mpi_pair (task_id);
