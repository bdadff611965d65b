-- The chain's hashes are no longer indexed. `UNIQUE (hash)` and `UNIQUE (prev_hash)` date from
-- the chain written under one lock (0002). Since sealing (0016), the unique `seal_seq` is what
-- keeps two records out of one place, and `paved audit verify` walks `seal_seq` in order: a
-- record whose `prev_hash` is not its predecessor's hash is named, a fork included. The two
-- indexes only cost every append two entries for its NULLs and every seal two more for its
-- 64-character keys, compared under the database's collation, and about 200 bytes per record.
ALTER TABLE audit_events
    DROP CONSTRAINT IF EXISTS audit_events_hash_key,
    DROP CONSTRAINT IF EXISTS audit_events_prev_hash_key;
