"""Broker settings come from STREAMMESH_BROKER_* variables and refuse nonsense."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from streammesh.broker import BrokerSettings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STREAMMESH_BROKER_PORT", "19092")
    monkeypatch.setenv("STREAMMESH_BROKER_KAFKA_VERSION", "4.1.2")
    monkeypatch.setenv("STREAMMESH_BROKER_STATE_DIR", str(tmp_path))
    settings = BrokerSettings()
    assert (settings.port, settings.kafka_version, settings.state_dir) == (19092, "4.1.2", tmp_path)


def test_defaults_are_the_demo_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STREAMMESH_BROKER_PORT", "STREAMMESH_BROKER_CONTROLLER_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = BrokerSettings()
    assert (settings.port, settings.controller_port) == (9092, 9093)


@pytest.mark.parametrize(("field", "value"), [("port", 70000), ("heap", "lots")])
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, field: str, value: object) -> None:
    monkeypatch.setenv(f"STREAMMESH_BROKER_{field.upper()}", str(value))
    with pytest.raises(ValidationError):
        BrokerSettings()
