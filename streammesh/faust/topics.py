"""The topics a Faust processor needs before its worker starts.

Faust pitfall handled here: Faust creates its internal topics itself, but a worker that
subscribes or checks partition counts right after, while the metadata does not show them yet,
ignores the topic for good or crashes its agent with `PartitionsMismatch` (seen when two
workers start together). `ensure_internal_topics` creates them, and waits for their leaders,
before the worker starts; two workers doing so at once is fine.
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka.admin import AdminClient

from streammesh.sdk.topics import TopicSpec, ensure_topics
from streammesh.security import KafkaSecurity, kafka_client_config

#: A table's changelog is a table too: the latest record per key.
CHANGELOG_CONFIG = {"cleanup.policy": "compact"}


def changelog_topic(app_id: str, table: str) -> str:
    """The name of a table's changelog topic, as Faust names it."""
    return f"{app_id}-{table}-changelog"


def changelog_spec(app_id: str, table: str, partitions: int) -> TopicSpec:
    """A table's changelog topic: compacted, with as many partitions as the table."""
    return TopicSpec(changelog_topic(app_id, table), partitions, CHANGELOG_CONFIG)


def ensure_internal_topics(
    bootstrap_servers: str,
    specs: Iterable[TopicSpec],
    *,
    security: KafkaSecurity | None = None,
    replication_factor: int = -1,
    timeout: float = 30.0,
) -> list[str]:
    """Create the topics of `specs` that are missing and wait for their leaders, signed in as
    the processor (`security`; default: the `STREAMMESH_*` environment); returns the names
    created. Call it before the worker starts."""
    admin = AdminClient(kafka_client_config(bootstrap_servers, security))
    return ensure_topics(admin, specs, replication_factor=replication_factor, timeout=timeout)
