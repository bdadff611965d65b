-- The face a mutation attempt came through when it was not the GraphQL API itself: `mcp` for
-- the Model Context Protocol endpoint (`/mcp`); NULL for /graphql, operator commands and every
-- record written before this column. Covered by the record's hash when set
-- (providers/postgres/audit_log.py), so records written before it still verify.
ALTER TABLE audit_events ADD COLUMN channel text;
