"""An app process for multi-replica tests: `python -m tests.support.replica`.

Served exactly as `paved serve` serves (`cli.main.server_config`: SIGTERM, graceful shutdown),
configured by `PAVED_*` and `DATABASE_URL`, with every provider answered by the counting fake
at `COUNTING_PROVIDER_URL`; `TEST_ROLLOUT_SWEEP_SECONDS` sets the pause between sweeps.
"""

from __future__ import annotations

import contextlib
import logging
import os

import uvicorn

from api.app import create_app
from api.bootstrap import Overrides
from api.settings import Settings
from cli.main import server_config
from tests.support.deployer_fakes.counting_provider import counting_factory


def main() -> None:
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sweep = os.environ.get("TEST_ROLLOUT_SWEEP_SECONDS")
    overrides = Overrides(
        deployer_factory=counting_factory(os.environ["COUNTING_PROVIDER_URL"]),
        rollout_sweep_seconds=float(sweep) if sweep else None,
    )
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(server_config(create_app(settings, overrides), settings)).run()


if __name__ == "__main__":
    main()
