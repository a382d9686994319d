"""`streammesh broker` speaks to scripts: JSON output and exit codes they can rely on."""

import json
from pathlib import Path

from typer.testing import CliRunner

from streammesh.cli import app
from streammesh.cli.output import ExitCode

runner = CliRunner()


def test_status_of_a_stopped_broker_exits_3_with_json(tmp_path: Path) -> None:
    result = runner.invoke(app, ["broker", "status", "--state-dir", str(tmp_path), "-o", "json"])
    assert result.exit_code == ExitCode.NOT_RUNNING
    assert json.loads(result.stdout) == {
        "running": False,
        "pid": None,
        "port": None,
        "controller_port": None,
        "state_dir": str(tmp_path),
        "security": None,
        "bootstrap_servers": None,
    }


def test_start_error_is_one_line_on_stderr_with_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["broker", "start", "--state-dir", str(tmp_path), "--port", "0"],
        env={"STREAMMESH_BROKER_JAVA": "no-such-java"},
    )
    assert result.exit_code == ExitCode.ERROR
    assert "error: No 'no-such-java' on PATH" in result.stderr
    assert result.stdout == ""


def test_every_command_has_help() -> None:
    for command in (["--help"], ["broker", "--help"], ["broker", "start", "--help"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, command
        assert "Usage" in result.stdout
