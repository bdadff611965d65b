"""Domain rules and pure logic: no database, no network, no process."""
