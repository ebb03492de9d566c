-- The interaction ledger: the source of truth the graph is projected from.
-- event_receipts makes ingestion idempotent (one row per event id, ever applied once);
-- interactions is the raw time series (one row per directed pair of an event; 90-day retention);
-- pair_totals / person_totals hold absolute aggregates with a per-row version bumped on every
-- change, which the graph projection carries so an older write never overwrites a newer one.

CREATE TABLE IF NOT EXISTS event_receipts (
    event_id    text PRIMARY KEY,
    occurred_at timestamptz NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS event_receipts_occurred_at ON event_receipts (occurred_at);

CREATE TABLE IF NOT EXISTS interactions (
    event_id    text NOT NULL,
    occurred_at timestamptz NOT NULL,
    kind        text NOT NULL,
    src         text NOT NULL,
    dst         text NOT NULL,
    weight      double precision NOT NULL,
    duration_s  integer,
    PRIMARY KEY (event_id, src, dst)
);
CREATE INDEX IF NOT EXISTS interactions_occurred_at ON interactions (occurred_at);
CREATE INDEX IF NOT EXISTS interactions_src_time ON interactions (src, occurred_at);
CREATE INDEX IF NOT EXISTS interactions_dst_time ON interactions (dst, occurred_at);

CREATE TABLE IF NOT EXISTS pair_totals (
    src      text NOT NULL,
    dst      text NOT NULL,
    weight   double precision NOT NULL,
    count    bigint NOT NULL,
    last_at  timestamptz NOT NULL,
    version  bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (src, dst)
);

CREATE TABLE IF NOT EXISTS person_totals (
    person       text PRIMARY KEY,
    team         text,
    out_weight   double precision NOT NULL DEFAULT 0,
    in_weight    double precision NOT NULL DEFAULT 0,
    out_degree   integer NOT NULL DEFAULT 0,
    in_degree    integer NOT NULL DEFAULT 0,
    meeting_s    bigint NOT NULL DEFAULT 0,
    version      bigint NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
