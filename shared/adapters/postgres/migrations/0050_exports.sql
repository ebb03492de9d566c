-- Exports (issue 16): one row per asynchronous export; the CSV itself lives in S3 under
-- object_key until delete_after (7 days by default), when the sweeper (and, where the store
-- honours it, the bucket's lifecycle rule) deletes it. The requester's roles are recorded at
-- request time: the export activity checks them again with the API's own permission table.
CREATE TABLE IF NOT EXISTS exports (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL,
    params        jsonb NOT NULL DEFAULT '{}'::jsonb,
    requested_by  text NOT NULL,
    roles         text[] NOT NULL,
    compress      boolean NOT NULL DEFAULT false,
    status        text NOT NULL
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired', 'erased')),
    rows          bigint NOT NULL DEFAULT 0,
    bytes         bigint NOT NULL DEFAULT 0,
    total_rows    bigint,
    object_key    text,
    workflow_id   text,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    completed_at  timestamptz,
    delete_after  timestamptz,
    deleted_at    timestamptz
);
CREATE INDEX IF NOT EXISTS exports_by_requester ON exports (requested_by, created_at DESC);
CREATE INDEX IF NOT EXISTS exports_to_delete ON exports (delete_after) WHERE deleted_at IS NULL;
