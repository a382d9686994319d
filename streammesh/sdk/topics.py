"""Topics from descriptors: a pure plan (what to create or change, what to refuse), then apply.

Kafka can add partitions but never remove them, and switching a topic between `delete` and
`compact` changes what the topic *means* to every consumer (a log of events or a table of the
latest value per key), so both are refused rather than applied. Growing partitions moves keys
to other partitions, breaking per-key order across the change, so it happens only when asked.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
    TopicMetadata,
)

from streammesh.deadletter import dlq_config, dlq_topic
from streammesh.products.descriptor import Descriptor
from streammesh.sdk.errors import SdkError, TopicChangeRefused, TopicsNotReadyError

#: The topic configs a descriptor decides; every other config is left as it is.
MANAGED_CONFIGS = ("cleanup.policy", "retention.ms")


@dataclass(frozen=True)
class TopicSpec:
    """What a topic should look like."""

    name: str
    partitions: int
    config: Mapping[str, str]


@dataclass(frozen=True)
class TopicState:
    """What a topic looks like now (only the managed configs)."""

    name: str
    partitions: int
    config: Mapping[str, str]


class ChangeKind(StrEnum):
    CREATE = "create_topic"
    ALTER_CONFIG = "alter_config"
    ADD_PARTITIONS = "add_partitions"


@dataclass(frozen=True)
class TopicChange:
    """One change to make: create a topic, set one config, or grow partitions."""

    kind: ChangeKind
    topic: str
    key: str | None = None
    old: str | None = None
    new: str | None = None
    spec: TopicSpec | None = None

    def __str__(self) -> str:
        if self.kind is ChangeKind.CREATE:
            assert self.spec is not None  # every CREATE carries its spec
            configs = ", ".join(f"{k}={v}" for k, v in sorted(self.spec.config.items()))
            return f"create topic {self.topic} ({self.spec.partitions} partitions, {configs})"
        if self.kind is ChangeKind.ALTER_CONFIG:
            return f"alter {self.key} of {self.topic} from {self.old} to {self.new}"
        return f"grow {self.topic} from {self.old} to {self.new} partitions"


@dataclass(frozen=True)
class TopicPlan:
    """The changes that bring a product's topics in line with its descriptor, and the
    changes that were asked for but are refused (then nothing is applied)."""

    changes: tuple[TopicChange, ...] = ()
    refusals: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.changes and not self.refusals


def topic_specs(descriptor: Descriptor) -> list[TopicSpec]:
    """The product topic and its dead-letter topic, as the descriptor wants them."""
    topic = descriptor.topic
    product = TopicSpec(
        topic.name,
        topic.partitions,
        {"cleanup.policy": topic.cleanup_policy.value, "retention.ms": str(topic.retention_ms)},
    )
    return [product, dlq_spec(topic.name, topic.partitions, product.config)]


def dlq_spec(topic: str, partitions: int, config: Mapping[str, str]) -> TopicSpec:
    """The dead-letter topic of `topic`, a topic with `partitions` and `config`: as many
    partitions, and the configs of `streammesh.deadletter.dlq_config`."""
    return TopicSpec(
        dlq_topic(topic),
        partitions,
        dlq_config(config.get("cleanup.policy", "delete"), int(config.get("retention.ms", -1))),
    )


def plan_topic(
    spec: TopicSpec, current: TopicState | None, *, grow_partitions: bool = False
) -> TopicPlan:
    """The changes from `current` (None: the topic does not exist) to `spec`."""
    if current is None:
        return TopicPlan((TopicChange(ChangeKind.CREATE, spec.name, spec=spec),))
    changes: list[TopicChange] = []
    refusals: list[str] = []
    if spec.partitions < current.partitions:
        refusals.append(
            f"{spec.name} has {current.partitions} partitions and the descriptor asks for "
            f"{spec.partitions}: Kafka cannot remove partitions (create a new major instead)"
        )
    elif spec.partitions > current.partitions:
        if grow_partitions:
            changes.append(
                TopicChange(
                    ChangeKind.ADD_PARTITIONS,
                    spec.name,
                    old=str(current.partitions),
                    new=str(spec.partitions),
                )
            )
        else:
            refusals.append(
                f"{spec.name} would grow from {current.partitions} to {spec.partitions} "
                "partitions, which moves keys to other partitions: pass --grow-partitions "
                "(grow_partitions=True) to do it"
            )
    for key, wanted in sorted(spec.config.items()):
        have = current.config.get(key)
        if have == wanted:
            continue
        if key == "cleanup.policy" and have is not None:
            refusals.append(
                f"{spec.name} has cleanup.policy={have} and the descriptor asks for {wanted}: "
                "switching between delete and compact changes what the topic means to its "
                "consumers (create a new major instead)"
            )
            continue
        changes.append(TopicChange(ChangeKind.ALTER_CONFIG, spec.name, key, have, wanted))
    return TopicPlan(tuple(changes), tuple(refusals))


def plan_topics(
    specs: Iterable[TopicSpec],
    current: Mapping[str, TopicState | None],
    *,
    grow_partitions: bool = False,
) -> TopicPlan:
    """The combined plan of several topics."""
    changes: list[TopicChange] = []
    refusals: list[str] = []
    for spec in specs:
        plan = plan_topic(spec, current.get(spec.name), grow_partitions=grow_partitions)
        changes.extend(plan.changes)
        refusals.extend(plan.refusals)
    return TopicPlan(tuple(changes), tuple(refusals))


def describe_topics(
    admin: AdminClient, names: Iterable[str], timeout: float = 30.0
) -> dict[str, TopicState | None]:
    """The current state of each topic, None for a topic that does not exist."""
    names = list(names)
    metadata = admin.list_topics(timeout=timeout).topics
    states: dict[str, TopicState | None] = {}
    existing = [n for n in names if n in metadata and metadata[n].error is None]
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in existing]
    futures = admin.describe_configs(resources, request_timeout=timeout) if resources else {}
    for resource, future in futures.items():
        entries: dict[str, ConfigEntry] = future.result(timeout=timeout)
        config = {key: str(entries[key].value) for key in MANAGED_CONFIGS if key in entries}
        name = resource.name
        states[name] = TopicState(name, len(metadata[name].partitions), config)
    for name in names:
        states.setdefault(name, None)
    return states


def execute_plan(
    admin: AdminClient, plan: TopicPlan, *, replication_factor: int = -1, timeout: float = 30.0
) -> None:
    """Make the plan's changes; refuses the whole plan if it has refusals."""
    if plan.refusals:
        raise TopicChangeRefused(plan.changes[0].topic if plan.changes else "", plan.refusals)
    creates = [c.spec for c in plan.changes if c.kind is ChangeKind.CREATE and c.spec]
    alters: dict[str, list[ConfigEntry]] = {}
    grows: list[NewPartitions] = []
    for change in plan.changes:
        if change.kind is ChangeKind.ALTER_CONFIG and change.key is not None:
            entry = ConfigEntry(change.key, change.new, incremental_operation=AlterConfigOpType.SET)
            alters.setdefault(change.topic, []).append(entry)
        elif change.kind is ChangeKind.ADD_PARTITIONS and change.new is not None:
            grows.append(NewPartitions(change.topic, int(change.new)))
    try:
        if creates:
            new = [
                NewTopic(s.name, s.partitions, replication_factor, config=dict(s.config))
                for s in creates
            ]
            for future in admin.create_topics(new, operation_timeout=timeout).values():
                future.result(timeout=timeout)
            _await_leaders(admin, [s.name for s in creates], timeout)
        if alters:
            resources = [
                ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
                for topic, entries in alters.items()
            ]
            for future in admin.incremental_alter_configs(resources).values():
                future.result(timeout=timeout)
        if grows:
            for future in admin.create_partitions(grows, operation_timeout=timeout).values():
                future.result(timeout=timeout)
    except KafkaException as exc:
        raise SdkError(f"Kafka refused a topic change: {exc.args[0]}") from exc


