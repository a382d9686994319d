"""``streammesh registry``: run the schema registry and catalog service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from streammesh.cli import services
from streammesh.cli.output import fail

registry_app = typer.Typer(help="The schema registry and data-product catalog service.")


@registry_app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (8081).")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (one per core).")] = None,
    bootstrap_servers: Annotated[str | None, typer.Option(help="Kafka of the log.")] = None,
    primary_url: Annotated[
        str | None, typer.Option(help="Forward every write here (overrides the election).")
    ] = None,
    advertised_url: Annotated[
        str | None, typer.Option(help="Where other instances reach this one when it leads.")
    ] = None,
) -> None:
    """Serve the registry (STREAMMESH_REGISTRY_* variables set the defaults)."""
    given = {
        "host": host,
        "port": port,
        "workers": workers,
        "bootstrap_servers": bootstrap_servers,
        "primary_url": primary_url,
        "advertised_url": advertised_url,
    }
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    services.serve_registry(overrides)


@registry_app.command("add-user")
def add_user(
    users_file: Annotated[Path, typer.Argument(help="The users file (created if missing).")],
    name: Annotated[str, typer.Argument(help="The principal, e.g. the domain's name.")],
    role: Annotated[str, typer.Option(help="owner, reader or admin.")] = "owner",
    domain: Annotated[
        list[str] | None, typer.Option(help="A domain an owner writes (repeatable).")
    ] = None,
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="PASSWORD"),
    ] = "",
) -> None:
    """Add a principal to the registry's users file; only a hash of the password is kept."""
    domains = tuple(domain or (() if role != "owner" else (name,)))
    try:
        services.add_registry_user(users_file, name, password, role, domains)
    except services.UnknownRoleError as error:
        fail(error)
    typer.echo(f"{name} ({role}, domains {list(domains)}) written to {users_file}")
