"""What the tests share beyond fixtures: clients, seeding, fakes of remote APIs, processes."""
