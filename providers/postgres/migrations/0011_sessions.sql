-- Browser sessions of people signed in through the identity provider (api/web_sessions.py).
-- Only the SHA-256 of a session's secret is stored, never the secret (the `paved_session`
-- cookie). A session ends at logout, after PAVED_SESSION_IDLE_MINUTES without a request
-- (`last_seen_at`), and at `expires_at` (PAVED_SESSION_MAX_HOURS after sign-in) whatever
-- happens. Deleting the user ends their sessions. The identity is what the ID token named:
-- each request's principal is built from it as from a bearer JWT.
CREATE TABLE web_sessions (
    secret_hash   bytea PRIMARY KEY CHECK (octet_length(secret_hash) = 32),
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    oidc_subject  text NOT NULL,
    email         text,
    name          text,
    groups        text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    CONSTRAINT web_sessions_expire_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX web_sessions_user_idx ON web_sessions (user_id);
CREATE INDEX web_sessions_expires_idx ON web_sessions (expires_at);
CREATE INDEX web_sessions_last_seen_idx ON web_sessions (last_seen_at);

-- Sign-ins under way (api/oidc_login.py): what /auth/login remembers until the identity
-- provider sends the browser back to /auth/callback, filed under the SHA-256 of the `state`
-- it sent; taken (deleted) at most once, useless after `expires_at`.
CREATE TABLE oidc_logins (
    state_hash  bytea PRIMARY KEY CHECK (octet_length(state_hash) = 32),
    nonce       text NOT NULL,
    verifier    text NOT NULL,
    next_path   text NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX oidc_logins_expires_idx ON oidc_logins (expires_at);
