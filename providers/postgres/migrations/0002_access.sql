-- Who may do what: administrators and OIDC identities among the users, API clients and
-- the tokens of users and clients, and the append-only, hash-chained audit log.

ALTER TABLE users
    ADD COLUMN is_admin     boolean NOT NULL DEFAULT false,
    ADD COLUMN oidc_subject text UNIQUE;

-- Slugs follow the catalog's slug rule (resolvers/validation.py SLUG_PATTERN).
CREATE TABLE api_clients (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE
                CONSTRAINT api_clients_slug_format
                CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    name        text NOT NULL,
    team_id     bigint NOT NULL REFERENCES teams (id) ON DELETE RESTRICT,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_clients_team_idx ON api_clients (team_id);

-- A token is stored as the SHA-256 of its whole text; `prefix` is a non-secret head.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    name         text NOT NULL,
    user_id      bigint REFERENCES users (id) ON DELETE CASCADE,
    client_id    bigint REFERENCES api_clients (id) ON DELETE CASCADE,
    scopes       text[] NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_tokens_one_owner CHECK (num_nonnulls(user_id, client_id) = 1),
    -- `<@` never matches a NULL element, so NULLs are refused too.
    CONSTRAINT api_tokens_known_scopes CHECK (
        cardinality(scopes) > 0
        AND array_ndims(scopes) = 1
        AND scopes <@ ARRAY['read', 'write', 'deploy', 'approve', 'admin']::text[]
    )
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);
CREATE INDEX api_tokens_client_idx ON api_tokens (client_id);

-- Each record's `hash` is SHA-256 over the previous record's hash and its own fields
-- (providers/postgres/audit_log.py), so a changed or removed record breaks the chain.
-- actor_id and token_id are not foreign keys: the log outlives what it names.
CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_kind      text NOT NULL CHECK (actor_kind IN ('user', 'client', 'local-admin')),
    actor_id        bigint,
    actor_name      text NOT NULL,
    token_id        bigint,
    operation       text NOT NULL,
    targets         text[] NOT NULL DEFAULT '{}',
    input           jsonb NOT NULL DEFAULT '{}',
    outcome         text NOT NULL CHECK (outcome IN ('ACCEPTED', 'INVALID', 'DENIED')),
    error_codes     text[] NOT NULL DEFAULT '{}',
    request_id      text,
    idempotency_key text,
    prev_hash       text UNIQUE,
    hash            text NOT NULL UNIQUE
);
-- One chain: a single first record, and no two records follow the same one.
CREATE UNIQUE INDEX audit_events_one_first ON audit_events ((prev_hash IS NULL))
    WHERE prev_hash IS NULL;
CREATE INDEX audit_events_actor_idx ON audit_events (actor_kind, actor_id, id);
CREATE INDEX audit_events_operation_idx ON audit_events (operation, id);
CREATE INDEX audit_events_outcome_idx ON audit_events (outcome, id);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_targets_idx ON audit_events USING gin (targets);
CREATE INDEX audit_events_request_idx ON audit_events (request_id);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING HINT = 'audit records can be added, never changed or removed';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
