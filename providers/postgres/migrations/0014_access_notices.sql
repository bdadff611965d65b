-- Every change to what an API token's principal may do is announced on `paved_access`, from
-- the database itself, so that no write path (a mutation, a `paved` command, an operator's
-- SQL) can forget it: each server process keeps the tokens it verified in memory and drops
-- them on these notices (api/token_cache.py). A notice is sent at commit, in commit order;
-- identical notices of one transaction are sent once.
--
-- Payloads: `token:<id>` (revoked, deleted, scopes, expiry or owner changed), `user:<id>`
-- (administration, name or handle changed, deleted, a membership added or removed),
-- `client:<id>` (team, name or slug changed, deleted), `*` (a table emptied: forget all).
-- `last_used_at` is not a right: noting a use announces nothing.

CREATE FUNCTION paved_access_notice() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed record;
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('paved_access', '*');
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
    ELSE
        changed := NEW;
    END IF;
    IF TG_TABLE_NAME = 'api_tokens' THEN
        PERFORM pg_notify('paved_access', 'token:' || changed.id);
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('paved_access', 'user:' || changed.id);
    ELSIF TG_TABLE_NAME = 'api_clients' THEN
        PERFORM pg_notify('paved_access', 'client:' || changed.id);
    ELSIF TG_TABLE_NAME = 'team_members' THEN
        PERFORM pg_notify('paved_access', 'user:' || changed.user_id);
        IF TG_OP = 'UPDATE' AND OLD.user_id <> NEW.user_id THEN
            PERFORM pg_notify('paved_access', 'user:' || OLD.user_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_access_changed
    AFTER UPDATE ON api_tokens
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.scopes IS DISTINCT FROM NEW.scopes
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.client_id IS DISTINCT FROM NEW.client_id
          OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash)
    EXECUTE FUNCTION paved_access_notice();
CREATE TRIGGER api_tokens_access_deleted
    AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION paved_access_notice();

CREATE TRIGGER users_access_changed
    AFTER UPDATE ON users
    FOR EACH ROW
    WHEN (OLD.is_admin IS DISTINCT FROM NEW.is_admin
          OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.handle IS DISTINCT FROM NEW.handle)
    EXECUTE FUNCTION paved_access_notice();
CREATE TRIGGER users_access_deleted
    AFTER DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION paved_access_notice();

CREATE TRIGGER api_clients_access_changed
    AFTER UPDATE ON api_clients
    FOR EACH ROW
    WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id
          OR OLD.name IS DISTINCT FROM NEW.name
          OR OLD.slug IS DISTINCT FROM NEW.slug)
    EXECUTE FUNCTION paved_access_notice();
CREATE TRIGGER api_clients_access_deleted
    AFTER DELETE ON api_clients
    FOR EACH ROW EXECUTE FUNCTION paved_access_notice();

CREATE TRIGGER team_members_access_changed
    AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION paved_access_notice();

CREATE TRIGGER api_tokens_access_emptied
    AFTER TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION paved_access_notice();
CREATE TRIGGER users_access_emptied
    AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION paved_access_notice();
CREATE TRIGGER api_clients_access_emptied
    AFTER TRUNCATE ON api_clients
    FOR EACH STATEMENT EXECUTE FUNCTION paved_access_notice();
CREATE TRIGGER team_members_access_emptied
    AFTER TRUNCATE ON team_members
    FOR EACH STATEMENT EXECUTE FUNCTION paved_access_notice();
