"""Output and exit-code conventions shared by every command."""

import enum
import json
import sys
from typing import NoReturn

import typer

from streammesh.errors import StreamMeshError


class OutputFormat(enum.StrEnum):
    human = "human"
    json = "json"


class ExitCode(enum.IntEnum):
    """Exit codes scripts can rely on."""

    OK = 0
    ERROR = 1  # the command failed; the message says why
    USAGE = 2  # bad arguments (typer's own)
    NOT_RUNNING = 3  # `status` of something that is stopped (as LSB init scripts)


OutputOption = typer.Option(OutputFormat.human, "--output", "-o", help="human or json.")


def emit_json(payload: object) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def fail(error: StreamMeshError | str, code: ExitCode = ExitCode.ERROR) -> NoReturn:
    typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)
