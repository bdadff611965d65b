"""The GraphQL documents the resource commands (`paved resources ...`, `paved new`) send."""

from __future__ import annotations

from cli.deployment_documents import DEPLOYMENT_FIELDS, ERROR_FIELDS

RESOURCE_FIELDS = """
  id name state statusMessage version parameters outputs secretRefs { name key store }
  class { slug } service { slug } environment { slug }
"""


PLAN_FIELDS = "plan { actions parameters requiredApprovals warnings }"


RESOURCES = f"""
query Resources($filter: ResourceFilter, $first: Int, $after: String) {{
  resources(filter: $filter, first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{ {RESOURCE_FIELDS} }}
  }}
}}
"""


REQUEST_RESOURCE = f"""
mutation RequestResource($input: RequestResourceInput!) {{
  requestResource(input: $input) {{
    resource {{ {RESOURCE_FIELDS} }}
    {PLAN_FIELDS}
    {ERROR_FIELDS}
  }}
}}
"""


DELETE_RESOURCE = f"""
mutation DeleteResource($input: DeleteResourceInput!) {{
  deleteResource(input: $input) {{ resource {{ {RESOURCE_FIELDS} }} {ERROR_FIELDS} }}
}}
"""


RESOURCE_STATES = """
query ResourceStates($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on Resource { id state statusMessage outputs secretRefs { name key store } }
  }
}
"""


NEW_SERVICE = f"""
mutation NewService($input: CreateServiceFromTemplateInput!) {{
  createServiceFromTemplate(input: $input) {{
    service {{ id slug name }}
    resources {{ {RESOURCE_FIELDS} }}
    deployments {{ {DEPLOYMENT_FIELDS} }}
    {PLAN_FIELDS}
    {ERROR_FIELDS}
  }}
}}
"""


TEMPLATES = """
query Templates($first: Int, $after: String) {
  templates(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { slug firstVersion environments { slug } }
  }
}
"""


FIRST_DEPLOYMENT = f"""
query FirstDeployment($service: String!, $environment: String!) {{
  service(slug: $service) {{
    deployments(first: 1, environment: $environment) {{ nodes {{ {DEPLOYMENT_FIELDS} }} }}
  }}
}}
"""
