"""Provider adapters behind the `Deployer` port (`domain/deployments/model.py`).

Each adapter serves one environment's provider configuration: `build_deployer(kind,
settings)` validates the settings and builds it; the settings inside a `DeployRequest` or
passed to `live_status` are not consulted. Adapters keep their state in memory, so build one
per environment and keep it for the life of the process.
"""
