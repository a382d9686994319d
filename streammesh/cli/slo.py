"""``streammesh slo``: Prometheus rules and alerts generated from the products' SLOs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from streammesh.cli import services
from streammesh.cli.output import fail
from streammesh.errors import StreamMeshError
from streammesh.products.descriptor import Descriptor
from streammesh.products.loader import iter_descriptor_files, load_descriptor
from streammesh.sdk.catalog import CatalogClient

slo_app = typer.Typer(help="SLO recording rules and burn-rate alerts from product descriptors.")

Root = Annotated[
    Path, typer.Option(help="Repository root holding domains/<domain>/products/*.yaml.")
]
Registry = Annotated[
    str | None,
    typer.Option(help="Read the active products from this catalog instead of domains/."),
]
FreshnessObjective = Annotated[
    float,
    typer.Option(
        min=0.0, max=1.0, help="Share of records that must meet the freshness bound in seconds."
    ),
]
Out = Annotated[Path | None, typer.Option(help="Write here instead of standard output.")]


def _descriptors(root: Path, registry: str | None) -> list[Descriptor]:
    """Every product's descriptor, from the checkout or the catalog; exit 1 on failure."""
    try:
        if registry is None:
            return [load_descriptor(p) for p in iter_descriptor_files(root)]
        with CatalogClient(registry) as catalog:
            return [p.descriptor for p in catalog.products(status="active")]
    except StreamMeshError as error:
        fail(error)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    typer.secho(f"wrote {out}", err=True)


@slo_app.command()
def rules(
    out: Out = None,
    root: Root = Path(),
    registry: Registry = None,
    freshness_objective: FreshnessObjective = 0.99,
) -> None:
    """Recording rules of every SLI and multi-window, multi-burn-rate alerts per product SLO."""
    _write(services.slo_rules(_descriptors(root, registry), freshness_objective), out)


@slo_app.command("tests")
def alert_tests(
    out: Out = None,
    rules_file: Annotated[
        str, typer.Option(help="The rules file as promtool finds it from the tests file.")
    ] = "../rules/slo.yml",
    root: Root = Path(),
    registry: Registry = None,
    freshness_objective: FreshnessObjective = 0.99,
) -> None:
    """promtool unit tests that fire, and do not fire, every burn-rate alert of `rules`."""
    found = _descriptors(root, registry)
    _write(services.slo_alert_tests(found, freshness_objective, rules_file), out)
