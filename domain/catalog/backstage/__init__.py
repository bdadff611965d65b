"""Backstage's catalog format (`catalog-info.yaml`), in and out: pure parsing, mapping to and
from the catalog's records, and the import's plan against the catalog as it is. No I/O: the
use case (`resolvers.import_mutations`) reads and writes through the `CatalogImporter` port."""
