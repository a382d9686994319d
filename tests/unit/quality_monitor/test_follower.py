"""A read of the catalog decides what the monitor watches and subscribes to: every active
product is watched, only those whose topic exists are subscribed to, and a product read again
with the same value subject keeps what the monitor has seen of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from prometheus_client import CollectorRegistry

from services.quality_monitor.follower import CatalogFollower, CatalogRead
from services.quality_monitor.metrics import MonitorMetrics
from services.quality_monitor.settings import MonitorSettings
from tests.unit.quality_monitor.samples import ORDERS, PROFILES, public


@pytest.fixture
def follower() -> Iterator[CatalogFollower]:
    metrics = MonitorMetrics(CollectorRegistry())
    yield CatalogFollower(MonitorSettings(), metrics)
    metrics.close()


@pytest.fixture
def registry() -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": "http://127.0.0.1:9"})  # never asked: nothing resolves


def test_only_products_whose_topic_exists_are_subscribed_to(
    follower: CatalogFollower, registry: SchemaRegistryClient
) -> None:
    orders, profiles = public(ORDERS), public(PROFILES)
    read = CatalogRead(
        products=(profiles, orders),
        existing=frozenset({orders.topic, "other"}),
        readable=frozenset({orders.topic}),
        probed={orders.value_subject: True, profiles.value_subject: True},
    )
    assert follower.apply(read, registry) == (orders.topic,)
    assert follower.read_once
    watched = follower.watched
    assert sorted(watched) == sorted([orders.topic, profiles.topic])
    assert (watched[orders.topic].subscribed, watched[orders.topic].available) == (True, True)
    assert (watched[profiles.topic].subscribed, watched[profiles.topic].available) == (
        False,
        False,
    )
    assert follower.recorder_of(orders.ref) is watched[orders.topic].recorder
    assert follower.recorder_of("gone") is None


def test_a_product_read_again_keeps_what_was_seen_of_it(
    follower: CatalogFollower, registry: SchemaRegistryClient
) -> None:
    first = public(ORDERS)
    read = CatalogRead((first,), frozenset({first.topic}), frozenset({first.topic}), {})
    follower.apply(read, registry)
    seen = follower.watched[first.topic]
    seen.checked = 7
    newer = public(ORDERS, version=2)
    follower.apply(CatalogRead((newer,), read.existing, read.readable, {}), registry)
    assert follower.watched[first.topic] is seen
    assert (seen.product.value_version, seen.checked) == (2, 7)
    assert seen.available is False  # its subject could not be read this time
    # A product that left the catalog is no longer watched, nor subscribed to.
    assert follower.apply(CatalogRead((), read.existing, read.readable, {}), registry) == ()
    assert follower.watched == {}
