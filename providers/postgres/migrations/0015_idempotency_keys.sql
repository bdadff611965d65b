-- Idempotency keys of every mutation (domain/idempotency.py, resolvers/use_cases.py).
--
-- A key belongs to one actor: (actor_kind, actor_id), the local admin's id being 0. The row is
-- inserted in the transaction of the change the key's first use made (with its audit record),
-- so a key is taken exactly when its change commits; `result` (the reference the answer is
-- read back from on a replay) is added right after the commit. `attempt` tells one attempt's
-- rows from another's. Rows older than 24 hours are pruned in the background and ignored
-- before then.
CREATE TABLE idempotency_keys (
    actor_kind  text        NOT NULL,
    actor_id    bigint      NOT NULL,
    key         text        NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    operation   text        NOT NULL,
    input_hash  text        NOT NULL,
    attempt     text        NOT NULL,
    result      jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_kind, actor_id, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
