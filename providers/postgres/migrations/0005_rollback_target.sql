-- A rollback names two deployments: `rollback_of_id`, the one it replaces (the current one when it
-- was asked for, ROLLED_BACK once it succeeds), and now `rollback_to_id`, the earlier successful
-- one whose version it brings back: the provider is asked to return to that rollout (Argo CD's
-- history id, say), and `Deployment.rollbackTo` shows it. NULL for other kinds, and for
-- rollbacks made before this migration.
ALTER TABLE deployments
    ADD COLUMN rollback_to_id bigint REFERENCES deployments (id) ON DELETE SET NULL;
CREATE INDEX deployments_rollback_to_idx ON deployments (rollback_to_id);
