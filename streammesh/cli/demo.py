"""``streammesh demo``: the whole mesh locally, end to end (what ``make demo`` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streammesh.cli.output import fail
from streammesh.errors import StreamMeshError


def demo(
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds and print a summary.")
    ] = None,
    rate: Annotated[float, typer.Option(help="Orders per second.")] = 20.0,
    customers: Annotated[int, typer.Option(help="Customers in the generated population.")] = 200,
    bad_ratio: Annotated[float, typer.Option(help="Share of bad orders injected.")] = 0.02,
    root: Annotated[Path, typer.Option(help="The checkout holding domains/ and deploy/.")] = Path(),
    state_dir: Annotated[Path, typer.Option(help="Data, logs and credentials.")] = Path(
        ".streammesh/demo"
    ),
) -> None:
    """Start Kafka, the registry, every product, the domains, the CLTV processor, the quality
    monitor (and Prometheus if installed); watch them live; Ctrl-C stops everything."""
    from streammesh.demo.run import DemoOptions, run_demo  # noqa: PLC0415 - heavy, only here

    options = DemoOptions(
        root=root.resolve(),
        state_dir=state_dir.resolve(),
        duration=duration,
        rate=rate,
        customers=customers,
        bad_ratio=bad_ratio,
    )
    try:
        code = run_demo(options)
    except StreamMeshError as error:
        fail(error)
    raise typer.Exit(code)
