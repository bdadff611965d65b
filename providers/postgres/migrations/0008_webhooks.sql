-- Outgoing webhooks (Standard Webhooks). A webhook belongs to a team (managed by its members)
-- or to nobody (managed by admins). Its signing secrets are stored encrypted (the key is
-- PAVED_WEBHOOK_ENCRYPTION_KEY, never in the database); during a rotation the previous secret
-- signs too, until `previous_secret_until`. `after_event` is the newest event when it was
-- created: it receives only the events after that one.
CREATE TABLE webhooks (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url                     text NOT NULL,
    description             text,
    team_id                 bigint REFERENCES teams (id) ON DELETE CASCADE,
    events                  text[] NOT NULL,
    active                  boolean NOT NULL DEFAULT true,
    disabled_reason         text,
    secret                  text NOT NULL,
    previous_secret         text,
    previous_secret_until   timestamptz,
    consecutive_failures    integer NOT NULL DEFAULT 0,
    after_event             bigint NOT NULL DEFAULT 0,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_team_idx ON webhooks (team_id, id);

-- One row per (webhook, event) to deliver, and one more per redelivery. A delivery is claimed
-- by setting `leased_until` (FOR UPDATE SKIP LOCKED): whoever holds an unexpired lease is the
-- only one sending it; a lease left by a process that died expires and anyone takes it again.
-- Deliveries go with their event when events are pruned.
CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         bigint NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    attempt          integer NOT NULL DEFAULT 0,
    state            text NOT NULL DEFAULT 'PENDING'
                     CHECK (state IN ('PENDING', 'SUCCEEDED', 'FAILED', 'RETRYING')),
    status_code      integer,
    duration_ms      integer,
    response_excerpt text,
    error            text,
    next_attempt_at  timestamptz DEFAULT now(),
    leased_until     timestamptz,
    leased_by        text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE state IN ('PENDING', 'RETRYING');
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- How far the outbox has been turned into deliveries: one row, advanced under FOR UPDATE by
-- whichever process dispatches, in the transaction that inserts the deliveries.
CREATE TABLE webhook_dispatch (
    name     text PRIMARY KEY,
    position bigint NOT NULL
);
INSERT INTO webhook_dispatch (name, position)
    SELECT 'deliveries', coalesce(max(id), 0) FROM events;
