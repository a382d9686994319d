"""A topic plan creates what is missing, alters only changed configs, and refuses shrinking
partitions, switching the cleanup policy, and growing partitions unless asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from streammesh.deadletter import DEFAULT_RETENTION_MS
from streammesh.products import load_descriptor
from streammesh.products.descriptor import CleanupPolicy
from streammesh.sdk.topics import (
    ChangeKind,
    TopicSpec,
    TopicState,
    plan_topic,
    plan_topics,
    topic_specs,
)

ROOT = Path(__file__).resolve().parents[3]
SPEC = TopicSpec("d.p.v1", 6, {"cleanup.policy": "delete", "retention.ms": "1000"})


def state(partitions: int = 6, config: dict[str, str] | None = None) -> TopicState:
    base = {"cleanup.policy": "delete", "retention.ms": "1000"}
    return TopicState("d.p.v1", partitions, {**base, **(config or {})})


def test_missing_topic_is_created() -> None:
    plan = plan_topic(SPEC, None)
    assert [c.kind for c in plan.changes] == [ChangeKind.CREATE]
    assert str(plan.changes[0]) == (
        "create topic d.p.v1 (6 partitions, cleanup.policy=delete, retention.ms=1000)"
    )


def test_an_equal_topic_needs_nothing() -> None:
    assert plan_topic(SPEC, state()).empty


def test_a_changed_config_is_altered_from_old_to_new() -> None:
    plan = plan_topic(SPEC, state(config={"retention.ms": "5"}))
    assert [str(c) for c in plan.changes] == ["alter retention.ms of d.p.v1 from 5 to 1000"]
    assert plan.refusals == ()


def test_shrinking_and_cleanup_switch_are_refused() -> None:
    plan = plan_topic(SPEC, state(partitions=8, config={"cleanup.policy": "compact"}))
    assert plan.changes == ()
    assert len(plan.refusals) == 2
    assert "cannot remove partitions" in plan.refusals[0]
    assert "switching between delete and compact" in plan.refusals[1]


@pytest.mark.parametrize("grow", [False, True])
def test_growing_partitions_only_when_asked(grow: bool) -> None:
    plan = plan_topic(SPEC, state(partitions=3), grow_partitions=grow)
    if grow:
        assert [str(c) for c in plan.changes] == ["grow d.p.v1 from 3 to 6 partitions"]
    else:
        assert "--grow-partitions" in plan.refusals[0]


def test_specs_of_a_product_and_its_dead_letter_topic() -> None:
    orders = load_descriptor(ROOT / "domains/sales/products/orders.yaml")
    product, dlq = topic_specs(orders)
    assert (product.name, dlq.name) == ("sales.orders.v1", "sales.orders.v1.dlq")
    assert product.config == {"cleanup.policy": "delete", "retention.ms": str(90 * 86400000)}
    assert dlq.config["retention.ms"] == product.config["retention.ms"]
    profiles = load_descriptor(ROOT / "domains/customers/products/profiles.yaml")
    product, dlq = topic_specs(profiles)
    assert product.config["cleanup.policy"] == CleanupPolicy.COMPACT.value
    assert dlq.config == {
        "cleanup.policy": "delete",
        "retention.ms": str(DEFAULT_RETENTION_MS),
    }
    assert plan_topics([product, dlq], {}).changes[1].topic == "customers.profiles.v1.dlq"
