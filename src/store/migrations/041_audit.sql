-- The audit trail: append-only, hash-chained BALP AuditEvents.
-- seq is assigned by the appender under an advisory lock (no gaps); hash = sha256(prev_hash, seq, canonical content).
CREATE TABLE audit_event (
  seq bigint PRIMARY KEY,
  recorded timestamptz NOT NULL,
  user_name text,
  patient_ids text[] NOT NULL DEFAULT '{}',
  action text NOT NULL,
  type_code text NOT NULL,
  outcome text NOT NULL,
  content jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_event_recorded ON audit_event (recorded);
CREATE INDEX audit_event_user ON audit_event (user_name, recorded);
CREATE INDEX audit_event_patient ON audit_event USING gin (patient_ids);

CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
  FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();

-- The application's role may only read and append. When the database has a dedicated role named
-- custodian_app (recommended for production), it gets exactly SELECT and INSERT.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'custodian_app') THEN
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_event FROM custodian_app;
    GRANT SELECT, INSERT ON audit_event TO custodian_app;
  END IF;
END;
$$;
