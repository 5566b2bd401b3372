-- The audit trail as several independent hash chains, so concurrent audited writes do not wait for
-- one another: an appender takes the first chain head nobody holds (FOR UPDATE SKIP LOCKED), links
-- its events to that chain and moves the head, in the write's own transaction. Rows already written
-- (one linear chain under 041's advisory lock) are chain 0, unchanged.
--
-- seq now comes from a sequence, drawn while the chain's head row is locked, so within a chain seq
-- order is append (and commit) order; seq has gaps (other chains, rolled-back transactions).
-- hash = sha256(prev_hash, seq, canonical content) as before; each chain starts from the genesis hash.
ALTER TABLE audit_event ADD COLUMN chain smallint NOT NULL DEFAULT 0;
CREATE INDEX audit_event_chain ON audit_event (chain, seq);

CREATE SEQUENCE audit_event_seq AS bigint;
SELECT setval('audit_event_seq', coalesce((SELECT max(seq) FROM audit_event), 0) + 1, false);

-- The head of each chain: the seq and hash of its last row. Verify checks every chain ends exactly at
-- its head, so deleting the newest rows of a chain is detected as well as deleting rows inside it.
CREATE TABLE audit_chain (
  chain smallint PRIMARY KEY,
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO audit_chain (chain, seq, hash)
SELECT c, 0, repeat('0', 64) FROM generate_series(0, 15) AS c;
UPDATE audit_chain h SET seq = last.seq, hash = last.hash
  FROM (SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1) AS last
 WHERE h.chain = 0;

-- Heads only move forward: no deleting a chain, no moving its head back over deleted rows.
CREATE FUNCTION audit_chain_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.chain = OLD.chain AND NEW.seq > OLD.seq THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_chain heads only move forward: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_chain_forward BEFORE UPDATE OR DELETE ON audit_chain
  FOR EACH ROW EXECUTE FUNCTION audit_chain_forward_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_forward_only();

REVOKE DELETE, TRUNCATE ON audit_chain FROM PUBLIC;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'custodian_app') THEN
    REVOKE DELETE, TRUNCATE ON audit_chain FROM custodian_app;
    GRANT SELECT, UPDATE ON audit_chain TO custodian_app;
    GRANT USAGE ON SEQUENCE audit_event_seq TO custodian_app;
  END IF;
END;
$$;
