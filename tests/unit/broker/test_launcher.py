"""The launcher refuses to start with a clear, actionable message whenever a prerequisite fails."""

from __future__ import annotations

import base64
import socket
import stat
from pathlib import Path

import pytest

from streammesh.broker import BrokerSettings, LocalBroker
from streammesh.broker.errors import (
    JavaNotFoundError,
    JavaTooOldError,
    MavenNotFoundError,
    MavenUnreachableError,
    PortInUseError,
)
from streammesh.broker.launcher import new_cluster_id


def fake_tool(folder: Path, name: str, body: str) -> str:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def broker(tmp_path: Path, **fields: object) -> LocalBroker:
    settings = BrokerSettings.model_validate(
        {"state_dir": tmp_path / "state", "cache_dir": tmp_path / "cache", **fields}
    )
    return LocalBroker(settings)


def test_cluster_ids_are_kafka_shaped() -> None:
    for _ in range(200):
        cid = new_cluster_id()
        assert len(cid) == 22
        assert not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_missing_java_names_the_fix_and_the_alternative(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError, match="STREAMMESH_BOOTSTRAP_SERVERS"):
        broker(tmp_path, java="no-such-java").check_java()


@pytest.mark.parametrize(
    ("banner", "major"),
    [('openjdk version "11.0.2" 2019-01-15', 11), ('java version "1.8.0_402"', 8)],
)
def test_old_java_is_refused(tmp_path: Path, banner: str, major: int) -> None:
    java = fake_tool(tmp_path, "java", f"echo '{banner}' >&2")
    with pytest.raises(JavaTooOldError, match=f"Java {major};.*needs Java 17"):
        broker(tmp_path, java=java).check_java()


def test_java_17_is_accepted(tmp_path: Path) -> None:
    java = fake_tool(tmp_path, "java", "echo 'openjdk version \"17.0.15\" 2025-04-15' >&2")
    assert broker(tmp_path, java=java).check_java() == java


def test_missing_maven_is_reported(tmp_path: Path) -> None:
    with pytest.raises(MavenNotFoundError, match="install Apache Maven"):
        broker(tmp_path, maven="no-such-mvn").resolve_jars()


def test_unreachable_maven_central_says_what_to_do(tmp_path: Path) -> None:
    mvn = fake_tool(
        tmp_path,
        "mvn",
        "echo '[ERROR] Failed to execute goal: Could not transfer artifact "
        "org.apache.kafka:kafka_2.13:pom:4.1.1 from/to central: Unknown host'; exit 1",
    )
    target = broker(tmp_path, maven=mvn)
    with pytest.raises(MavenUnreachableError, match="STREAMMESH_BOOTSTRAP_SERVERS"):
        target.resolve_jars()
    assert not target.jars_cached()  # a failed download never looks like a cache


def test_cached_jars_need_no_maven(tmp_path: Path) -> None:
    target = broker(tmp_path, maven="no-such-mvn")
    target.libs_dir.mkdir(parents=True)
    (target.libs_dir / ".complete").write_text("4.1.1")
    assert target.resolve_jars() == target.libs_dir


def test_taken_port_is_refused_before_java_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"127.0.0.1:{port} is taken"):
            broker(tmp_path, port=port, controller_port=0)._choose_ports()


def test_free_ports_are_reused_on_restart(tmp_path: Path) -> None:
    target = broker(tmp_path, port=0, controller_port=0)
    target.state_dir.mkdir(parents=True)
    first = target._choose_ports()
    target._write_config(*first, None, None)
    assert target._choose_ports() == first
    properties = target.config_file.read_text()
    assert f"listeners=PLAINTEXT://127.0.0.1:{first[0]},CONTROLLER://127.0.0.1:{first[1]}" in (
        properties
    )
    assert "offsets.topic.replication.factor=1" in properties


def test_status_of_a_never_started_broker(tmp_path: Path) -> None:
    status = broker(tmp_path).status()
    assert not status.running
    assert status.pid is None
    assert status.bootstrap_servers is None


def test_a_stale_pid_file_is_not_trusted(tmp_path: Path) -> None:
    target = broker(tmp_path)
    target.state_dir.mkdir(parents=True)
    target.pid_file.write_text("1")  # pid 1 is alive but is not our broker
    assert not target.status().running
    assert target.stop() is False
