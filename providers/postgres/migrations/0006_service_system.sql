-- A service's system: the larger whole it is part of (Backstage's `spec.system`), a slug such
-- as `payments`; NULL when it belongs to none. Listings filter on it.
ALTER TABLE services ADD COLUMN system text;
CREATE INDEX services_system_idx ON services (system, id);
