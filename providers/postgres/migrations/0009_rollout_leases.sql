-- Rollout leases: with several API processes on one database, each unfinished deployment a
-- provider drives (QUEUED, IN_PROGRESS; not RECORDED) is followed by one process at a time.
-- `lease_owner` names the process (hostname-pid-random) and `lease_expires_at` when its claim
-- lapses unless renewed; both are NULL when nobody holds the deployment. Claims and renewals
-- are conditional UPDATEs (`providers/postgres/deployments/leases.py`); a finished deployment
-- loses its lease in the transaction that finishes it.
ALTER TABLE deployments
    ADD COLUMN lease_owner      text,
    ADD COLUMN lease_expires_at timestamptz,
    ADD CONSTRAINT deployments_lease_pair
        CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL));

-- What a sweep looks for: the driven unfinished deployments, by lease expiry.
CREATE INDEX deployments_driven_idx ON deployments (lease_expires_at NULLS FIRST, id)
    WHERE state IN ('QUEUED', 'IN_PROGRESS') AND kind <> 'RECORDED';
