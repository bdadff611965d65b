-- The outbox: one row per accepted change, written in the change's own transaction
-- (providers/postgres/outbox.py). `id` is the event's place in commit order: rows are inserted
-- under a transaction-scoped advisory lock held until commit, so a reader that has seen id N
-- never later sees a row below N appear. Subjects and the rows an event concerns are plain ids,
-- not foreign keys: an event outlives what it is about (its `subject` reads as null then).
CREATE TABLE events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type           text NOT NULL,
    occurred_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_kind     text CHECK (actor_kind IN ('user', 'client', 'local-admin')),
    actor_id       bigint,
    actor_name     text,
    request_id     text,
    subject_kind   text NOT NULL,
    subject_id     bigint NOT NULL,
    service_id     bigint,
    team_id        bigint,
    environment_id bigint,
    deployment_id  bigint,
    data           jsonb NOT NULL DEFAULT '{}'
                   CONSTRAINT events_data_object CHECK (jsonb_typeof(data) = 'object')
);
CREATE INDEX events_service_idx ON events (service_id, id) WHERE service_id IS NOT NULL;
CREATE INDEX events_team_idx ON events (team_id, id) WHERE team_id IS NOT NULL;
CREATE INDEX events_environment_idx ON events (environment_id, id)
    WHERE environment_id IS NOT NULL;
CREATE INDEX events_deployment_idx ON events (deployment_id, id) WHERE deployment_id IS NOT NULL;
CREATE INDEX events_occurred_at_idx ON events (occurred_at);
