"""SLO rules come from the descriptors; the checked-in files are what the generator makes, and
promtool accepts the rules and proves each burn-rate alert fires and stays quiet as it should."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from services.quality_monitor.slo import (
    ALERT_NAMES,
    WINDOWS,
    Objective,
    duration,
    objectives,
    render_alert_tests,
    render_rules,
    rules,
)
from streammesh.cli import app
from streammesh.products.loader import iter_descriptor_files, load_descriptor

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy/prometheus/rules/slo.yml"
TESTS = ROOT / "deploy/prometheus/tests/slo_test.yml"


def shipped() -> list[Objective]:
    return objectives(load_descriptor(p) for p in iter_descriptor_files(ROOT))


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: apt-get install prometheus (make test does)")
    return found


def test_durations() -> None:
    assert duration(timedelta(hours=1)) == "1h"
    assert duration(timedelta(days=28)) == "28d"
    assert duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert duration(timedelta(seconds=90)) == "1m30s"
    with pytest.raises(ValueError, match="positive"):
        duration(timedelta(0))


def test_every_slo_of_every_shipped_product_becomes_an_objective() -> None:
    found = {(o.product, o.slo): o for o in shipped()}
    assert len(found) == 12
    orders = found[("sales.orders.v1", "completeness")]
    assert (orders.ratio, orders.window, orders.budget) == (0.999, timedelta(days=1), 0.001)
    assert found[("sales.orders.v1", "freshness")].ratio == 0.99
    assert found[("sales.orders.v1", "availability")].budget == 0.005
    custom = objectives([load_descriptor(ROOT / "domains/sales/products/orders.yaml")], 0.9)
    assert [o.ratio for o in custom if o.slo == "freshness"] == [0.9]


def test_four_burn_rate_alerts_per_slo_with_the_workbook_windows() -> None:
    objective = Objective("a.b.v1", "completeness", 0.999, timedelta(days=28))
    groups = rules([objective])["groups"]
    alerts = [r for r in groups[1]["rules"] if "alert" in r]
    assert [
        (a["labels"]["long_window"], a["labels"]["short_window"], a["labels"]["burn_rate"])
        for a in alerts
    ] == [("1h", "5m", "14.4"), ("6h", "30m", "6"), ("1d", "2h", "3"), ("3d", "6h", "1")]
    assert [a["labels"]["severity"] for a in alerts] == ["page", "page", "ticket", "ticket"]
    assert {a["alert"] for a in alerts} == {ALERT_NAMES["completeness"]}
    assert alerts[0]["expr"] == (
        'streammesh:completeness_errors:ratio_rate1h{product="a.b.v1"} > (14.4 * 0.001)\n'
        "and\n"
        'streammesh:completeness_errors:ratio_rate5m{product="a.b.v1"} > (14.4 * 0.001)'
    )
    recorded = {r["record"] for r in groups[0]["rules"]}
    for window in WINDOWS:
        for sli in ALERT_NAMES:
            assert f"streammesh:{sli}_errors:ratio_rate{window.long}" in recorded
            assert f"streammesh:{sli}_errors:ratio_rate{window.short}" in recorded


def test_the_checked_in_rules_and_alert_tests_are_up_to_date() -> None:
    regenerate = "run: streammesh slo rules --out deploy/prometheus/rules/slo.yml"
    assert RULES.read_text() == render_rules(shipped()), regenerate
    assert TESTS.read_text() == render_alert_tests(shipped(), "../rules/slo.yml"), (
        "run: streammesh slo tests --out deploy/prometheus/tests/slo_test.yml"
    )


def test_the_cli_writes_the_same_rules(tmp_path: Path) -> None:
    out = tmp_path / "slo.yml"
    result = CliRunner().invoke(app, ["slo", "rules", "--root", str(ROOT), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == RULES.read_text()
    shown = CliRunner().invoke(app, ["slo", "rules", "--root", str(ROOT)])
    assert shown.exit_code == 0
    assert yaml.safe_load(shown.stdout) == yaml.safe_load(RULES.read_text())


def test_promtool_accepts_the_rules_and_the_config() -> None:
    checked = subprocess.run(
        [promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = subprocess.run(
        [promtool(), "check", "config", str(ROOT / "deploy/prometheus/prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert config.returncode == 0, config.stdout + config.stderr


@pytest.mark.slow
def test_promtool_unit_tests_fire_and_silence_every_alert() -> None:
    tests = sorted((ROOT / "deploy/prometheus/tests").glob("*.yml"))
    assert TESTS in tests
    result = subprocess.run(
        [promtool(), "test", "rules", *map(str, tests)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
