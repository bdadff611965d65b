"""The ASGI app over HTTP, the `paved` command and the served process."""
