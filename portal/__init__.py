"""The portal: a browser app on the public GraphQL API, its files shipped in `static/`."""
