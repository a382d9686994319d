"""The ACLs the mesh needs, computed from its descriptors: a pure function and a pure diff.

Each rule of the tables below says who gets which operations on which resource, and why; the
descriptors fill in the names. A product that is not retired grants its owner the writes of its
topic and dead-letter topic, the domain's consumer groups and transactional ids (by the prefix
`<domain>.`) and its stream processors' groups and internal topics (by the prefix `<domain>-`),
the monitor the reads of its topic and the writes of its dead letters, and its owner the read of
each input port it declares. The platform's own rules (the registry's log, the monitor's group)
hold whatever the descriptors say. Everything else is denied, as the broker runs with
`allow.everyone.if.no.acl.found=false`.

A stream processor is named `<domain>-<processor>` (Faust's app id, Kafka Streams'
`application.id`): its consumer group, and the prefix of the internal topics it creates
(changelogs, repartitions, Faust's leader topic). Governance keeps domain and product names to
lowercase snake_case, without a `-`, so that namespace is the domain's alone and never covers a
product topic: the owner still cannot read its own products, nor create their topics outside
`product apply`.

The diff compares the computed set with what the broker holds, for the principals StreamMesh
manages only (`principals.is_managed`): a binding of any other principal is never added or
removed, so ACLs written by hand for other users stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from streammesh.access.principals import (
    MONITOR_USER,
    REGISTRY_USER,
    domain_user,
    is_managed,
    principal,
)
from streammesh.deadletter import dlq_topic
from streammesh.products.descriptor import Descriptor, Status

#: The registry's log (`STREAMMESH_REGISTRY_TOPIC`'s default).
REGISTRY_TOPIC: Final = "_streammesh.schemas"
#: The consumer group every registry instance's log reader is named under (one each).
REGISTRY_READER_GROUPS: Final = "_streammesh.registry."
#: The quality monitor's consumer group (`STREAMMESH_MONITOR_GROUP_ID`'s default).
MONITOR_GROUP: Final = "_streammesh.quality-monitor"
#: Between a domain's name and a processor's in the processor's app id (see the module's note).
PROCESSOR_SEPARATOR: Final = "-"


def processor_prefix(domain: str) -> str:
    """What every app id, consumer group and internal topic of `domain`'s processors starts
    with, `<domain>-`."""
    return f"{domain}{PROCESSOR_SEPARATOR}"


class Resource(StrEnum):
    """Kafka's resource types StreamMesh grants on."""

    TOPIC = "topic"
    GROUP = "group"
    TRANSACTIONAL_ID = "transactional_id"
    CLUSTER = "cluster"


class Pattern(StrEnum):
    """How a binding's resource name matches: the name itself, or every name it starts."""

    LITERAL = "literal"
    PREFIXED = "prefixed"


class Operation(StrEnum):
    """Kafka's ACL operations."""

    ALL = "all"
    READ = "read"
    WRITE = "write"
    CREATE = "create"
    DELETE = "delete"
    ALTER = "alter"
    DESCRIBE = "describe"
    CLUSTER_ACTION = "cluster_action"
    DESCRIBE_CONFIGS = "describe_configs"
    ALTER_CONFIGS = "alter_configs"
    IDEMPOTENT_WRITE = "idempotent_write"


