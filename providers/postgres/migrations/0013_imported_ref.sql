-- Provenance of catalog entities an import created: the Backstage entity reference it was
-- made from (`component:default/payments-api`); NULL for what was made otherwise (by hand,
-- the API, the demo). A pruning import deletes only rows whose imported_ref is set.
ALTER TABLE teams ADD COLUMN imported_ref text;
ALTER TABLE users ADD COLUMN imported_ref text;
ALTER TABLE services ADD COLUMN imported_ref text;
