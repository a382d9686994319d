"""The ``streammesh`` command line: the paved road to the mesh."""

import typer

from streammesh.cli.broker import broker_app

app = typer.Typer(
    name="streammesh",
    help="StreamMesh: data products on Apache Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(broker_app, name="broker")


def main() -> None:
    app()