def apply_topics(
    admin: AdminClient,
    descriptor: Descriptor,
    *,
    grow_partitions: bool = False,
    dry_run: bool = False,
    timeout: float = 30.0,
) -> TopicPlan:
    """Create or update the product topic and `<topic>.dlq` to match `descriptor`.

    Returns the plan (empty when nothing had to change). Raises `TopicChangeRefused`, having
    changed nothing, if the plan shrinks partitions, switches the cleanup policy, or grows
    partitions without `grow_partitions`. With `dry_run` it only plans.
    """
    specs = topic_specs(descriptor)
    current = describe_topics(admin, [s.name for s in specs], timeout)
    plan = plan_topics(specs, current, grow_partitions=grow_partitions)
    if plan.refusals:
        raise TopicChangeRefused(descriptor.topic.name, plan.refusals)
    if not dry_run and plan.changes:
        execute_plan(admin, plan, timeout=timeout)
        _await_applied(admin, specs, grow_partitions, timeout)
    return plan


def ensure_topics(
    admin: AdminClient,
    specs: Iterable[TopicSpec],
    *,
    replication_factor: int = -1,
    timeout: float = 30.0,
) -> list[str]:
    """Create the topics of `specs` that do not exist yet, and wait for their leaders; returns
    the names created. Existing topics are left as they are (`apply_topics` changes those).

    Several processes may ensure the same topics at once (two workers starting together):
    a topic another one created in between counts as there. Raises `TopicsNotReadyError` when
    a topic has no leader within `timeout`, `SdkError` when Kafka refuses.
    """
    specs = list(specs)
    created: list[str] = []
    try:
        current = describe_topics(admin, [s.name for s in specs], timeout)
        missing = [s for s in specs if current[s.name] is None]
        new = [
            NewTopic(s.name, s.partitions, replication_factor, config=dict(s.config))
            for s in missing
        ]
        futures = admin.create_topics(new, operation_timeout=timeout) if new else {}
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
                created.append(name)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    except KafkaException as exc:
        raise SdkError(f"Kafka refused to describe or create a topic: {exc.args[0]}") from exc
    # A worker that subscribes before the metadata shows leaders ignores the topic for good;
    # a topic another process has just created may not have them yet either.
    _await_leaders(admin, [s.name for s in specs], timeout)
    return created


