"""apply_topics makes a descriptor's topic and dead-letter topic exist as it says, idempotently,
and refuses unsafe changes (shrinking, delete<->compact) without touching anything."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AdminClient

from streammesh.products.descriptor import CleanupPolicy
from streammesh.products.loader import load_descriptor
from streammesh.sdk import Mesh, TopicChangeRefused, apply_topics, dlq_topic
from streammesh.sdk.topics import ChangeKind, describe_topics
from tests.integration.sdk.workspace import Workspace

pytestmark = pytest.mark.integration


def test_apply_creates_then_changes_nothing_then_alters_and_refuses(
    admin: AdminClient, workspace: Workspace
) -> None:
    descriptor = load_descriptor(workspace.descriptor("sales/products/orders.yaml"))
    topic = descriptor.topic.name

    first = apply_topics(admin, descriptor)
    assert [c.kind for c in first.changes] == [ChangeKind.CREATE, ChangeKind.CREATE]
    states = describe_topics(admin, [topic, dlq_topic(topic)])
    product, dlq = states[topic], states[dlq_topic(topic)]
    assert product is not None
    assert dlq is not None
    assert product.partitions == 6
    assert dict(product.config) == {"cleanup.policy": "delete", "retention.ms": "7776000000"}
    assert dlq.config["cleanup.policy"] == "delete"

    assert apply_topics(admin, descriptor).empty  # a second apply changes nothing

    week = descriptor.topic.model_copy(update={"retention": "infinite"})
    longer = descriptor.model_copy(update={"topic": week})
    dry = apply_topics(admin, longer, dry_run=True)
    assert str(dry.changes[0]) == (f"alter retention.ms of {topic} from 7776000000 to -1")
    assert describe_topics(admin, [topic])[topic] == product  # dry run: unchanged
    apply_topics(admin, longer)
    after = describe_topics(admin, [topic])[topic]
    assert after is not None
    assert after.config["retention.ms"] == "-1"

    fewer = descriptor.model_copy(
        update={"topic": descriptor.topic.model_copy(update={"partitions": 3})}
    )
    with pytest.raises(TopicChangeRefused, match="cannot remove partitions"):
        apply_topics(admin, fewer)
    compact = descriptor.model_copy(
        update={
            "topic": descriptor.topic.model_copy(update={"cleanup_policy": CleanupPolicy.COMPACT})
        }
    )
    with pytest.raises(TopicChangeRefused, match="switching between delete and compact"):
        apply_topics(admin, compact)

    more = descriptor.model_copy(
        update={"topic": descriptor.topic.model_copy(update={"partitions": 8})}
    )
    with pytest.raises(TopicChangeRefused, match="--grow-partitions"):
        apply_topics(admin, more)
    grown = apply_topics(admin, more, grow_partitions=True)
    assert {c.kind for c in grown.changes} == {ChangeKind.ADD_PARTITIONS, ChangeKind.ALTER_CONFIG}
    grown_state = describe_topics(admin, [topic])[topic]
    assert grown_state is not None
    assert grown_state.partitions == 8


def test_mesh_applies_a_compacted_product(mesh: Mesh, workspace: Workspace) -> None:
    descriptor = load_descriptor(workspace.descriptor("customers/products/profiles.yaml"))
    mesh.apply_topics(descriptor)
    state = describe_topics(mesh.admin, [descriptor.topic.name])[descriptor.topic.name]
    assert state is not None
    assert dict(state.config) == {"cleanup.policy": "compact", "retention.ms": "-1"}
