-- A deployment keeps the provider it was created with: `provider` already holds the adapter's
-- kind, `provider_settings` now holds the settings the environment had at that moment, so a
-- rollout (and its resumption after a restart) goes on with the same adapter even when the
-- environment's provider changes meanwhile. Like the environment's, these settings never hold
-- secrets: they only name the environment variables or files that do.
--
-- NULL: not known. Deployments CI records itself (provider `recorded`) need none. Of those made
-- before this migration, the unfinished ones (the only ones the runner still drives) get the
-- settings their environment has now when its provider kind is still theirs (the best there is
-- to know); the others stay NULL.
ALTER TABLE deployments
    ADD COLUMN provider_settings jsonb
               CONSTRAINT deployments_provider_settings_object
               CHECK (provider_settings IS NULL OR jsonb_typeof(provider_settings) = 'object');

UPDATE deployments d
SET provider_settings = e.provider_settings
FROM environments e
WHERE e.id = d.environment_id
  AND d.kind <> 'RECORDED'
  AND d.state IN ('QUEUED', 'WAITING_APPROVAL', 'IN_PROGRESS')
  AND d.provider = e.provider_kind;
