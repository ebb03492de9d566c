-- The application role may not create or drop tables (issue 11: migrations run as the owner
-- role), yet the metrics refresh creates each new daily partition and retention drops old ones.
-- These functions therefore run with their owner's rights, on a fixed search_path so a caller
-- cannot substitute objects. (Scratch test databases are owned by the app role, which hid this.)
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = current_schema()
           AND p.proname IN ('metrics_ensure_partition', 'metrics_retention', 'metrics_retention_teams')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = %I, pg_temp', f, current_schema());
    END LOOP;
END
$$;
