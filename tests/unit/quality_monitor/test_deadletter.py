"""A dead letter keeps the original headers first and names its cause in Confluent's headers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from confluent_kafka.schema_registry.rules.dlq.dlq_action import DlqAction

from services.quality_monitor import deadletter
from services.quality_monitor.checks import Failure, Reason
from services.quality_monitor.deadletter import Headers, dead_letter_headers, dlq_topic


def headers_for(
    original: Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None] | None,
    failure: Failure,
    timestamp_ms: int | None = 1_700_000_000_000,
) -> Headers:
    return dead_letter_headers(
        original,
        failure,
        product="sales.orders.v1",
        subject="sales.orders.v1-value",
        topic="sales.orders.v1",
        partition=3,
        offset=42,
        timestamp_ms=timestamp_ms,
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
        deadletter.SOURCE_PARTITION,
        deadletter.SOURCE_OFFSET,
        deadletter.SOURCE_TIMESTAMP,
    ]
    assert all(not name.startswith(DlqAction.HEADER_PREFIX) for name in ours)


def test_a_rule_violation() -> None:
    failure = Failure(
        Reason.RULE_VIOLATION, "two rules", "amount_non_negative", ("amount_non_negative", "x")
    )
    headers = headers_for([("trace", b"abc")], failure)
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
    failure = Failure(Reason.BAD_MAGIC_BYTE, "unknown magic byte 1")
    headers = dict(headers_for(None, failure, timestamp_ms=None))
    assert "__rule.name" not in headers
    assert "__rule.mode" not in headers
    assert "__streammesh.rules" not in headers
    assert "__streammesh.source.timestamp" not in headers
    assert headers["__streammesh.reason"] == b"bad_magic_byte"
    assert headers["__rule.exception"] == b"unknown magic byte 1"


def test_original_headers_may_come_as_a_mapping_and_repeat() -> None:
    failure = Failure(Reason.UNDECODABLE, "bad body")
    listed = headers_for([("a", b"1"), ("a", b"2")], failure)
    assert listed[:2] == [("a", b"1"), ("a", b"2")]
    mapped = headers_for({"a": "text"}, failure)
    assert mapped[0] == ("a", "text")


def test_dlq_topic_name() -> None:
    assert dlq_topic("sales.orders.v1") == "sales.orders.v1.dlq"
