-- Bench-only SQL for PostGraphile (applied by the benches after seeding, never a product
-- migration): the schema a PostGraphile user would give this catalog. Relations come from
-- foreign keys, real or declared with smart tags on views, so PostGraphile inlines every one
-- of them into its single statement; nothing here is a computed column.
--
--   owner     = the team owning the service with role PRIMARY, or null: the view
--               `service_primary_owners` (one row per service, so a one-to-one relation)
--   owners    = service_owners with their team's name, ordered by role DESC ('PRIMARY'
--               first), team name, team id: the view `service_owner_teams` (the team's name is
--               a column so that the relation can be ordered by it)
--   dependsOn = service_dependencies with the target's name, ordered by name, id: the view
--               `service_dependency_targets`
--   the release matrix = the view `service_current_deployments` (the SUCCEEDED deployment
--               of each service x environment, as the partial unique index
--               `deployments_current` keeps one) ordered by environment id, with the
--               environment through its foreign key
-- The views are read-only to PostGraphile (no mutations) and exposed as plain lists.

CREATE VIEW service_primary_owners AS
    SELECT service_id, team_id FROM service_owners WHERE role = 'PRIMARY';
COMMENT ON VIEW service_primary_owners IS E'@primaryKey service_id\n'
    '@foreignKey (service_id) references services (id)|@fieldName service|@foreignSingleFieldName owner\n'
    '@foreignKey (team_id) references teams (id)|@fieldName team\n'
    '@behavior -insert -update -delete -connection -list\n'
    'The primary owner of a service.';

CREATE VIEW service_owner_teams AS
    SELECT so.service_id, so.team_id, so.role, t.name AS team_name
    FROM service_owners so
    JOIN teams t ON t.id = so.team_id;
COMMENT ON VIEW service_owner_teams IS E'@primaryKey service_id,team_id\n'
    '@foreignKey (service_id) references services (id)|@fieldName service|@foreignFieldName owners\n'
    '@foreignKey (team_id) references teams (id)|@fieldName team\n'
    '@behavior -insert -update -delete -connection +list\n'
    'Every owner team of a service, with the team''s name to order by.';

CREATE VIEW service_dependency_targets AS
    SELECT sd.service_id, sd.depends_on_id, d.name AS depends_on_name
    FROM service_dependencies sd
    JOIN services d ON d.id = sd.depends_on_id;
COMMENT ON VIEW service_dependency_targets IS E'@primaryKey service_id,depends_on_id\n'
    '@foreignKey (service_id) references services (id)|@fieldName dependent|@foreignFieldName dependsOn\n'
    '@foreignKey (depends_on_id) references services (id)|@fieldName service|@foreignFieldName dependedOnBy\n'
    '@behavior -insert -update -delete -connection +list\n'
    'The services a service depends on, with their names to order by.';

CREATE VIEW service_current_deployments AS
    SELECT id, service_id, environment_id, version, state, finished_at
    FROM deployments
    WHERE state = 'SUCCEEDED';
COMMENT ON VIEW service_current_deployments IS E'@primaryKey id\n'
    '@unique service_id,environment_id\n'
    '@foreignKey (service_id) references services (id)|@fieldName service|@foreignFieldName currentDeployments\n'
    '@foreignKey (environment_id) references environments (id)|@fieldName environment|@foreignFieldName currentDeployments\n'
    '@behavior -insert -update -delete -connection +list\n'
    'The current (SUCCEEDED) deployment of each service in each environment.';