class Permission(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, order=True, slots=True)
class Acl:
    """One ACL binding. StreamMesh computes ALLOW bindings for any host; a binding read from
    the broker may be anything."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation
    permission: Permission = Permission.ALLOW
    host: str = "*"

    def __str__(self) -> str:
        where = f"{self.resource.value} {self.name}"
        if self.pattern is Pattern.PREFIXED:
            where = f"{self.resource.value}s prefixed {self.name}"
        host = "" if self.host == "*" else f" from {self.host}"
        return f"{self.principal} {self.permission.value} {self.operation.value} {where}{host}"


@dataclass(frozen=True, order=True, slots=True)
class Grant:
    """Why a binding is in the computed set: the product that asked for it (or `platform`)
    and the rule, in words."""

    source: str
    why: str

    def __str__(self) -> str:
        return f"{self.source}: {self.why}"


#: The computed set: each binding with every reason it is there.
AclSet = Mapping[Acl, tuple[Grant, ...]]


class Party(StrEnum):
    """Who a rule grants to."""

    OWNER = "owner"  # the domain owning the product (for an input port: the reading product's)
    REGISTRY = "registry"
    MONITOR = "monitor"


@dataclass(frozen=True, slots=True)
class Rule:
    """A line of a table: `party` may do `operations` on `resource` named `name`.

    `name` and `why` are templates over `{domain}`, `{processors}`, `{ref}`, `{topic}`, `{dlq}`,
    `{input}`, `{registry_topic}`, `{registry_readers}`, `{monitor_group}`.
    """

    party: Party
    resource: Resource
    name: str
    pattern: Pattern
    operations: tuple[Operation, ...]
    why: str


_READ = (Operation.READ, Operation.DESCRIBE)
_WRITE = (Operation.WRITE, Operation.DESCRIBE)
# What `streammesh.sdk.topics.ensure_topics` asks: the topic's configs, then its creation.
_ENSURE = (Operation.DESCRIBE_CONFIGS, Operation.CREATE)
# A processor's internal topics: made by it (or by Faust, seeing none), then read and written.
_INTERNAL = (Operation.READ, Operation.WRITE, Operation.DESCRIBE, *_ENSURE)

#: Granted by every product that is not retired.
PRODUCT_RULES: Final[tuple[Rule, ...]] = (
    Rule(Party.OWNER, Resource.TOPIC, "{topic}", Pattern.LITERAL, _WRITE,
         "its owner {domain} writes its topic"),
    Rule(Party.OWNER, Resource.TOPIC, "{dlq}", Pattern.LITERAL, (*_WRITE, *_ENSURE),
         "its owner {domain} writes its dead letters, and creates the topic when it is missing"),
    Rule(Party.OWNER, Resource.GROUP, "{domain}.", Pattern.PREFIXED, _READ,
         "its owner {domain} consumes in groups named {domain}.*"),
    Rule(Party.OWNER, Resource.TRANSACTIONAL_ID, "{domain}.", Pattern.PREFIXED, _WRITE,
         "its owner {domain} writes transactions with ids named {domain}.*"),
    Rule(Party.OWNER, Resource.GROUP, "{processors}", Pattern.PREFIXED, _READ,
         "its owner {domain} runs stream processors named {processors}*, each its own group"),
    Rule(Party.OWNER, Resource.TOPIC, "{processors}", Pattern.PREFIXED, _INTERNAL,
         "its owner {domain} creates, reads and writes its processors' internal topics, "
         "named {processors}*"),
    Rule(Party.MONITOR, Resource.TOPIC, "{topic}", Pattern.LITERAL, _READ,
         "the quality monitor checks every product topic"),
    Rule(Party.MONITOR, Resource.TOPIC, "{dlq}", Pattern.LITERAL, (*_WRITE, *_ENSURE),
         "the quality monitor writes every dead-letter topic and creates a missing one"),
    Rule(Party.REGISTRY, Resource.TOPIC, "{topic}", Pattern.LITERAL, (Operation.DESCRIBE,),
         "the registry names the consumer groups reading a product (impact reports)"),
)  # fmt: skip

#: Granted by each input port of a product that is not retired.
INPUT_RULES: Final[tuple[Rule, ...]] = (
    Rule(Party.OWNER, Resource.TOPIC, "{input}", Pattern.LITERAL, _READ,
         "declares the input port {input}, read by {domain}"),
)  # fmt: skip

#: Granted whatever the descriptors say: what the platform's services need to run.
PLATFORM_RULES: Final[tuple[Rule, ...]] = (
    Rule(Party.REGISTRY, Resource.TOPIC, "{registry_topic}", Pattern.LITERAL,
         (Operation.READ, Operation.WRITE, Operation.DESCRIBE, *_ENSURE),
         "the registry alone writes its log, and creates it when it is missing"),
    Rule(Party.REGISTRY, Resource.TRANSACTIONAL_ID, "{registry_topic}", Pattern.PREFIXED,
         _WRITE, "the registry's writer fences the one before with its transactional id"),
    Rule(Party.REGISTRY, Resource.GROUP, "{registry_topic}", Pattern.PREFIXED, _READ,
         "the registry instances elect their writer in a consumer group"),
    Rule(Party.REGISTRY, Resource.GROUP, "{registry_readers}", Pattern.PREFIXED, _READ,
         "each registry instance replays the log under a group of its own"),
    Rule(Party.REGISTRY, Resource.GROUP, "*", Pattern.LITERAL, (Operation.DESCRIBE,),
         "the registry lists the consumer groups of a product (impact reports)"),
    Rule(Party.MONITOR, Resource.GROUP, "{monitor_group}", Pattern.LITERAL, _READ,
         "the quality monitor's instances share one consumer group"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Platform:
    """The platform's principals and the names its services use (their settings' defaults)."""

    registry_user: str = REGISTRY_USER
    monitor_user: str = MONITOR_USER
    registry_topic: str = REGISTRY_TOPIC
    registry_readers: str = REGISTRY_READER_GROUPS
    monitor_group: str = MONITOR_GROUP


def compute_acls(descriptors: Iterable[Descriptor], platform: Platform | None = None) -> AclSet:
    """Every binding the mesh of `descriptors` needs, each with the grants asking for it.

    A retired product grants nothing: its owner no longer writes it, its inputs are no longer
    read on its behalf, and the monitor stops reading it. Sorted, so output is stable."""
    chosen = platform or Platform()
    found: dict[Acl, list[Grant]] = {}

    def grant(rules: Iterable[Rule], source: str, **names: str) -> None:
        values = {
            "registry_topic": chosen.registry_topic,
            "registry_readers": chosen.registry_readers,
            "monitor_group": chosen.monitor_group,
            **names,
        }
        users = {Party.REGISTRY: chosen.registry_user, Party.MONITOR: chosen.monitor_user}
        if "domain" in values:
            users[Party.OWNER] = domain_user(values["domain"])
        for rule in rules:
            who = users[rule.party]
            name = rule.name.format(**values)
            reason = Grant(source, rule.why.format(**values))
            for operation in rule.operations:
                acl = Acl(principal(who), rule.resource, name, rule.pattern, operation)
                reasons = found.setdefault(acl, [])
                if reason not in reasons:
                    reasons.append(reason)

    grant(PLATFORM_RULES, "platform")
    for d in descriptors:
        if d.status is Status.RETIRED:
            continue
        topic = d.topic.name
        names = {
            "domain": d.domain,
            "processors": processor_prefix(d.domain),
            "ref": d.ref,
            "topic": topic,
            "dlq": dlq_topic(topic),
        }
        grant(PRODUCT_RULES, d.ref, **names)
        for port in d.input_ports:
            grant(INPUT_RULES, d.ref, **names, input=port)
    return {acl: tuple(sorted(found[acl])) for acl in sorted(found)}


@dataclass(frozen=True, slots=True)
class AclDiff:
    """What to add and what to remove so the broker holds exactly the computed set for the
    principals StreamMesh manages."""

    add: tuple[Acl, ...] = ()
    remove: tuple[Acl, ...] = ()
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove

    def lines(self) -> list[str]:
        """`+ binding` for each to add, `- binding` for each to remove."""
        return [*(f"+ {acl}" for acl in self.add), *(f"- {acl}" for acl in self.remove)]


def diff_acls(desired: Iterable[Acl], current: Iterable[Acl]) -> AclDiff:
    """The change from `current` (what the broker holds, any principal) to `desired`.

    Bindings of principals StreamMesh does not manage are left out of both sides: they are
    never removed, and computing one is a bug (`ValueError`)."""
    wanted = set(desired)
    foreign = sorted(acl for acl in wanted if not is_managed(acl.principal))
    if foreign:
        raise ValueError(f"not a principal StreamMesh manages: {foreign[0]}")
    held = {acl for acl in current if is_managed(acl.principal)}
    return AclDiff(
        add=tuple(sorted(wanted - held)),
        remove=tuple(sorted(held - wanted)),
        unchanged=len(wanted & held),
    )
