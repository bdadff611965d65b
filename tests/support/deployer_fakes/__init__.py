"""Fakes for the deployer adapters' tests: a clock and a real local webhook receiver."""
