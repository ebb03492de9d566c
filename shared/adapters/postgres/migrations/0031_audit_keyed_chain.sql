-- The audit log's keyed chain (issue 11; see shared/adapters/postgres/audit.py and docs/security.md).
-- Rows written before this migration keep chain = 1 (plain SHA-256); every new row must be
-- chain = 2 (HMAC with a key PostgreSQL never sees): the NOT VALID check exempts only the old rows.
ALTER TABLE intervention_audit_log ADD COLUMN IF NOT EXISTS chain smallint NOT NULL DEFAULT 1;
ALTER TABLE intervention_audit_log ALTER COLUMN chain SET DEFAULT 2;
ALTER TABLE intervention_audit_log DROP CONSTRAINT IF EXISTS intervention_audit_log_keyed;
ALTER TABLE intervention_audit_log ADD CONSTRAINT intervention_audit_log_keyed CHECK (chain = 2) NOT VALID;

-- Personal data referenced by a row lives outside the hashed payload: the row hashes only a
-- random ref and HMAC(salt, payload). Erasure deletes the personal row (salt included).
ALTER TABLE intervention_audit_log ADD COLUMN IF NOT EXISTS personal_ref text UNIQUE;
ALTER TABLE intervention_audit_log ADD COLUMN IF NOT EXISTS personal_digest text;
CREATE TABLE IF NOT EXISTS intervention_audit_personal (
    ref        text PRIMARY KEY,
    salt       bytea NOT NULL CHECK (length(salt) >= 16),
    payload    jsonb NOT NULL,
    subjects   text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS intervention_audit_personal_by_subject
    ON intervention_audit_personal USING gin (subjects);
