"""Every bad record of a corpus reaches its product's DLQ once, untouched and with its cause;
no good one does; the metrics count the corpus; a SIGKILL loses nothing."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.quality_monitor.app import create_app
from services.quality_monitor.settings import MonitorSettings
from streammesh.broker.launcher import free_port
from streammesh.sdk.topics import describe_topics
from streammesh.testing.metrics import SampleKey, samples
from streammesh.testing.servers import serve_in_thread
from tests.integration.quality_monitor.conftest import (
    Coordinates,
    DeadLetter,
    Mesh,
    Sample,
    orders_corpus,
    profiles_corpus,
    publish,
    read_dead_letters,
    wait_until,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def settings_for(mesh: Mesh, group_id: str, **overrides: object) -> MonitorSettings:
    return MonitorSettings.model_validate(
        {
            "bootstrap_servers": mesh.bootstrap_servers,
            "registry_url": mesh.url,
            "group_id": group_id,
            "catalog_interval_seconds": 0.5,
            "poll_timeout_seconds": 0.2,
            **overrides,
        }
    )


def scrape(url: str) -> dict[SampleKey, float]:
    return samples(httpx.get(f"{url}/metrics", timeout=10).text)


def total(
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return sum(
        value
        for (metric, found), value in metrics.items()
        if metric == name and labels.items() <= dict(found).items()
    )


def is_ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def assert_dead_letters_match(
    letters: list[DeadLetter], landed: dict[Coordinates, Sample], exactly_once: bool
) -> None:
    bad = {coords: s for coords, s in landed.items() if s.reason is not None}
    sources = [letter.source for letter in letters]
    if exactly_once:
        assert sorted(sources) == sorted(bad)
    else:
        assert set(sources) == set(bad)  # at least once: duplicates allowed, nothing missing
    for letter in letters:
        sample = bad[letter.source]
        assert sample.reason is not None
        assert letter.header("__streammesh.reason") == sample.reason.value, sample
        assert letter.key == (sample.key or None)
        assert letter.value == sample.value
        assert letter.headers[: len(sample.headers)] == list(sample.headers)
        assert letter.header("__rule.topic") == sample.topic
        assert letter.header("__rule.exception")
        assert letter.header("__streammesh.source.timestamp") is not None
        if sample.rules:
            assert letter.header("__rule.name") == sample.rules[0]
            assert letter.header("__rule.mode") == "WRITE"
            assert letter.header("__streammesh.rules") == ",".join(sample.rules)
        else:
            assert letter.header("__rule.name") is None


def test_a_corpus_of_good_and_bad_records(mesh: Mesh, group_id: str) -> None:
    orders = mesh.product("sales/products/orders.yaml", partitions=2)
    registry = CollectorRegistry()
    with serve_in_thread(create_app(settings_for(mesh, group_id), registry=registry)) as url:
        wait_until(lambda: is_ready(url), what="the monitor to read the catalog")
        watched = httpx.get(f"{url}/products").json()
        assert [p["ref"] for p in watched] == [orders.ref]
        # A product registered while the monitor runs is followed without a restart.
        profiles = mesh.product("customers/products/profiles.yaml")
        wait_until(lambda: len(httpx.get(f"{url}/products").json()) == 2, what="the new product")
        corpus = orders_corpus(orders, profiles, good=60) + profiles_corpus(profiles, good=10)
        landed = publish(mesh.bootstrap_servers, corpus)
        expected_bad = sum(1 for s in corpus if s.reason is not None)
        letters = read_dead_letters(
            mesh.bootstrap_servers, [f"{orders.topic}.dlq", f"{profiles.topic}.dlq"], expected_bad
        )
        assert_dead_letters_match(letters, landed, exactly_once=True)
        # The monitor made each DLQ with the SDK's policy: the product's partitions, delete,
        # a finite retention.
        dlq = describe_topics(mesh.admin, [f"{orders.topic}.dlq"])[f"{orders.topic}.dlq"]
        assert dlq is not None
        assert dlq.partitions == 2
        assert dlq.config["cleanup.policy"] == "delete"
        assert int(dlq.config["retention.ms"]) > 0
        wait_until(lambda: is_ready(url), what="the monitor to catch up")

        metrics = scrape(url)
        for product in (orders, profiles):
            mine = [s for s in corpus if s.topic == product.topic]
            assert total(
                metrics, "streammesh_quality_records_checked_total", product=product.ref
            ) == len(mine)
            reasons = Counter(s.reason.value for s in mine if s.reason is not None)
            for reason, count in reasons.items():
                assert (
                    total(
                        metrics,
                        "streammesh_quality_records_failed_total",
                        product=product.ref,
                        reason=reason,
                    )
                    == count
                ), reason
            assert total(
                metrics, "streammesh_quality_records_failed_total", product=product.ref
            ) == sum(reasons.values())
            rules = Counter(rule for s in mine for rule in s.rules)
            for rule, count in rules.items():
                assert (
                    total(
                        metrics,
                        "streammesh_quality_rule_violations_total",
                        product=product.ref,
                        rule=rule,
                    )
                    == count
                ), rule
            assert total(
                metrics, "streammesh_quality_dead_letters_total", product=product.ref
            ) == sum(reasons.values())
            assert total(metrics, "streammesh_product_available", product=product.ref) == 1
            assert (
                total(metrics, "streammesh_quality_consumer_lag_records", product=product.ref) == 0
            )
            assert total(metrics, "streammesh_product_freshness_seconds", product=product.ref) < 600
        # Records that name the current version are counted under it; others under "unknown".
        assert (
            total(
                metrics, "streammesh_quality_records_checked_total", product=orders.ref, version="1"
            )
            == sum(1 for s in corpus if s.topic == orders.topic) - 3
        )
        assert total(metrics, "streammesh_monitor_ready") == 1
        statuses = {p["ref"]: p for p in httpx.get(f"{url}/products").json()}
        assert statuses[orders.ref]["failed"] == 9
        assert statuses[orders.ref]["dlqTopic"] == f"{orders.topic}.dlq"


@contextmanager
def monitor_process(
    settings: MonitorSettings, log: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    env = {
        **os.environ,
        **{
            f"STREAMMESH_MONITOR_{k.upper()}": str(v)
            for k, v in settings.model_dump().items()
            # nested settings (Kafka security) come from their own variables, inherited
            if v is not None and not isinstance(v, tuple | dict)
        },
    }
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.quality_monitor"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            yield process, f"http://{settings.host}:{settings.port}"
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def checked_so_far(url: str) -> int:
    try:
        return sum(p["checked"] for p in httpx.get(f"{url}/products", timeout=5).json())
    except httpx.HTTPError:
        return 0


@pytest.mark.slow
def test_nothing_is_missing_from_the_dlq_after_a_sigkill(
    mesh: Mesh, group_id: str, tmp_path: Path
) -> None:
    orders = mesh.product("sales/products/orders.yaml", partitions=2)
    other = mesh.product("customers/products/profiles.yaml")
    first = orders_corpus(orders, other, good=1500, tag="a-")
    second = orders_corpus(orders, other, good=1500, tag="b-")
    landed = publish(mesh.bootstrap_servers, first)
    # A short session: the killed instance's partitions move on after 6s, not 45s.
    settings = settings_for(
        mesh, group_id, port=free_port(), batch_size=20, session_timeout_seconds=6
    )
    log = tmp_path / "monitor.log"
    with monitor_process(settings, log) as (process, url):
        wait_until(lambda: checked_so_far(url) > 0, timeout=90, what="checking to start")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    landed |= publish(mesh.bootstrap_servers, second)
    with monitor_process(settings, log) as (_, url):
        try:
            wait_until(lambda: is_ready(url), timeout=120, what="the restarted monitor")
        except TimeoutError:
            print(log.read_text()[-5000:])  # the monitor's own account, for the failure report
            print(httpx.get(f"{url}/products").text, httpx.get(f"{url}/health").text)
            raise
        expected = sum(1 for s in landed.values() if s.reason is not None)
        letters = read_dead_letters(mesh.bootstrap_servers, [f"{orders.topic}.dlq"], expected)
    only_orders = {c: s for c, s in landed.items() if s.topic == orders.topic}
    assert_dead_letters_match(letters, only_orders, exactly_once=False)


@pytest.mark.slow
def test_two_workers_check_the_corpus_as_one_monitor(mesh: Mesh, group_id: str) -> None:
    orders = mesh.product("sales/products/orders.yaml", partitions=2)
    other = mesh.product("customers/products/profiles.yaml")
    corpus = orders_corpus(orders, other, good=200)
    settings = settings_for(mesh, group_id, workers=2)
    with serve_in_thread(create_app(settings, registry=CollectorRegistry())) as url:
        wait_until(lambda: is_ready(url), timeout=120, what="both workers to be ready")
        landed = publish(mesh.bootstrap_servers, corpus)
        expected_bad = sum(1 for s in corpus if s.reason is not None)
        letters = read_dead_letters(mesh.bootstrap_servers, [f"{orders.topic}.dlq"], expected_bad)
        only_orders = {c: s for c, s in landed.items() if s.topic == orders.topic}
        assert_dead_letters_match(letters, only_orders, exactly_once=True)
        # Each worker took one of the two partitions; together they checked every record.
        wait_until(lambda: checked_so_far(url) == len(corpus), what="every record counted")
        wait_until(lambda: is_ready(url), what="both workers to catch up")
        metrics = scrape(url)
        mine = [s for s in corpus if s.topic == orders.topic]
        assert total(
            metrics, "streammesh_quality_records_checked_total", product=orders.ref
        ) == len(mine)
        assert (
            total(metrics, "streammesh_quality_dead_letters_total", product=orders.ref)
            == expected_bad
        )
        assert total(
            metrics, "streammesh_quality_check_duration_seconds_count", product=orders.ref
        ) == len(mine)
        assert total(metrics, "streammesh_quality_consumer_lag_records", product=orders.ref) == 0
        assert total(metrics, "streammesh_monitor_ready") == 1
        (status,) = [p for p in httpx.get(f"{url}/products").json() if p["ref"] == orders.ref]
        assert status["failed"] == expected_bad


@pytest.mark.slow
def test_a_killed_worker_is_started_again_and_its_counts_are_kept(
    mesh: Mesh, group_id: str
) -> None:
    """A worker killed mid-corpus is started again by the service; its partitions are checked
    on (nothing missing from the DLQ) and the merged counters never go down."""
    orders = mesh.product("sales/products/orders.yaml", partitions=2)
    other = mesh.product("customers/products/profiles.yaml")
    first = orders_corpus(orders, other, good=300, tag="a-")
    second = orders_corpus(orders, other, good=300, tag="b-")
    settings = settings_for(mesh, group_id, workers=2, session_timeout_seconds=6)
    checked = "streammesh_quality_records_checked_total"
    with serve_in_thread(create_app(settings, registry=CollectorRegistry())) as url:
        wait_until(lambda: is_ready(url), timeout=120, what="both workers to be ready")
        landed = publish(mesh.bootstrap_servers, first)
        wait_until(lambda: checked_so_far(url) >= len(first), what="the first corpus checked")
        before = total(scrape(url), checked, product=orders.ref)
        (victim, *_) = [
            p for p in multiprocessing.active_children() if p.name.startswith("quality-monitor-")
        ]
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        wait_until(
            lambda: (
                victim.name in {p.name for p in multiprocessing.active_children()}
                and not victim.is_alive()
                and is_ready(url)
            ),
            timeout=120,
            what="the worker to be started again and catch up",
        )
        assert total(scrape(url), checked, product=orders.ref) >= before
        landed |= publish(mesh.bootstrap_servers, second)
        expected = sum(1 for s in landed.values() if s.reason is not None)
        letters = read_dead_letters(mesh.bootstrap_servers, [f"{orders.topic}.dlq"], expected)
        wait_until(lambda: is_ready(url), what="both workers to catch up")
        mine = sum(1 for s in landed.values() if s.topic == orders.topic)
        assert total(scrape(url), checked, product=orders.ref) >= mine  # at least once
    only_orders = {c: s for c, s in landed.items() if s.topic == orders.topic}
    assert_dead_letters_match(letters, only_orders, exactly_once=False)
