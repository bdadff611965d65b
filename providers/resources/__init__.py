"""Resource provider adapters behind the `Provisioner` port (`domain/resources/model.py`):
simulated, webhook and crossplane, built under the server's provider policy by
`providers/resources/registry.py` (the `ProvisionerKinds` port).

Each adapter serves one resource class's provider settings; the settings inside a
`ProvisionRequest` are not consulted. They share the deployers' pieces: settings parsing
(`providers/deployers/settings.py`), the checked outbound transport and its retries
(`providers/deployers/http_calls.py`), signing (`providers/deployers/signatures.py`) and the
cluster connection (`providers/deployers/kubernetes_client.py`).

PROVISIONING and UPDATING answered by an adapter both mean "in progress": an adapter says
UPDATING only when it can tell the resource was built before; the caller keeps its own.
"""
