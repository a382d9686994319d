"""Registry instances as separate processes on one log: the leader dies or stalls, and no id is
ever bound twice, no acknowledged registration is lost, and every instance agrees afterwards.

Each instance is ``python -m services.registry``, so the tests can SIGKILL and SIGSTOP it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from confluent_kafka.admin import AdminClient

from streammesh.broker.launcher import free_port
from tests.conftest import RegistryFactory, ensure_registry_topic, unique_name

pytestmark = pytest.mark.integration

SESSION_MS = 6000  # the broker's smallest session timeout


@dataclass
class Instance:
    url: str
    process: subprocess.Popen[bytes]

    def health(self) -> dict[str, object]:
        answer: dict[str, object] = httpx.get(f"{self.url}/health", timeout=5).json()
        return answer


@contextmanager
def instance(bootstrap: str, topic: str, logs: Path) -> Iterator[Instance]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "STREAMMESH_REGISTRY_BOOTSTRAP_SERVERS": bootstrap,
        "STREAMMESH_REGISTRY_TOPIC": topic,
        "STREAMMESH_REGISTRY_PORT": str(port),
        "STREAMMESH_REGISTRY_ADVERTISED_URL": url,
        "STREAMMESH_REGISTRY_AUTH_ENABLED": "false",
        "STREAMMESH_REGISTRY_ELECTION_SESSION_TIMEOUT_MS": str(SESSION_MS),
        "STREAMMESH_REGISTRY_LOG_LEVEL": "info",
    }
    with (logs / f"registry-{port}.log").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.registry"], env=env, stdout=out, stderr=out
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None, f"the registry on {port} exited"
                assert time.monotonic() < deadline, f"the registry on {port} did not start"
                time.sleep(0.2)
            yield Instance(url, process)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)  # a paused one cannot handle SIGTERM
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def leader_of(instances: list[Instance], within: float = 30.0) -> Instance:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        leading = [i for i in instances if i.process.poll() is None and i.health()["leader"]]
        if len(leading) == 1:
            return leading[0]
        time.sleep(0.2)
    raise AssertionError("no single leader was elected")


def schema(n: int) -> str:
    fields = [{"name": f"f{n}", "type": "long"}]
    record = {"type": "record", "name": f"R{n}", "namespace": "failover", "fields": fields}
    return json.dumps(record)


@dataclass
class Load:
    """Clients registering distinct schemas through every instance, retrying what fails."""

    urls: list[str]
    total: int
    acknowledged: dict[int, int] = field(default_factory=dict)  # schema number -> id
    times: list[float] = field(default_factory=list)  # when each acknowledgement came
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, clients: int) -> None:
        threads = [threading.Thread(target=self._client, args=(c, clients)) for c in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _client(self, number: int, clients: int) -> None:
        with httpx.Client(timeout=30) as http:
            for n in range(number, self.total, clients):
                url = self.urls[n % len(self.urls)]
                for _attempt in range(100):
                    try:
                        answer = http.post(
                            f"{url}/subjects/failover-{n}/versions", json={"schema": schema(n)}
                        )
                    except httpx.HTTPError:
                        answer = None
                    if answer is not None and answer.status_code == 200:
                        with self.lock:
                            self.acknowledged[n] = answer.json()["id"]
                            self.times.append(time.monotonic())
                        break
                    with self.lock:
                        self.errors += 1
                    if answer is not None and answer.status_code < 500:
                        raise AssertionError(answer.text)
                    time.sleep(0.2)
                    url = self.urls[(self.urls.index(url) + 1) % len(self.urls)]


def mappings(url: str, numbers: list[int]) -> dict[int, tuple[int, str]]:
    """Schema number -> (id, schema text under that id), as ``url`` answers."""
    out: dict[int, tuple[int, str]] = {}
    with httpx.Client(base_url=url, timeout=30) as http:
        for n in numbers:
            version = http.get(f"/subjects/failover-{n}/versions/1").json()
            by_id = http.get(f"/schemas/ids/{version['id']}").json()
            out[n] = (version["id"], by_id["schema"])
    return out


def assert_agree(urls: list[str], acknowledged: dict[int, int]) -> None:
    numbers = sorted(acknowledged)
    seen = [mappings(url, numbers) for url in urls]
    for answer in seen[1:]:
        assert answer == seen[0]
    for n, schema_id in acknowledged.items():
        assert seen[0][n][0] == schema_id, f"schema {n} was acknowledged with another id"
        assert json.loads(seen[0][n][1]) == json.loads(schema(n))
    ids = [schema_id for schema_id, _ in seen[0].values()]
    assert len(set(ids)) == len(ids), "an id is bound to two schemas"


@pytest.fixture
def log_topic(admin: AdminClient, request: pytest.FixtureRequest) -> Iterator[str]:
    topic = unique_name(request, "_streammesh.schemas")
    ensure_registry_topic(admin, topic)
    yield topic
    admin.delete_topics([topic])[topic].result(timeout=30)


def test_the_leader_killed_under_load(
    bootstrap_servers: str,
    log_topic: str,
    registry_factory: RegistryFactory,
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        instances = [
            stack.enter_context(instance(bootstrap_servers, log_topic, tmp_path)) for _ in range(3)
        ]
        leader = leader_of(instances)
        load = Load([i.url for i in instances], total=1000)
        loader = threading.Thread(target=load.run, args=(8,))
        loader.start()
        while len(load.acknowledged) < 300:
            assert loader.is_alive()
            time.sleep(0.01)
        killed_at = time.monotonic()
        leader.process.kill()
        loader.join()
        survivors = [i for i in instances if i is not leader]
        assert len(load.acknowledged) == load.total
        resumed = min(t for t in load.times if t > killed_at + 0.5) - killed_at
        print(f"writes resumed {resumed:.1f} s after the leader was killed")
        assert resumed < 10
        assert leader_of(survivors) in survivors
        # a fresh instance replaying the log agrees with the survivors on every mapping
        fresh = registry_factory(topic=log_topic, leader_eligible=False)
        assert_agree([*(i.url for i in survivors), fresh], load.acknowledged)


def test_a_paused_leader_cannot_write_when_it_comes_back(
    bootstrap_servers: str,
    log_topic: str,
    registry_factory: RegistryFactory,
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        first = stack.enter_context(instance(bootstrap_servers, log_topic, tmp_path))
        assert leader_of([first]) is first
        second = stack.enter_context(instance(bootstrap_servers, log_topic, tmp_path))
        before = Load([first.url], total=20)
        before.run(1)

        os.kill(first.process.pid, signal.SIGSTOP)
        try:
            assert leader_of([second], within=SESSION_MS / 1000 * 4) is second
            after = Load([second.url], total=40)
            after.acknowledged = dict(before.acknowledged)
            after.run(1)  # schemas 0..19 again (same ids) and 20..39, new
            # a write sent to the stalled old leader waits in its socket until it resumes
            in_flight: dict[str, httpx.Response] = {}
            sender = threading.Thread(
                target=lambda: in_flight.update(
                    answer=httpx.post(
                        f"{first.url}/subjects/failover-40/versions",
                        json={"schema": schema(40)},
                        timeout=60,
                    )
                )
            )
            sender.start()
            time.sleep(0.5)
        finally:
            os.kill(first.process.pid, signal.SIGCONT)
        sender.join()
        answer = in_flight["answer"]
        # refused (it no longer leads) or forwarded to the new leader; never its own write
        assert answer.status_code in (200, 500), answer.text
        if answer.status_code == 200:
            after.acknowledged[40] = answer.json()["id"]
        else:
            assert answer.json()["error_code"] in (50003, 50004), answer.text
        assert second.health()["leader"]
        fresh = registry_factory(topic=log_topic, leader_eligible=False)
        # the resumed instance catches up and agrees with the leader and a fresh replay
        deadline = time.monotonic() + 30
        while first.health()["log_position"] != second.health()["log_position"]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert_agree([first.url, second.url, fresh], after.acknowledged)
