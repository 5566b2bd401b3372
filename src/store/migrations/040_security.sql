-- Users (people and system clients), login sessions, signing keys, break-the-glass grants, disclosures.
CREATE TABLE app_user (
  id text PRIMARY KEY,
  username text NOT NULL UNIQUE,
  display_name text,
  roles text[] NOT NULL DEFAULT '{}',
  password_hash text NOT NULL,
  is_client boolean NOT NULL DEFAULT false,
  disabled boolean NOT NULL DEFAULT false,
  totp_secret text,
  failed_logins integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_session (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES app_user (id),
  refresh_hash text NOT NULL,
  scope text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX auth_session_user ON auth_session (user_id);

-- The token signing key, generated on first use, so `custodian token` and the server agree.
-- CUSTODIAN_JWT_SECRET in the environment takes precedence.
CREATE TABLE security_key (
  name text PRIMARY KEY,
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE break_glass_grant (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES app_user (id),
  patient_id text NOT NULL,
  reason text NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX break_glass_grant_user ON break_glass_grant (user_id, expires_at);

-- Accounting of disclosures (HIPAA 164.528): disclosures outside treatment, payment and operations.
CREATE TABLE disclosure (
  id text PRIMARY KEY,
  patient_id text NOT NULL,
  disclosed_at timestamptz NOT NULL,
  recipient text NOT NULL,
  description text NOT NULL,
  purpose text NOT NULL,
  recorded_by text,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX disclosure_patient ON disclosure (patient_id, disclosed_at);
