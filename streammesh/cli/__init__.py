"""The ``streammesh`` command line: the paved road to the mesh."""

import typer

from streammesh.cli.access import access_app
from streammesh.cli.broker import broker_app
from streammesh.cli.demo import demo
from streammesh.cli.product import product_app
from streammesh.cli.publish import publish
from streammesh.cli.registry import registry_app
from streammesh.cli.slo import slo_app
from streammesh.cli.tail import tail

app = typer.Typer(
    name="streammesh",
    help="StreamMesh: data products on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(broker_app, name="broker")
app.add_typer(registry_app, name="registry")
app.add_typer(slo_app, name="slo")
app.add_typer(product_app, name="product")
app.add_typer(access_app, name="access")
app.command()(publish)
app.command()(tail)
app.command()(demo)


def main() -> None:
    app()
