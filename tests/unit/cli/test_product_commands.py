"""Exit codes scripts rely on: 0 clean, 1 violations or failures, 2 usage; --help everywhere;
`check --offline` needs no registry and JSON output parses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streammesh.cli import app

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


@pytest.fixture(autouse=True)
def nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """No registry answers here: port 9 (discard) is closed."""
    monkeypatch.setenv("STREAMMESH_REGISTRY_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("STREAMMESH_BOOTSTRAP_SERVERS", "127.0.0.1:9")


@pytest.mark.parametrize(
    "command",
    [
        ["product"],
        ["product", "check"],
        ["product", "apply"],
        ["product", "list"],
        ["product", "show"],
        ["product", "lineage"],
        ["product", "deprecate"],
        ["product", "export"],
        ["publish"],
        ["tail"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_check_offline_passes_the_shipped_products() -> None:
    result = runner.invoke(
        app, ["product", "check", "--offline", "-o", "json", str(ROOT / "domains")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True
    assert len(report["results"]) == 4


def test_check_exit_1_on_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "orders.yaml"
    text = (ROOT / "domains/sales/products/orders.yaml").read_text()
    bad.write_text(text.replace("sales-platform@streammesh.example", "nobody"))
    result = runner.invoke(app, ["product", "check", "--offline", "--root", str(ROOT), str(bad)])
    assert result.exit_code == 1
    assert "ownership.contact" in result.output
    assert "team.contact" in result.output  # the whole message, never cut to the width


def test_a_configured_registry_that_does_not_answer_fails_check() -> None:
    result = runner.invoke(app, ["product", "check", str(ROOT / "domains")])
    assert result.exit_code == 1
    assert "unreachable" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["product", "check", "/no/such/path"],
        ["product", "show", "Not A Product"],
        ["product", "deprecate", "sales.orders", "--sunset", "soon", "--successor", "x.y.v2"],
        ["product", "export", "sales.orders", "--format", "csv"],
        ["publish", "sales.orders", "--file", "/no/such/file.jsonl"],
        ["tail", "sales.orders", "--from-time", "yesterday"],
        ["tail", "sales.orders", "--from-beginning", "--from-time", "0"],
        ["tail", "sales.orders", "--max", "0"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert runner.invoke(app, args).exit_code == 2


def test_an_unreachable_registry_is_a_failure_not_a_crash() -> None:
    result = runner.invoke(app, ["product", "list"])
    assert result.exit_code == 1
    assert "unreachable" in result.output
