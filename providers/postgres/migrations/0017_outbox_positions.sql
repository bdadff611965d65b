-- The outbox without a global lock (providers/postgres/outbox.py). Events used to be inserted
-- under one advisory lock held until commit, so that ids followed commit order; that made every
-- write of the platform wait for the one before it. Now each event also records `tx`: the id of
-- the transaction that wrote it, or the largest `tx` already committed when it was written if
-- greater (the outbox sets it), and an event's place is the pair (tx, id). Readers read in that
-- order, and only events whose `tx` is older than every transaction still running
-- (`tx < pg_snapshot_xmin(pg_current_snapshot())`): no event can ever commit below that
-- horizon, so a reader resuming after a position misses nothing that commits later.
--
-- Events written before this migration get tx 0: their ids followed commit order, so the
-- position (0, id) is exactly where an old cursor `event:<id>` stood. (A constant default is
-- set without rewriting the table; the real default follows.)
ALTER TABLE events ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE events ALTER COLUMN tx SET DEFAULT pg_current_xact_id();
CREATE INDEX events_position_idx ON events (tx, id);

-- The filtered readings page in the same order.
DROP INDEX events_service_idx, events_team_idx, events_environment_idx, events_deployment_idx;
CREATE INDEX events_service_idx ON events (service_id, tx, id) WHERE service_id IS NOT NULL;
CREATE INDEX events_team_idx ON events (team_id, tx, id) WHERE team_id IS NOT NULL;
CREATE INDEX events_environment_idx ON events (environment_id, tx, id)
    WHERE environment_id IS NOT NULL;
CREATE INDEX events_deployment_idx ON events (deployment_id, tx, id)
    WHERE deployment_id IS NOT NULL;

-- How far webhook dispatch read, and the newest event when a webhook was created: positions
-- too (their ids so far were positions of transaction 0).
ALTER TABLE webhook_dispatch ADD COLUMN tx xid8 NOT NULL DEFAULT '0';
ALTER TABLE webhooks ADD COLUMN after_tx xid8 NOT NULL DEFAULT '0';
