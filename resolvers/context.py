"""What every resolver receives: the ports and this request's loaders."""

from __future__ import annotations

from dataclasses import dataclass

from providers.ports import CatalogReader, CatalogWriter
from resolvers.loaders import Loaders


@dataclass(slots=True)
class Context:
    reader: CatalogReader
    writer: CatalogWriter
    loaders: Loaders

    @classmethod
    def for_request(cls, reader: CatalogReader, writer: CatalogWriter) -> Context:
        return cls(reader=reader, writer=writer, loaders=Loaders(reader))
