"""``python -m services.quality_monitor``: run the quality monitor."""

import logging

import uvicorn

from services.quality_monitor.app import create_app
from services.quality_monitor.monitor import tune_garbage_collector
from services.quality_monitor.settings import MonitorSettings, get_settings


def serve(settings: MonitorSettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # One line per registry request would drown what the monitor itself says.
    for noisy in ("httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tune_garbage_collector()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
    )


def main() -> None:
    serve(get_settings())


if __name__ == "__main__":
    main()
