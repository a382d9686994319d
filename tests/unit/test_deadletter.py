"""The dead-letter vocabulary every writer shares: a letter keeps the original headers first and
names its cause in Confluent's headers, and the names and reason codes never drift (the SDK, the
CLI, the monitor and the processors all write them through `streammesh.deadletter`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from confluent_kafka.schema_registry.rules.dlq.dlq_action import DlqAction

from streammesh import deadletter
from streammesh.deadletter import (
    DEFAULT_RETENTION_MS,
    Headers,
    PayloadFormat,
    Reason,
    Source,
    dead_letter_headers,
    dlq_config,
    dlq_topic,
)


def headers_for(
    original: Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None,
    reason: Reason,
    message: str,
    rules: tuple[str, ...] = (),
    timestamp_ms: int | None = 1_700_000_000_000,
) -> Headers:
    return dead_letter_headers(
        original,
        reason=reason,
        message=message,
        rules=rules,
        product="sales.orders.v1",
        subject="sales.orders.v1-value",
        topic="sales.orders.v1",
        source=Source(3, 42, timestamp_ms),
    )


def test_overlapping_names_are_confluents_own() -> None:
    assert deadletter.RULE_NAME == DlqAction.RULE_NAME == "__rule.name"
    assert deadletter.RULE_MODE == DlqAction.RULE_MODE == "__rule.mode"
    assert deadletter.RULE_SUBJECT == DlqAction.RULE_SUBJECT == "__rule.subject"
    assert deadletter.RULE_TOPIC == DlqAction.RULE_TOPIC == "__rule.topic"
    assert deadletter.RULE_EXCEPTION == DlqAction.RULE_EXCEPTION == "__rule.exception"
    ours = [
        deadletter.REASON,
        deadletter.RULES,
        deadletter.PRODUCT,
        deadletter.FORMAT,
        deadletter.SOURCE_PARTITION,
        deadletter.SOURCE_OFFSET,
        deadletter.SOURCE_TIMESTAMP,
    ]
    assert all(not name.startswith(DlqAction.HEADER_PREFIX) for name in ours)


def test_the_vocabulary_is_pinned() -> None:
    # Readers of letters (dashboards, replay tools, other teams' scripts) match these strings.
    assert deadletter.REASON == "__streammesh.reason"
    assert deadletter.RULES == "__streammesh.rules"
    assert deadletter.PRODUCT == "__streammesh.product"
    assert deadletter.FORMAT == "__streammesh.format"
    assert deadletter.SOURCE_PARTITION == "__streammesh.source.partition"
    assert deadletter.SOURCE_OFFSET == "__streammesh.source.offset"
    assert deadletter.SOURCE_TIMESTAMP == "__streammesh.source.timestamp"
    assert [reason.value for reason in Reason] == [
        "bad_magic_byte",
        "truncated",
        "unknown_schema_id",
        "wrong_subject",
        "undecodable",
        "rule_violation",
        "event_time_future",
        "event_time_past",
    ]
    assert [fmt.value for fmt in PayloadFormat] == ["avro", "json", "text"]


def test_a_rule_violation() -> None:
    headers = headers_for(
        [("trace", b"abc")], Reason.RULE_VIOLATION, "two rules", ("amount_non_negative", "x")
    )
    assert headers == [
        ("trace", b"abc"),
        ("__rule.name", b"amount_non_negative"),
        ("__rule.mode", b"WRITE"),
        ("__rule.subject", b"sales.orders.v1-value"),
        ("__rule.topic", b"sales.orders.v1"),
        ("__rule.exception", b"two rules"),
        ("__streammesh.reason", b"rule_violation"),
        ("__streammesh.rules", b"amount_non_negative,x"),
        ("__streammesh.product", b"sales.orders.v1"),
        ("__streammesh.source.partition", b"3"),
        ("__streammesh.source.offset", b"42"),
        ("__streammesh.source.timestamp", b"1700000000000"),
    ]


def test_a_wire_failure_names_no_rule() -> None:
    headers = dict(
        headers_for(None, Reason.BAD_MAGIC_BYTE, "unknown magic byte 1", timestamp_ms=None)
    )
    assert "__rule.name" not in headers
    assert "__rule.mode" not in headers
    assert "__streammesh.rules" not in headers
    assert "__streammesh.source.timestamp" not in headers
    assert headers["__streammesh.reason"] == b"bad_magic_byte"
    assert headers["__rule.exception"] == b"unknown magic byte 1"


def test_a_producer_side_letter_names_its_format_and_no_source() -> None:
    headers = dead_letter_headers(
        [],
        reason=Reason.UNDECODABLE,
        message="amount: not a decimal",
        topic="sales.orders.v1",
        subject="sales.orders.v1-value",
        fmt=PayloadFormat.JSON,
    )
    assert headers == [
        ("__rule.subject", b"sales.orders.v1-value"),
        ("__rule.topic", b"sales.orders.v1"),
        ("__rule.exception", b"amount: not a decimal"),
        ("__streammesh.reason", b"undecodable"),
        ("__streammesh.format", b"json"),
    ]


def test_original_headers_may_come_as_a_mapping_and_repeat() -> None:
    listed = headers_for([("a", b"1"), ("a", b"2")], Reason.UNDECODABLE, "bad body")
    assert listed[:2] == [("a", b"1"), ("a", b"2")]
    mapped = headers_for({"a": "text"}, Reason.UNDECODABLE, "bad body")
    assert mapped[0] == ("a", "text")


def test_dlq_topic_name() -> None:
    assert dlq_topic("sales.orders.v1") == "sales.orders.v1.dlq"


def test_dead_letter_topics_always_delete_and_expire() -> None:
    week = str(7 * 24 * 3600 * 1000)
    assert dlq_config("delete", int(week)) == {"cleanup.policy": "delete", "retention.ms": week}
    forever = {"cleanup.policy": "delete", "retention.ms": str(DEFAULT_RETENTION_MS)}
    assert dlq_config("delete", -1) == forever
    assert dlq_config("compact", int(week)) == forever
