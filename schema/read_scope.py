"""Queries need the `read` scope; mutations are checked by the policy, use case by use case."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from domain.access.policy import Action, decide
from resolvers.context import Context


class ReadScope(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        if execution.operation_type is OperationType.QUERY and isinstance(context, Context):
            decision = decide(context.principal, Action.READ_CATALOG)
            if not decision.allowed:
                execution.result = ExecutionResult(
                    data=None,
                    errors=[GraphQLError(decision.reason, extensions={"code": "FORBIDDEN"})],
                )
        yield
