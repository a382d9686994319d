"""Dead letters: a failing record, byte for byte, plus headers saying why and where it came from.

Header names follow confluent-kafka's DLQ rule action (`confluent_kafka.schema_registry.rules.
dlq.DlqAction`) where they mean the same thing, so tools written for Confluent's dead letters
read ours: ``__rule.name``, ``__rule.mode``, ``__rule.subject``, ``__rule.topic``,
``__rule.exception``. ``__rule.name`` and ``__rule.mode`` are written only for a rule
violation, as Confluent's serdes take ``__rule.name`` to mean "this rule already failed". What
Confluent's action has no header for goes under ``__streammesh.``: the reason code, every
failing rule, the product and the source partition, offset and timestamp.

The original headers come first, unchanged; ours are appended. Values are UTF-8 text, numbers
in decimal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from confluent_kafka.schema_registry.common.serde import (
    DLQ_RULE_EXCEPTION_HEADER,
    DLQ_RULE_MODE_HEADER,
    DLQ_RULE_NAME_HEADER,
    DLQ_RULE_SUBJECT_HEADER,
    DLQ_RULE_TOPIC_HEADER,
)

from services.quality_monitor.checks import Failure, Reason

RULE_NAME: Final = DLQ_RULE_NAME_HEADER  # "__rule.name"
RULE_MODE: Final = DLQ_RULE_MODE_HEADER  # "__rule.mode"
RULE_SUBJECT: Final = DLQ_RULE_SUBJECT_HEADER  # "__rule.subject"
RULE_TOPIC: Final = DLQ_RULE_TOPIC_HEADER  # "__rule.topic"
RULE_EXCEPTION: Final = DLQ_RULE_EXCEPTION_HEADER  # "__rule.exception"
REASON: Final = "__streammesh.reason"
RULES: Final = "__streammesh.rules"
PRODUCT: Final = "__streammesh.product"
SOURCE_PARTITION: Final = "__streammesh.source.partition"
SOURCE_OFFSET: Final = "__streammesh.source.offset"
SOURCE_TIMESTAMP: Final = "__streammesh.source.timestamp"

#: The mode the monitor evaluates rules in (see `checks`).
RULE_MODE_WRITE: Final = "WRITE"

Headers = list[tuple[str, str | bytes | None]]


def dlq_topic(topic: str) -> str:
    """Where a product topic's dead letters go."""
    return f"{topic}.dlq"


def dead_letter_headers(
    original: Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None,
    failure: Failure,
    *,
    product: str,
    subject: str,
    topic: str,
    partition: int,
    offset: int,
    timestamp_ms: int | None,
) -> Headers:
    """The headers of the dead letter of a record that failed with `failure`."""
    if original is None:
        headers: Headers = []
    elif isinstance(original, Mapping):
        headers = list(original.items())
    else:
        headers = list(original)
    if failure.reason is Reason.RULE_VIOLATION and failure.rule is not None:
        headers.append((RULE_NAME, failure.rule.encode()))
        headers.append((RULE_MODE, RULE_MODE_WRITE.encode()))
    headers.append((RULE_SUBJECT, subject.encode()))
    headers.append((RULE_TOPIC, topic.encode()))
    headers.append((RULE_EXCEPTION, failure.message.encode()))
    headers.append((REASON, failure.reason.value.encode()))
    if failure.rules:
        headers.append((RULES, ",".join(failure.rules).encode()))
    headers.append((PRODUCT, product.encode()))
    headers.append((SOURCE_PARTITION, str(partition).encode()))
    headers.append((SOURCE_OFFSET, str(offset).encode()))
    if timestamp_ms is not None:
        headers.append((SOURCE_TIMESTAMP, str(timestamp_ms).encode()))
    return headers
