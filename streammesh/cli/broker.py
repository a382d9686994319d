"""``streammesh broker``: run a local single-node Kafka for development and tests."""

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from streammesh.broker import BrokerError, BrokerSettings, LocalBroker
from streammesh.broker.security import PLAINTEXT_WARNING, BrokerSecurity
from streammesh.cli.output import ExitCode, OutputFormat, OutputOption, emit_json, fail

broker_app = typer.Typer(help="Run a local Apache Kafka broker (KRaft, from Maven Central).")

StateDir = Annotated[
    Path | None,
    typer.Option(help="State folder (STREAMMESH_BROKER_STATE_DIR)."),
]


def _broker(
    state_dir: Path | None,
    port: int | None = None,
    controller_port: int | None = None,
    security: BrokerSecurity | None = None,
) -> LocalBroker:
    # Options given on the command line win over STREAMMESH_BROKER_* variables.
    given = {
        "state_dir": state_dir,
        "port": port,
        "controller_port": controller_port,
        "security": security,
    }
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    return LocalBroker(BrokerSettings(**overrides))


@broker_app.command()
def start(
    port: Annotated[int | None, typer.Option(help="Client port; 0 = a free one.")] = None,
    controller_port: Annotated[int | None, typer.Option(help="Controller port.")] = None,
    state_dir: StateDir = None,
    security: Annotated[
        BrokerSecurity | None,
        typer.Option(
            help="plaintext (no authentication, no ACLs), sasl_plaintext or sasl_ssl "
            "(SCRAM + ACLs); STREAMMESH_BROKER_SECURITY, default plaintext."
        ),
    ] = None,
    output: OutputFormat = OutputOption,
) -> None:
    """Start the broker (fetching Kafka's jars once) and wait until it answers."""
    broker = _broker(state_dir, port, controller_port, security)
    was_running = broker.status().running
    try:
        if not was_running and not broker.jars_cached():
            typer.echo(
                f"Fetching Apache Kafka {broker.settings.kafka_version} from Maven ...", err=True
            )
        started = time.monotonic()
        status = broker.start()
    except BrokerError as error:
        fail(error)
    if output is OutputFormat.json:
        emit_json(broker.status_dict())
        return
    verb = "already running" if was_running else f"started in {time.monotonic() - started:.1f}s"
    typer.echo(f"Kafka {verb}: bootstrap servers {status.bootstrap_servers} (pid {status.pid})")
    if status.security in (None, BrokerSecurity.PLAINTEXT):
        typer.secho(f"warning: {PLAINTEXT_WARNING}", err=True, fg=typer.colors.YELLOW, bold=True)
    typer.echo(f"export STREAMMESH_BOOTSTRAP_SERVERS={status.bootstrap_servers}")
    admin = broker.admin_security()
    if admin.security_protocol.sasl:
        # The admin's settings: the password stays in its file.
        typer.echo(f"export STREAMMESH_SECURITY_PROTOCOL={admin.security_protocol.value}")
        typer.echo(f"export STREAMMESH_SASL_USERNAME={admin.sasl_username}")
        typer.echo(f"export STREAMMESH_SASL_PASSWORD_FILE={admin.sasl_password_file}")
        if admin.ssl_ca_location is not None:
            typer.echo(f"export STREAMMESH_SSL_CA_LOCATION={admin.ssl_ca_location}")


@broker_app.command()
def stop(state_dir: StateDir = None) -> None:
    """Stop the broker cleanly (SIGTERM, then SIGKILL after the stop timeout)."""
    broker = _broker(state_dir)
    typer.echo("Kafka stopped." if broker.stop() else "Kafka was not running.")


@broker_app.command()
def status(state_dir: StateDir = None, output: OutputFormat = OutputOption) -> None:
    """Say whether the broker runs and on which ports (exit code 3 when stopped)."""
    broker = _broker(state_dir)
    current = broker.status()
    if output is OutputFormat.json:
        emit_json(broker.status_dict())
    elif current.running:
        security = (current.security or BrokerSecurity.PLAINTEXT).value
        typer.echo(
            f"running: pid {current.pid}, bootstrap servers {current.bootstrap_servers} "
            f"({security}), controller port {current.controller_port}, "
            f"state {current.state_dir}"
        )
    else:
        typer.echo(f"stopped (state {current.state_dir})")
    if not current.running:
        raise typer.Exit(ExitCode.NOT_RUNNING)


@broker_app.command()
def logs(
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines.")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing.")] = False,
    state_dir: StateDir = None,
) -> None:
    """Print the broker's log."""
    broker = _broker(state_dir)
    if not broker.log_file.exists():
        fail(f"no log at {broker.log_file}: the broker never started here")
    text = broker.log_file.read_text(errors="replace").splitlines()
    typer.echo("\n".join(text[-lines:]))
    if follow:
        with broker.log_file.open(errors="replace") as handle:
            handle.seek(0, 2)
            while True:
                line = handle.readline()
                if line:
                    typer.echo(line, nl=False)
                else:
                    time.sleep(0.2)
