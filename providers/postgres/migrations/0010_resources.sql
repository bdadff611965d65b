-- Self-service infrastructure (domain/resources/): resource classes (what the platform team
-- offers), resources (what a service asked for in an environment), templates (a new service
-- with its resources in one step). The store is providers/postgres/resources/.
--
-- Secrets never live here: provider settings only name where secrets are, a resource's
-- `outputs` are non-secret (host, port, bucket) and `secret_refs` name where the provider put
-- the credentials.

-- A class: its provider (kind and non-secret settings), the JSON Schema of its parameters and
-- their defaults. Its environments (none: everywhere) and approver teams are join tables.
CREATE TABLE resource_classes (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug              text NOT NULL,
    name              text NOT NULL,
    description       text,
    type              text NOT NULL,
    provider_kind     text NOT NULL,
    provider_settings jsonb NOT NULL DEFAULT '{}'
                      CONSTRAINT resource_classes_provider_settings_object
                      CHECK (jsonb_typeof(provider_settings) = 'object'),
    parameters_schema jsonb NOT NULL
                      CONSTRAINT resource_classes_parameters_schema_object
                      CHECK (jsonb_typeof(parameters_schema) = 'object'),
    defaults          jsonb NOT NULL DEFAULT '{}'
                      CONSTRAINT resource_classes_defaults_object
                      CHECK (jsonb_typeof(defaults) = 'object'),
    requires_approval boolean NOT NULL DEFAULT false,
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT resource_classes_slug_key UNIQUE (slug)
);

-- Where a class may be requested. Deleting an environment drops it from its classes (a class
-- left with none would be offered everywhere: deleting the environment is refused then).
CREATE TABLE resource_class_environments (
    class_id       bigint NOT NULL REFERENCES resource_classes (id) ON DELETE CASCADE,
    environment_id bigint NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    PRIMARY KEY (class_id, environment_id)
);
CREATE INDEX resource_class_environments_environment_idx
    ON resource_class_environments (environment_id);

-- Teams whose members may approve requests of a class.
CREATE TABLE resource_class_approver_teams (
    class_id bigint NOT NULL REFERENCES resource_classes (id) ON DELETE CASCADE,
    team_id  bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    PRIMARY KEY (class_id, team_id)
);
CREATE INDEX resource_class_approver_teams_team_idx ON resource_class_approver_teams (team_id);

-- A resource belongs to its service and environment like a deployment does (deleting either
-- deletes its history), but neither may be deleted while it has resources not DELETED: the
-- store refuses, naming them. Its class may not be deleted under it (RESTRICT; deleting a class
-- removes its DELETED resources first). The requester is not a foreign key: history outlives
-- actors. `idempotency_key` is unique per requesting actor, `idempotency_fingerprint` the
-- SHA-256 of the normalised input, as for deployments. `leased_by`/`leased_until` say which
-- process follows a resource a provider is working on (states REQUESTED, PROVISIONING,
-- UPDATING, DELETING), as 0009 does for deployments; `action_started_at` is when its current
-- provisioning, update or deletion began (NULL in the other states).
CREATE TABLE resources (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                    text NOT NULL,
    service_id              bigint NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    environment_id          bigint NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    class_id                bigint NOT NULL REFERENCES resource_classes (id) ON DELETE RESTRICT,
    state                   text NOT NULL
                            CHECK (state IN ('REQUESTED', 'WAITING_APPROVAL', 'PROVISIONING',
                                             'READY', 'UPDATING', 'FAILED', 'DELETING',
                                             'DELETED')),
    parameters              jsonb NOT NULL DEFAULT '{}'
                            CONSTRAINT resources_parameters_object
                            CHECK (jsonb_typeof(parameters) = 'object'),
    outputs                 jsonb NOT NULL DEFAULT '{}'
                            CONSTRAINT resources_outputs_object
                            CHECK (jsonb_typeof(outputs) = 'object'),
    secret_refs             jsonb NOT NULL DEFAULT '[]'
                            CONSTRAINT resources_secret_refs_array
                            CHECK (jsonb_typeof(secret_refs) = 'array'),
    status_message          text,
    requested_by_kind       text NOT NULL
                            CHECK (requested_by_kind IN ('user', 'client', 'local-admin')),
    requested_by_id         bigint,
    requested_by_name       text NOT NULL,
    required_approvals      integer NOT NULL DEFAULT 0
                            CONSTRAINT resources_required_approvals_not_negative
                            CHECK (required_approvals >= 0),
    idempotency_key         text,
    idempotency_fingerprint text,
    ready_at                timestamptz,
    action_started_at       timestamptz,
    leased_by               text,
    leased_until            timestamptz,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT resources_idempotency_pair
        CHECK ((idempotency_key IS NULL) = (idempotency_fingerprint IS NULL)),
    CONSTRAINT resources_lease_pair CHECK ((leased_by IS NULL) = (leased_until IS NULL))
);
-- A name is taken per service x environment until its resource is DELETED.
CREATE UNIQUE INDEX resources_live_name ON resources (service_id, environment_id, name)
    WHERE state <> 'DELETED';
