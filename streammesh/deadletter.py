"""Dead letters, defined once: a refused record, byte for byte, plus headers saying why.

Every writer of dead letters (the SDK producer, `streammesh publish --dlq`, the quality monitor,
the processors) names the topic, sets its configs and writes the headers through this module,
so one reader understands every letter.

Header names follow confluent-kafka's DLQ rule action (`confluent_kafka.schema_registry.rules.
dlq.DlqAction`) where they mean the same thing, so tools written for Confluent's dead letters
read ours: ``__rule.name``, ``__rule.mode``, ``__rule.subject``, ``__rule.topic``,
``__rule.exception``. ``__rule.name`` and ``__rule.mode`` are written only for a rule
violation, as Confluent's serdes take ``__rule.name`` to mean "this rule already failed". What
Confluent's action has no header for goes under ``__streammesh.``: the reason code, every
failing rule, the product, the payload's format and the source partition, offset and timestamp.

The original headers come first, unchanged; ours are appended. Values are UTF-8 text, numbers
in decimal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from confluent_kafka.schema_registry.common.serde import (
    DLQ_RULE_EXCEPTION_HEADER,
    DLQ_RULE_MODE_HEADER,
    DLQ_RULE_NAME_HEADER,
    DLQ_RULE_SUBJECT_HEADER,
    DLQ_RULE_TOPIC_HEADER,
)

RULE_NAME: Final = DLQ_RULE_NAME_HEADER  # "__rule.name"
RULE_MODE: Final = DLQ_RULE_MODE_HEADER  # "__rule.mode"
RULE_SUBJECT: Final = DLQ_RULE_SUBJECT_HEADER  # "__rule.subject"
RULE_TOPIC: Final = DLQ_RULE_TOPIC_HEADER  # "__rule.topic"
RULE_EXCEPTION: Final = DLQ_RULE_EXCEPTION_HEADER  # "__rule.exception"
REASON: Final = "__streammesh.reason"
RULES: Final = "__streammesh.rules"
PRODUCT: Final = "__streammesh.product"
FORMAT: Final = "__streammesh.format"
SOURCE_PARTITION: Final = "__streammesh.source.partition"
SOURCE_OFFSET: Final = "__streammesh.source.offset"
SOURCE_TIMESTAMP: Final = "__streammesh.source.timestamp"

#: The mode rules are evaluated in by every writer of letters: the producer's.
RULE_MODE_WRITE: Final = "WRITE"

#: Retention of a dead-letter topic whose product keeps records forever: 30 days.
DEFAULT_RETENTION_MS: Final = 30 * 24 * 3600 * 1000

Headers = list[tuple[str, str | bytes | None]]
OriginalHeaders = Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None]


class Reason(StrEnum):
    """Why a record was refused: the `__streammesh.reason` header and the monitor's `reason`
    metric label."""

    BAD_MAGIC_BYTE = "bad_magic_byte"
    TRUNCATED = "truncated"
    UNKNOWN_SCHEMA_ID = "unknown_schema_id"
    WRONG_SUBJECT = "wrong_subject"
    #: The value does not decode with (or, on the producing side, does not fit) its schema.
    UNDECODABLE = "undecodable"
    RULE_VIOLATION = "rule_violation"
    EVENT_TIME_FUTURE = "event_time_future"
    EVENT_TIME_PAST = "event_time_past"


class PayloadFormat(StrEnum):
    """What a letter's value is, so a reader knows how to decode it (`__streammesh.format`)."""

    #: The value in the product's wire format.
    AVRO = "avro"
    #: A record that does not fit the product's schema, as JSON.
    JSON = "json"
    #: Input that never became a record (a line that is not JSON), as it was read.
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a dead-lettered record was read from, when it was read from a product topic."""

    partition: int
    offset: int
    timestamp_ms: int | None = None


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of a product topic."""
    return f"{topic}.dlq"


def dlq_config(cleanup_policy: str, retention_ms: int) -> dict[str, str]:
    """The configs of the dead-letter topic of a product topic with these configs.

    Dead letters are events to inspect, never a table: always `delete`, with the product's
    retention, or `DEFAULT_RETENTION_MS` where the product keeps records forever (compacted,
    or a retention of -1).
    """
    retention = retention_ms
    if cleanup_policy != "delete" or retention < 0:
        retention = DEFAULT_RETENTION_MS
    return {"cleanup.policy": "delete", "retention.ms": str(retention)}


def dead_letter_headers(
    original: OriginalHeaders | None,
    *,
    reason: Reason,
    message: str,
    topic: str,
    subject: str,
    rules: Sequence[str] = (),
    product: str | None = None,
    fmt: PayloadFormat | None = None,
    source: Source | None = None,
) -> Headers:
    """The headers of a letter: `original` first, then why (`reason`, `message`, the rules it
    broke, the first of which goes in ``__rule.name``) and where it came from."""
    if original is None:
        headers: Headers = []
    elif isinstance(original, Mapping):
        headers = list(original.items())
    else:
        headers = list(original)
    if reason is Reason.RULE_VIOLATION and rules:
        headers.append((RULE_NAME, rules[0].encode()))
        headers.append((RULE_MODE, RULE_MODE_WRITE.encode()))
    headers.append((RULE_SUBJECT, subject.encode()))
    headers.append((RULE_TOPIC, topic.encode()))
    headers.append((RULE_EXCEPTION, message.encode()))
    headers.append((REASON, reason.value.encode()))
    if rules:
        headers.append((RULES, ",".join(rules).encode()))
    if product is not None:
        headers.append((PRODUCT, product.encode()))
    if fmt is not None:
        headers.append((FORMAT, fmt.value.encode()))
    if source is not None:
        headers.append((SOURCE_PARTITION, str(source.partition).encode()))
        headers.append((SOURCE_OFFSET, str(source.offset).encode()))
        if source.timestamp_ms is not None:
            headers.append((SOURCE_TIMESTAMP, str(source.timestamp_ms).encode()))
    return headers
