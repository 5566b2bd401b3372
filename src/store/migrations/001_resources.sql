-- Current version of each resource, every version in history, and the search index tables.
CREATE TABLE resource (
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  content_hash text NOT NULL,
  -- ids of the Patients whose compartment holds this resource (kept for compartment search and
  -- for distributing by patient later)
  compartments text[] NOT NULL DEFAULT '{}',
  content jsonb NOT NULL,
  PRIMARY KEY (resource_type, id)
);
CREATE INDEX resource_type_updated ON resource (resource_type, last_updated, id);
CREATE INDEX resource_updated ON resource (last_updated);
CREATE INDEX resource_compartments ON resource USING gin (compartments);

CREATE TABLE resource_history (
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  method text NOT NULL,
  content jsonb,
  PRIMARY KEY (resource_type, id, version_id)
);
CREATE INDEX resource_history_updated ON resource_history (last_updated);
CREATE INDEX resource_history_type_updated ON resource_history (resource_type, last_updated);

CREATE TABLE sp_token (
  resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
  system text, value text, text text
);
CREATE INDEX sp_token_value ON sp_token (resource_type, code, value, system);
CREATE INDEX sp_token_res ON sp_token (resource_type, id);

CREATE TABLE sp_string (
  resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
  value text NOT NULL, norm text NOT NULL
);
CREATE INDEX sp_string_norm ON sp_string (resource_type, code, norm text_pattern_ops);
CREATE INDEX sp_string_res ON sp_string (resource_type, id);

CREATE TABLE sp_date (
  resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
  lo timestamptz NOT NULL, hi timestamptz NOT NULL
);
CREATE INDEX sp_date_lo ON sp_date (resource_type, code, lo);
CREATE INDEX sp_date_hi ON sp_date (resource_type, code, hi);
CREATE INDEX sp_date_res ON sp_date (resource_type, id);

CREATE TABLE sp_reference (
  resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
  target_type text, target_id text, url text NOT NULL
);
CREATE INDEX sp_reference_target ON sp_reference (target_id, target_type, code, resource_type);
CREATE INDEX sp_reference_res ON sp_reference (resource_type, id);

CREATE TABLE sp_number (
  resource_type text NOT NULL, id text NOT NULL, code text NOT NULL, value numeric NOT NULL
);
CREATE INDEX sp_number_value ON sp_number (resource_type, code, value);
CREATE INDEX sp_number_res ON sp_number (resource_type, id);

CREATE TABLE sp_quantity (
  resource_type text NOT NULL, id text NOT NULL, code text NOT NULL,
  value numeric NOT NULL, system text, unit text
);
CREATE INDEX sp_quantity_value ON sp_quantity (resource_type, code, value);
CREATE INDEX sp_quantity_res ON sp_quantity (resource_type, id);

CREATE TABLE sp_uri (
  resource_type text NOT NULL, id text NOT NULL, code text NOT NULL, value text NOT NULL
);
CREATE INDEX sp_uri_value ON sp_uri (resource_type, code, value);
CREATE INDEX sp_uri_res ON sp_uri (resource_type, id);