CREATE UNIQUE INDEX resources_idempotency_key
    ON resources (requested_by_kind, (coalesce(requested_by_id, 0)), idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX resources_service_idx ON resources (service_id, id);
CREATE INDEX resources_environment_idx ON resources (environment_id, id);
CREATE INDEX resources_class_idx ON resources (class_id);
-- What a sweep looks for: the resources a provider works on, by lease expiry.
CREATE INDEX resources_driven_idx ON resources (leased_until NULLS FIRST, id)
    WHERE state IN ('DELETING', 'PROVISIONING', 'REQUESTED', 'UPDATING');

-- Every state a resource entered, with who moved it (`api`, `provider:<kind>`, `approval`).
CREATE TABLE resource_status_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resource_id bigint NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    state       text NOT NULL,
    message     text,
    source      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX resource_status_events_resource_idx ON resource_status_events (resource_id, at, id);

-- One decision per actor and resource.
CREATE TABLE resource_approvals (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resource_id bigint NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    actor_kind  text NOT NULL CHECK (actor_kind IN ('user', 'client', 'local-admin')),
    actor_id    bigint,
    actor_name  text NOT NULL,
    decision    text NOT NULL CHECK (decision IN ('APPROVED', 'REJECTED')),
    comment     text,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE UNIQUE INDEX resource_approvals_one_per_actor
    ON resource_approvals (resource_id, actor_kind, (coalesce(actor_id, 0)));

-- A template: its parameters' JSON Schema, the defaults of the service it creates (`service`:
-- lifecycle, tier, tags...), its environments in order and the resources it asks for in each.
CREATE TABLE templates (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug              text NOT NULL,
    name              text NOT NULL,
    description       text,
    parameters_schema jsonb NOT NULL
                      CONSTRAINT templates_parameters_schema_object
                      CHECK (jsonb_typeof(parameters_schema) = 'object'),
    service           jsonb NOT NULL DEFAULT '{}'
                      CONSTRAINT templates_service_object CHECK (jsonb_typeof(service) = 'object'),
    first_version     text,
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT templates_slug_key UNIQUE (slug)
);

CREATE TABLE template_environments (
    template_id    bigint NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    environment_id bigint NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    position       integer NOT NULL,
    PRIMARY KEY (template_id, environment_id),
    CONSTRAINT template_environments_position_key UNIQUE (template_id, position)
);
CREATE INDEX template_environments_environment_idx ON template_environments (environment_id);

-- A template's resources keep their class: a class a template names may not be deleted.
CREATE TABLE template_resources (
    template_id bigint NOT NULL REFERENCES templates (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    class_id    bigint NOT NULL REFERENCES resource_classes (id) ON DELETE RESTRICT,
    name        text NOT NULL,
    parameters  jsonb NOT NULL DEFAULT '{}'
                CONSTRAINT template_resources_parameters_object
                CHECK (jsonb_typeof(parameters) = 'object'),
    PRIMARY KEY (template_id, position),
    CONSTRAINT template_resources_name_key UNIQUE (template_id, name)
);
CREATE INDEX template_resources_class_idx ON template_resources (class_id);

-- A template's first deployment of its new service to one environment, made once every
-- resource of the service there is READY; taken (deleted) by `due_first_deployments`.
CREATE TABLE first_deployments (
    service_id        bigint NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    environment_id    bigint NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    version           text NOT NULL,
    requested_by_kind text NOT NULL
                      CHECK (requested_by_kind IN ('user', 'client', 'local-admin')),
    requested_by_id   bigint,
    requested_by_name text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, environment_id)
);
CREATE INDEX first_deployments_environment_idx ON first_deployments (environment_id);

-- A service made from a template under an idempotency key: a replay of the key finds the
-- service and the resources made with it; another input under the same key (another
-- fingerprint) is refused. The key goes with its service.
CREATE TABLE template_runs (
    requested_by_kind text NOT NULL
                      CHECK (requested_by_kind IN ('user', 'client', 'local-admin')),
    requested_by_id   bigint,
    idempotency_key   text NOT NULL,
    fingerprint       text NOT NULL,
    service_id        bigint NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    resource_ids      bigint[] NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX template_runs_key
    ON template_runs (requested_by_kind, (coalesce(requested_by_id, 0)), idempotency_key);
CREATE INDEX template_runs_service_idx ON template_runs (service_id);
