"""Adapters against real PostgreSQL and against local fakes of the remote APIs they call."""
