"""Load benchmark for the Paved Road GraphQL API: `python -m bench.run` (`make bench`)."""