def _await_applied(
    admin: AdminClient, specs: list[TopicSpec], grow_partitions: bool, timeout: float
) -> None:
    # The broker applies altered configs a moment after AlterConfigs returns: wait until a
    # describe shows them, so the next apply (or a reader) sees what this one did.
    deadline = time.monotonic() + timeout
    while True:
        current = describe_topics(admin, [s.name for s in specs], timeout)
        if not plan_topics(specs, current, grow_partitions=grow_partitions).changes:
            return
        if time.monotonic() > deadline:
            raise TopicsNotReadyError(f"topic changes not visible after {timeout:g}s")
        time.sleep(0.1)


def has_leaders(metadata: TopicMetadata) -> bool:
    """Whether every partition of a topic has a leader (a topic with none has no partitions)."""
    partitions = metadata.partitions.values()
    return bool(partitions) and all(p.leader >= 0 for p in partitions)


def _await_leaders(admin: AdminClient, names: list[str], timeout: float) -> None:
    # A created topic shows up in metadata, with leaders, a little after CreateTopics returns.
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        topics = admin.list_topics(timeout=timeout).topics
        for name in list(pending):
            meta = topics.get(name)
            if meta is not None and meta.error is None and has_leaders(meta):
                pending.discard(name)
        if pending and time.monotonic() > deadline:
            raise TopicsNotReadyError(
                f"topics {', '.join(sorted(pending))} have no leader after {timeout:g}s"
            )
        if pending:
            time.sleep(0.05)
