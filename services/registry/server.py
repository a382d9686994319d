"""``python -m services.registry`` (and ``streammesh registry serve``): run the registry."""

from __future__ import annotations

import logging

import uvicorn

from services.registry.app import create_app
from services.registry.settings import RegistrySettings, get_settings


def serve(settings: RegistrySettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
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
