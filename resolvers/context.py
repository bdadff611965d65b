"""What every resolver receives: the ports, who is asking, and this request's loaders."""

from __future__ import annotations

from dataclasses import dataclass

from providers.access import Principal
from providers.access_ports import AccessStore, AuditLog
from providers.deployment_ports import DeploymentStore
from providers.ports import CatalogReader, CatalogWriter
from resolvers.access_loaders import AccessLoaders
from resolvers.loaders import Loaders


@dataclass(frozen=True, slots=True)
class Ports:
    reader: CatalogReader
    writer: CatalogWriter
    access: AccessStore
    audit: AuditLog
    deployments: DeploymentStore


@dataclass(slots=True)
class Context:
    reader: CatalogReader
    writer: CatalogWriter
    access: AccessStore
    audit: AuditLog
    deployments: DeploymentStore
    loaders: Loaders
    access_loaders: AccessLoaders
    principal: Principal
    request_id: str | None = None

    def forget_loaded(self) -> None:
        """After a change: what this request's loaders hold may be stale."""
        self.loaders = Loaders(self.reader)
        self.access_loaders = AccessLoaders(self.access)

    @classmethod
    def for_request(
        cls, ports: Ports, principal: Principal, request_id: str | None = None
    ) -> Context:
        return cls(
            reader=ports.reader,
            writer=ports.writer,
            access=ports.access,
            audit=ports.audit,
            deployments=ports.deployments,
            loaders=Loaders(ports.reader),
            access_loaders=AccessLoaders(ports.access),
            principal=principal,
            request_id=request_id,
        )
