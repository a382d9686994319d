"""``streammesh registry``: run the schema registry and catalog service."""

from __future__ import annotations

from typing import Annotated, Any

import typer

registry_app = typer.Typer(help="The schema registry and data-product catalog service.")


@registry_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (8081).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (one per core).")] = None,
    bootstrap_servers: Annotated[str | None, typer.Option(help="Kafka of the log.")] = None,
    primary_url: Annotated[str | None, typer.Option(help="Forward writes to this primary.")] = None,
) -> None:
    """Serve the registry (STREAMMESH_REGISTRY_* variables set the defaults)."""
    from services.registry.server import serve as run  # noqa: PLC0415 - heavy, only here
    from services.registry.settings import RegistrySettings  # noqa: PLC0415

    given = {
        "host": host,
        "port": port,
        "workers": workers,
        "bootstrap_servers": bootstrap_servers,
        "primary_url": primary_url,
    }
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    run(RegistrySettings(**overrides))
