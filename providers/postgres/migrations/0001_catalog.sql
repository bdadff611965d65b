-- The catalog: teams (a hierarchy), users and their memberships, services with
-- their owner teams and dependencies, and environments.
-- Enumerations are text with CHECK constraints so that adding a value is a
-- one-line migration.

CREATE TABLE teams (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text,
    parent_id   bigint REFERENCES teams (id) ON DELETE RESTRICT,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT teams_not_own_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX teams_parent_idx ON teams (parent_id);
CREATE INDEX teams_name_idx ON teams (name, id);

CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    handle      text NOT NULL UNIQUE,
    name        text NOT NULL,
    email       text NOT NULL,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE team_members (
    team_id    bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_idx ON team_members (user_id);

CREATE TABLE services (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug           text NOT NULL UNIQUE,
    name           text NOT NULL,
    description    text,
    lifecycle      text NOT NULL DEFAULT 'EXPERIMENTAL'
                   CHECK (lifecycle IN ('EXPERIMENTAL', 'PRODUCTION', 'DEPRECATED')),
    tier           smallint CHECK (tier BETWEEN 1 AND 4),
    tags           text[] NOT NULL DEFAULT '{}',
    links          jsonb NOT NULL DEFAULT '[]',
    repository_url text,
    version        integer NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX services_name_idx ON services (name, id);
CREATE INDEX services_created_idx ON services (created_at, id);
CREATE INDEX services_updated_idx ON services (updated_at, id);
CREATE INDEX services_tier_idx ON services ((coalesce(tier, 32767)), id);
CREATE INDEX services_tags_idx ON services USING gin (tags);

CREATE TABLE service_owners (
    service_id bigint NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    team_id    bigint NOT NULL REFERENCES teams (id) ON DELETE RESTRICT,
    role       text NOT NULL CHECK (role IN ('PRIMARY', 'CONTRIBUTOR')),
    PRIMARY KEY (service_id, team_id)
);
CREATE UNIQUE INDEX service_owners_one_primary ON service_owners (service_id) WHERE role = 'PRIMARY';
CREATE INDEX service_owners_team_idx ON service_owners (team_id);

CREATE TABLE service_dependencies (
    service_id    bigint NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    depends_on_id bigint NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, depends_on_id),
    CONSTRAINT service_dependencies_not_self CHECK (service_id <> depends_on_id)
);
CREATE INDEX service_dependencies_reverse_idx ON service_dependencies (depends_on_id);

CREATE TABLE environments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text,
    tier        text NOT NULL
                CHECK (tier IN ('PRODUCTION', 'STAGING', 'TESTING', 'DEVELOPMENT', 'OTHER')),
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
