"""`node`/`nodes`: global IDs back to records, batched through the request's loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from providers.records import EnvironmentRecord, ServiceRecord, TeamRecord, UserRecord
from resolvers.context import Context
from resolvers.global_ids import decode_id

NodeRecord = TeamRecord | UserRecord | ServiceRecord | EnvironmentRecord


async def node(context: Context, global_id: str) -> NodeRecord | None:
    decoded = decode_id(global_id)
    if decoded is None:
        return None
    type_name, pk = decoded
    loaders = context.loaders
    if type_name == "Team":
        return await loaders.team_by_id.load(pk)
    if type_name == "User":
        return await loaders.user_by_id.load(pk)
    if type_name == "Service":
        return await loaders.service_by_id.load(pk)
    if type_name == "Environment":
        return await loaders.environment_by_id.load(pk)
    return None


async def nodes(context: Context, global_ids: Sequence[str]) -> list[NodeRecord | None]:
    return list(await asyncio.gather(*(node(context, global_id) for global_id in global_ids)))
