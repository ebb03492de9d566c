-- Append-only, hash-chained audit log of every intervention step (see docs/interventions.md).
-- row_hash = sha256(prev_hash || '\n' || event_key || '\n' || intervention_id || '\n' || event
--                   || '\n' || actor || '\n' || <occurred_at as epoch microseconds>
--                   || '\n' || details::text), computed by the application under an advisory
-- lock and re-checked by `causal-organism audit-verify`.
-- Protection in depth: a trigger refuses UPDATE, DELETE and TRUNCATE for everyone (superusers
-- included, unless they disable it), and the privileges are revoked from every role, the owner
-- included. When the migration runs with CREATEROLE, ownership moves to a NOLOGIN role so the
-- application role cannot even drop the trigger; otherwise the hash chain is what detects it.

CREATE TABLE IF NOT EXISTS intervention_audit_log (
    id               bigserial PRIMARY KEY,
    event_key        text NOT NULL UNIQUE,
    intervention_id  text NOT NULL,
    event            text NOT NULL,
    actor            text NOT NULL,
    occurred_at      timestamptz NOT NULL,
    details          jsonb NOT NULL,
    prev_hash        text NOT NULL,
    row_hash         text NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS intervention_audit_by_intervention ON intervention_audit_log (intervention_id, id);
CREATE INDEX IF NOT EXISTS intervention_audit_by_actor ON intervention_audit_log (actor, occurred_at);
CREATE INDEX IF NOT EXISTS intervention_audit_by_time ON intervention_audit_log (occurred_at);

CREATE OR REPLACE FUNCTION intervention_audit_log_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'intervention_audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

DROP TRIGGER IF EXISTS intervention_audit_log_no_update ON intervention_audit_log;
CREATE TRIGGER intervention_audit_log_no_update
    BEFORE UPDATE OR DELETE ON intervention_audit_log
    FOR EACH ROW EXECUTE FUNCTION intervention_audit_log_immutable();
DROP TRIGGER IF EXISTS intervention_audit_log_no_truncate ON intervention_audit_log;
CREATE TRIGGER intervention_audit_log_no_truncate
    BEFORE TRUNCATE ON intervention_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION intervention_audit_log_immutable();
-- ALWAYS: the triggers fire even under session_replication_role = replica.
ALTER TABLE intervention_audit_log ENABLE ALWAYS TRIGGER intervention_audit_log_no_update;
ALTER TABLE intervention_audit_log ENABLE ALWAYS TRIGGER intervention_audit_log_no_truncate;

REVOKE UPDATE, DELETE, TRUNCATE ON intervention_audit_log FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON intervention_audit_log FROM CURRENT_USER;

DO $$
DECLARE
    me text := current_user;
BEGIN
    IF (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = me) THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'co_audit_owner') THEN
            CREATE ROLE co_audit_owner NOLOGIN;
        END IF;
        EXECUTE format('GRANT co_audit_owner TO %I', me);
        ALTER TABLE intervention_audit_log OWNER TO co_audit_owner;
        ALTER FUNCTION intervention_audit_log_immutable() OWNER TO co_audit_owner;
        EXECUTE format('GRANT SELECT, INSERT ON intervention_audit_log TO %I', me);
        EXECUTE format('GRANT USAGE ON SEQUENCE intervention_audit_log_id_seq TO %I', me);
        EXECUTE format('REVOKE co_audit_owner FROM %I', me);
    END IF;
END;
$$;

-- The read side's projection of each intervention's current state (mutable, rebuilt from the
-- workflow; the audit log above is the record).
CREATE TABLE IF NOT EXISTS interventions (
    intervention_id    text PRIMARY KEY,
    workflow_id        text NOT NULL,
    type               text NOT NULL,
    impact             text NOT NULL,
    status             text NOT NULL,
    proposed_by        text NOT NULL,
    proposed_at        timestamptz NOT NULL,
    approval_deadline  timestamptz,
    decided_by         text,
    decision_reason    text,
    updated_at         timestamptz NOT NULL,
    summary            jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS interventions_by_status ON interventions (status, approval_deadline);
CREATE INDEX IF NOT EXISTS interventions_by_time ON interventions (proposed_at DESC);
