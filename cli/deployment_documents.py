"""The GraphQL documents the deployment commands send."""

from __future__ import annotations

DEPLOYMENT_FIELDS = """
  id number version state kind rawStatus statusMessage createdAt finishedAt
  service { slug } environment { slug }
"""


ERROR_FIELDS = "errors { code message path }"


def _deployment_mutation(field: str) -> str:
    """`field(input:)` of a mutation whose payload is a deployment and errors."""
    input_type = field[0].upper() + field[1:] + "Input"
    return (
        f"mutation($input: {input_type}!) {{ {field}(input: $input) "
        f"{{ deployment {{ {DEPLOYMENT_FIELDS} }} {ERROR_FIELDS} }} }}"
    )


DEPLOY = _deployment_mutation("deploy")


PROMOTE = f"""
mutation Promote($input: PromoteInput!) {{
  promote(input: $input) {{
    deployment {{ {DEPLOYMENT_FIELDS} }}
    plan {{ fromVersion toVersion requiredApprovals frozen }}
    {ERROR_FIELDS}
  }}
}}
"""


ROLLBACK = _deployment_mutation("rollback")


APPROVE = _deployment_mutation("approveDeployment")


REJECT = _deployment_mutation("rejectDeployment")


CANCEL = _deployment_mutation("cancelDeployment")


DEPLOYMENT_STATE = """
query DeploymentState($id: ID!) {
  node(id: $id) { ... on Deployment { id state rawStatus statusMessage } }
}
"""


FOLLOW_DEPLOYMENT = """
subscription FollowDeployment($id: ID!) {
  deploymentUpdated(deployment: $id) { id state rawStatus statusMessage }
}
"""


FOLLOW_SERVICE = """
subscription FollowService($service: String!) {
  deploymentUpdated(service: $service) {
    id number version state rawStatus statusMessage environment { slug }
  }
}
"""


SERVICE_STATUS = """
query ServiceStatus($slug: String!) {
  service(slug: $slug) {
    slug
    name
    environments {
      environment { slug name }
      current { id number version state finishedAt }
      pending { id number version state createdAt }
    }
  }
}
"""


RELEASES = """
query Releases($filter: ServiceFilter, $environments: [String!], $first: Int, $after: String) {
  releaseMatrix(filter: $filter, environments: $environments, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      service { slug name }
      cells { environment { slug } current { number version state finishedAt } }
    }
  }
}
"""
