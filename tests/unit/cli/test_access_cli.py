"""`streammesh access` refuses what it cannot mean before it reaches any broker: an operation
Kafka does not have, rotating the broker's own user or a user StreamMesh does not manage."""

from typer.testing import CliRunner

from streammesh.cli import app
from streammesh.cli.output import ExitCode

runner = CliRunner()


def test_every_access_command_has_help() -> None:
    for command in ("apply", "rotate", "check"):
        result = runner.invoke(app, ["access", command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.stdout


def test_an_unknown_operation_is_a_usage_error() -> None:
    result = runner.invoke(app, ["access", "check", "sales", "sales.orders.v1", "steal"])
    assert result.exit_code == ExitCode.USAGE
    assert "unknown operation 'steal'" in result.stderr


def test_the_admin_and_foreign_users_are_not_rotated() -> None:
    admin = runner.invoke(app, ["access", "rotate", "streammesh.admin"])
    assert admin.exit_code == ExitCode.USAGE
    assert "broker's own user" in admin.stderr
    foreign = runner.invoke(app, ["access", "rotate", "User:alice"])
    assert foreign.exit_code == ExitCode.USAGE
    assert "not a user StreamMesh manages" in foreign.stderr
