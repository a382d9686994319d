"""`python -m domains.marketing.cltv`: run one worker of the CLTV processor (settings from env)."""

from __future__ import annotations

import faust

from domains.marketing.cltv.app import create_app, ensure_internal_topics
from domains.marketing.cltv.settings import get_settings


def main() -> None:
    settings = get_settings()
    app = create_app(settings)
    ensure_internal_topics(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.upper())
    # Faust's terminal spinner sets the root logger to DEBUG so that it spins on every record:
    # every debug call of aiokafka then builds a record, a large share of a worker's CPU.
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
