"""What a simulated resource reports once READY: outputs (non-secret) and where its credentials
would be, both decided by the class's type and the resource's names alone.

- `postgres`, `postgresql`: `host` (`<name>.<service>.<environment>.db.internal`), `port`
  5432, `database` (the name with `-` as `_`); credentials key `password`;
- `mysql`, `mariadb`: the same with `port` 3306;
- `redis`, `cache`: `host` (`<name>.<service>.<environment>.cache.internal`), `port` 6379;
  key `password`;
- `bucket`, `s3`, `object-storage`: `bucket` (`<service>-<environment>-<name>`) and its `url`;
  key `secret-access-key`;
- any other type: `host` (`<name>.<service>.<environment>.internal`); key `token`.

The credentials are a `SecretRef` to the Kubernetes Secret `<service>-<name>-credentials`; no
value of a secret is ever made up, let alone reported.
"""

from __future__ import annotations

from typing import Any, Final

from domain.resources.model import ProvisionRequest, SecretRef

_DATABASES: Final = {"postgres": 5432, "postgresql": 5432, "mysql": 3306, "mariadb": 3306}
_CACHES: Final = frozenset({"redis", "cache"})
_BUCKETS: Final = frozenset({"bucket", "s3", "object-storage"})
SECRET_STORE: Final = "kubernetes"  # noqa: S105 (where secrets are, not one)


def ready_outputs(request: ProvisionRequest) -> tuple[dict[str, Any], tuple[SecretRef, ...]]:
    """The outputs and secret references of the resource `request` describes."""
    kind = request.class_type.lower()
    name, service, environment = request.name, request.service_slug, request.environment_slug
    outputs: dict[str, Any]
    if kind in _DATABASES:
        host = f"{name}.{service}.{environment}.db.internal"
        outputs = {"host": host, "port": _DATABASES[kind], "database": name.replace("-", "_")}
        key = "password"
    elif kind in _CACHES:
        outputs = {"host": f"{name}.{service}.{environment}.cache.internal", "port": 6379}
        key = "password"
    elif kind in _BUCKETS:
        bucket = f"{service}-{environment}-{name}"
        outputs = {"bucket": bucket, "url": f"https://{bucket}.storage.internal"}
        key = "secret-access-key"
    else:
        outputs = {"host": f"{name}.{service}.{environment}.internal"}
        key = "token"
    credentials = SecretRef(name=f"{service}-{name}-credentials", store=SECRET_STORE, key=key)
    return outputs, (credentials,)
