-- Audit records are sealed after commit (providers/postgres/audit_seals.py) instead of being
-- hashed under one lock inside every write transaction: an append is a plain INSERT with
-- seal_seq, prev_hash and hash NULL; the sealer (one at a time) gives each committed record
-- its place in the chain (seal_seq) and its hash, once. The records written before this
-- migration were chained in id order: they take their seal_seq from it.
ALTER TABLE audit_events
    ADD COLUMN seal_seq bigint,
    ADD COLUMN sealed_at timestamptz;

DROP TRIGGER audit_events_append_only ON audit_events;

UPDATE audit_events e SET seal_seq = o.seq
FROM (SELECT id, row_number() OVER (ORDER BY id) AS seq FROM audit_events) o
WHERE e.id = o.id;

ALTER TABLE audit_events ALTER COLUMN hash DROP NOT NULL;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_seal_seq_key UNIQUE (seal_seq);
ALTER TABLE audit_events ADD CONSTRAINT audit_events_sealed_whole
    CHECK ((seal_seq IS NULL) = (hash IS NULL) AND (seal_seq IS NOT NULL OR prev_hash IS NULL));

-- One chain: a single first sealed record (unsealed records have no prev_hash either).
DROP INDEX audit_events_one_first;
CREATE UNIQUE INDEX audit_events_one_first ON audit_events ((prev_hash IS NULL))
    WHERE prev_hash IS NULL AND seal_seq IS NOT NULL;
-- What the sealer reads next, and the unsealed count of /metrics.
CREATE INDEX audit_events_unsealed_idx ON audit_events (id) WHERE seal_seq IS NULL;

-- Still append-only: the one change allowed is sealing a record, once, leaving every other
-- column as it was. DELETE and UPDATE are checked per row (the trigger keeps its name, so
-- `DISABLE TRIGGER audit_events_append_only` still lifts the rule), TRUNCATE per statement.
CREATE FUNCTION audit_events_refuse_unsealing() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    unsealed audit_events;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seal_seq IS NULL AND NEW.seal_seq IS NOT NULL THEN
        unsealed := NEW;
        unsealed.seal_seq := NULL;
        unsealed.sealed_at := NULL;
        unsealed.prev_hash := NULL;
        unsealed.hash := NULL;
        IF unsealed IS NOT DISTINCT FROM OLD THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
        USING HINT = 'audit records can be added, never changed or removed';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_unsealing();
CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
