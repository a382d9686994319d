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
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
