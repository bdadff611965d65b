-- Bench-only SQL for PostGraphile (applied by `python -m bench.run` after seeding, never a
-- product migration). PostGraphile builds its schema from the tables; these computed-column
-- functions give `Service` the same `owner`, `owners` and `dependsOn` as Paved Road's, with the
-- same rows in the same order:
--   owner     = the team owning the service with role PRIMARY, or null
--   owners    = service_owners ordered by role DESC ('PRIMARY' first), team name, team id
--   dependsOn = service_dependencies -> services ordered by name, id
-- Smart comments expose the set-returning ones as plain lists (as in Paved Road), not
-- connections.

CREATE FUNCTION services_owner(s services) RETURNS teams
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT t.*
    FROM service_owners so
    JOIN teams t ON t.id = so.team_id
    WHERE so.service_id = s.id AND so.role = 'PRIMARY'
$$;
COMMENT ON FUNCTION services_owner(services) IS 'The primary owner team.';

CREATE FUNCTION services_owners(s services) RETURNS SETOF service_owners
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT so.*
    FROM service_owners so
    JOIN teams t ON t.id = so.team_id
    WHERE so.service_id = s.id
    ORDER BY so.role DESC, t.name, t.id
$$;
COMMENT ON FUNCTION services_owners(services) IS
    E'@behavior -connection +list\nEvery owner team: the primary first, then contributors.';

CREATE FUNCTION services_depends_on(s services) RETURNS SETOF services
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT d.*
    FROM service_dependencies sd
    JOIN services d ON d.id = sd.depends_on_id
    WHERE sd.service_id = s.id
    ORDER BY d.name, d.id
$$;
COMMENT ON FUNCTION services_depends_on(services) IS
    E'@behavior -connection +list\nServices this one depends on.';

-- The release matrix (bench only): a service's current deployment (the one SUCCEEDED, found
-- through the partial unique index `deployments_current`) in each of the environments named,
-- in the order named; an environment without one is left out (the bench's comparison maps it
-- to Paved Road's cell with a null `current`).
CREATE FUNCTION services_current_deployments(s services, environments text[])
RETURNS SETOF deployments
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT d.*
    FROM unnest(services_current_deployments.environments) WITH ORDINALITY
         AS wanted (slug, position)
    JOIN environments e ON e.slug = wanted.slug
    JOIN deployments d
      ON d.service_id = s.id AND d.environment_id = e.id AND d.state = 'SUCCEEDED'
    ORDER BY wanted.position
$$;
COMMENT ON FUNCTION services_current_deployments(services, text[]) IS
    E'@behavior -connection +list\nThe current deployment in each environment named.';
