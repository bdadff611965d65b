-- Deployments: what runs where and how it got there (providers/deployments.py holds the
-- vocabulary, providers/deployment_states.py the state machine, providers/postgres/deployments/
-- the store).
--
-- Environments gain their provider (adapter kind and its non-secret settings) and their
-- protection (approvals, freeze). Secrets never live here: settings only name the environment
-- variables or files that hold them.
ALTER TABLE environments
    ADD COLUMN provider_kind         text NOT NULL DEFAULT 'simulated',
    ADD COLUMN provider_settings     jsonb NOT NULL DEFAULT '{}'
               CONSTRAINT environments_provider_settings_object
               CHECK (jsonb_typeof(provider_settings) = 'object'),
    ADD COLUMN required_approvals    integer NOT NULL DEFAULT 0
               CONSTRAINT environments_required_approvals_not_negative
               CHECK (required_approvals >= 0),
    ADD COLUMN prevent_self_approval boolean NOT NULL DEFAULT true,
    ADD COLUMN frozen                boolean NOT NULL DEFAULT false,
    ADD COLUMN freeze_reason         text;

-- Teams whose members may approve deployments to an environment.
CREATE TABLE environment_approver_teams (
    environment_id bigint NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    team_id        bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (environment_id, team_id)
);
CREATE INDEX environment_approver_teams_team_idx ON environment_approver_teams (team_id);

-- A deployment belongs to its service and environment: deleting either deletes its history.
-- `number` counts 1, 2, 3... per service x environment (assigned under a transaction-scoped
-- advisory lock on the pair). The requester is not a foreign key: history outlives actors.
-- `idempotency_key` is unique per requesting actor (whatever the operation) and kept as long as
-- the deployment (so at least 24 hours); `idempotency_fingerprint` is the SHA-256 of the
-- normalised input, to tell a replay from a reuse of the key.
CREATE TABLE deployments (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id              bigint NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    environment_id          bigint NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    number                  integer NOT NULL CHECK (number > 0),
    version                 text NOT NULL,
    commit_sha              text,
    committed_at            timestamptz,
    description             text,
    kind                    text NOT NULL
                            CHECK (kind IN ('DEPLOY', 'PROMOTION', 'ROLLBACK', 'RECORDED')),
    state                   text NOT NULL
                            CHECK (state IN ('QUEUED', 'WAITING_APPROVAL', 'IN_PROGRESS',
                                             'SUCCEEDED', 'FAILED', 'CANCELED', 'ROLLED_BACK',
                                             'INACTIVE')),
    raw_status              text,
    status_message          text,
    provider                text NOT NULL,
    external_id             text,
    url                     text,
    log_url                 text,
    requested_by_kind       text NOT NULL
                            CHECK (requested_by_kind IN ('user', 'client', 'local-admin')),
    requested_by_id         bigint,
    requested_by_name       text NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    started_at              timestamptz,
    finished_at             timestamptz,
    promoted_from_id        bigint REFERENCES deployments (id) ON DELETE SET NULL,
    rollback_of_id          bigint REFERENCES deployments (id) ON DELETE SET NULL,
    previous_id             bigint REFERENCES deployments (id) ON DELETE SET NULL,
    idempotency_key         text,
    idempotency_fingerprint text,
    CONSTRAINT deployments_number_key UNIQUE (service_id, environment_id, number),
    CONSTRAINT deployments_idempotency_pair
        CHECK ((idempotency_key IS NULL) = (idempotency_fingerprint IS NULL)),
    CONSTRAINT deployments_finished_after_start
        CHECK (finished_at IS NULL OR started_at IS NULL OR finished_at >= started_at)
);
-- At most one unfinished deployment per service x environment (also `pending` and the
-- reconciler's `unfinished`).
CREATE UNIQUE INDEX deployments_one_unfinished ON deployments (service_id, environment_id)
    WHERE state IN ('QUEUED', 'WAITING_APPROVAL', 'IN_PROGRESS');
-- At most one SUCCEEDED per service x environment: the current one (older ones are INACTIVE or
-- ROLLED_BACK). This is the index behind `current`, the release matrix and `previous`.
CREATE UNIQUE INDEX deployments_current ON deployments (service_id, environment_id)
    WHERE state = 'SUCCEEDED';
CREATE UNIQUE INDEX deployments_idempotency_key
    ON deployments (requested_by_kind, (coalesce(requested_by_id, 0)), idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX deployments_external_id
    ON deployments (service_id, environment_id, external_id)
    WHERE kind = 'RECORDED' AND external_id IS NOT NULL;
-- Listings, newest first: global, per service, per environment; metrics by environment.
CREATE INDEX deployments_created_idx ON deployments (created_at, id);
CREATE INDEX deployments_service_created_idx ON deployments (service_id, created_at, id);
CREATE INDEX deployments_environment_created_idx ON deployments (environment_id, created_at, id);
CREATE INDEX deployments_promoted_from_idx ON deployments (promoted_from_id);
CREATE INDEX deployments_rollback_of_idx ON deployments (rollback_of_id);
CREATE INDEX deployments_previous_idx ON deployments (previous_id);

-- Every state a deployment entered, with who moved it (`api`, `provider:<kind>`, ...).
CREATE TABLE deployment_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    state         text NOT NULL,
    raw_status    text,
    message       text,
    source        text NOT NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX deployment_events_deployment_idx ON deployment_events (deployment_id, at, id);

-- One decision per actor and deployment.
CREATE TABLE deployment_approvals (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id bigint NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    actor_kind    text NOT NULL CHECK (actor_kind IN ('user', 'client', 'local-admin')),
    actor_id      bigint,
    actor_name    text NOT NULL,
    decision      text NOT NULL CHECK (decision IN ('APPROVED', 'REJECTED')),
    comment       text,
    at            timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX deployment_approvals_one_per_actor
    ON deployment_approvals (deployment_id, actor_kind, (coalesce(actor_id, 0)));
