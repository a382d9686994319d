"""Every record gets exactly one verdict; the first failing check names the reason."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from fastavro import schemaless_writer

from services.quality_monitor.checks import (
    EventTimeField,
    EventTimeLimits,
    check_record,
    decode_record,
    event_time_field,
    judge,
    judge_batch,
    to_millis,
)
from streammesh.deadletter import Reason
from streammesh.serde import HEADER_SIZE
from tests.unit.quality_monitor.samples import (
    NOW,
    NOW_MS,
    ORDERS_ID,
    PROFILES_ID,
    Resolver,
    encode,
    order,
    orders_writer,
)

LIMITS = EventTimeLimits(max_future_ms=300_000, max_past_ms=86_400_000)


def test_a_good_record_passes_with_its_version_and_event_time() -> None:
    outcome = check_record(encode(order()), NOW_MS, Resolver(), LIMITS)
    assert outcome.ok
    assert outcome.failure is None
    assert outcome.version == 3
    assert outcome.event_time_ms == NOW_MS


def test_a_tombstone_passes() -> None:
    assert check_record(None, NOW_MS, Resolver(), LIMITS).ok


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x01" + encode(order())[1:], Reason.BAD_MAGIC_BYTE),
        (b"{}", Reason.BAD_MAGIC_BYTE),
        (b"", Reason.TRUNCATED),
        (b"\x00\x00\x00", Reason.TRUNCATED),
        (encode(order(), schema_id=999), Reason.UNKNOWN_SCHEMA_ID),
        (encode(order(), schema_id=PROFILES_ID), Reason.WRONG_SUBJECT),
        (encode(order())[:20], Reason.UNDECODABLE),
        (encode(order()) + b"\x00", Reason.UNDECODABLE),
        (b"\x00\x00\x00\x00" + bytes([ORDERS_ID]) + b"\xff" * 12, Reason.UNDECODABLE),
    ],
    ids=[
        "magic-1",
        "json",
        "empty",
        "short-header",
        "unknown-id",
        "foreign-id",
        "cut-body",
        "trailing-byte",
        "garbage-body",
    ],
)
def test_wire_format_failures(payload: bytes, reason: Reason) -> None:
    outcome = check_record(payload, NOW_MS, Resolver(), LIMITS)
    assert outcome.failure is not None
    assert outcome.failure.reason is reason
    assert outcome.failure.rule is None
    assert outcome.failure.message


def test_a_bad_magic_byte_is_found_before_any_registry_lookup() -> None:
    resolver = Resolver()
    check_record(b"\x07" + encode(order())[1:], NOW_MS, resolver, LIMITS)
    assert resolver.asked == []


@pytest.mark.parametrize(
    ("changes", "rules"),
    [
        ({"amount": order()["amount"].copy_negate()}, ("amount_non_negative",)),
        ({"currency": "eur"}, ("currency_iso_4217",)),
        ({"line_items": []}, ("has_line_items",)),
        (
            {"line_items": [{"sku": "s", "quantity": 0, "unit_price": order()["amount"]}]},
            ("line_item_quantity_positive",),
        ),
        (
            {"amount": order()["amount"].copy_negate(), "currency": "x"},
            ("amount_non_negative", "currency_iso_4217"),
        ),
    ],
    ids=["amount", "currency", "no-items", "quantity", "two-rules"],
)
def test_each_rule_of_the_contract_is_enforced(
    changes: dict[str, object], rules: tuple[str, ...]
) -> None:
    outcome = check_record(encode(order(**changes)), NOW_MS, Resolver(), LIMITS)
    assert outcome.failure is not None
    assert outcome.failure.reason is Reason.RULE_VIOLATION
    assert outcome.failure.rules == rules
    assert outcome.failure.rule == rules[0]
    assert all(rule in outcome.failure.message for rule in rules)
    assert outcome.version == 3


def test_event_time_far_in_the_future_or_past_fails_relative_to_the_record_timestamp() -> None:
    future = encode(order(event_time=NOW + timedelta(hours=1)))
    past = encode(order(event_time=NOW - timedelta(days=2)))
    near = encode(order(event_time=NOW + timedelta(minutes=4)))
    late_future = check_record(future, NOW_MS, Resolver(), LIMITS).failure
    assert late_future is not None
    assert late_future.reason is Reason.EVENT_TIME_FUTURE
    too_old = check_record(past, NOW_MS, Resolver(), LIMITS).failure
    assert too_old is not None
    assert too_old.reason is Reason.EVENT_TIME_PAST
    assert check_record(near, NOW_MS, Resolver(), LIMITS).ok
    # The same record, timestamped an hour later, is fine: the check is against its timestamp.
    assert check_record(future, NOW_MS + 3_600_000, Resolver(), LIMITS).ok


def test_event_time_limits_can_be_switched_off() -> None:
    future = encode(order(event_time=NOW + timedelta(days=400)))
    assert check_record(future, NOW_MS, Resolver(), EventTimeLimits(None, None)).ok
    assert check_record(future, None, Resolver(), LIMITS).ok  # no timestamp: nothing to compare


def test_a_rule_violation_wins_over_an_event_time_failure() -> None:
    payload = encode(order(currency="x", event_time=NOW + timedelta(days=1)))
    failure = check_record(payload, NOW_MS, Resolver(), LIMITS).failure
    assert failure is not None
    assert failure.reason is Reason.RULE_VIOLATION


def test_a_batch_gets_the_verdicts_its_records_get_one_by_one() -> None:
    """`judge_batch` decides the event-time window (on both edges, with and without limits or
    a timestamp) and the rules exactly as `judge` does for each record alone."""
    writer = orders_writer()
    stamps: list[int | None] = [NOW_MS] * 7 + [None]
    records = [
        order(),
        order(event_time=NOW + timedelta(seconds=300)),
        order(event_time=NOW + timedelta(seconds=300, milliseconds=1)),
        order(event_time=NOW - timedelta(days=1)),
        order(event_time=NOW - timedelta(days=1, milliseconds=1)),
        order(currency="x", event_time=NOW + timedelta(days=1)),
        order(amount=Decimal("-1.00")),
        order(event_time=NOW + timedelta(days=400)),
    ]
    decoded = []
    for record in records:
        found = decode_record(encode(record), Resolver(writer))
        assert isinstance(found, tuple)
        decoded.append(found[1])
    violations = writer.rules.evaluate_batch(decoded)
    for limits in (LIMITS, EventTimeLimits(None, None), EventTimeLimits(0, None)):
        verdict = judge_batch(writer, decoded, violations, stamps, limits)
        alone = [
            judge(writer, r, v, s, limits)
            for r, v, s in zip(decoded, violations, stamps, strict=True)
        ]
        assert verdict.event_times == [outcome.event_time_ms for outcome in alone]
        assert verdict.failed == {i: o for i, o in enumerate(alone) if not o.ok}
    failed = judge_batch(writer, decoded, violations, stamps, LIMITS).failed
    assert {i: o.failure.reason for i, o in failed.items() if o.failure} == {
        2: Reason.EVENT_TIME_FUTURE,
        4: Reason.EVENT_TIME_PAST,
        5: Reason.RULE_VIOLATION,
        6: Reason.RULE_VIOLATION,
    }


def test_event_time_field_convention() -> None:
    millis = {"type": "long", "logicalType": "timestamp-millis"}
    micros = {"type": "long", "logicalType": "timestamp-micros"}
    schema = {
        "type": "record",
        "name": "R",
        "fields": [
            {"name": "updated_at", "type": ["null", micros]},
            {"name": "event_time", "type": "long"},  # not a timestamp: ignored
            {"name": "created", "type": millis},
        ],
    }
    assert event_time_field(schema, ("event_time", "updated_at")) == EventTimeField(
        "updated_at", nullable=True, micros=True
    )
    assert event_time_field(schema, ("created",)) == EventTimeField("created")
    assert event_time_field(schema, ("missing",)) is None
    assert event_time_field("string", ("event_time",)) is None


def test_to_millis() -> None:
    assert to_millis(NOW) == NOW_MS
    assert to_millis(NOW.replace(tzinfo=None)) == NOW_MS
    assert to_millis(123) == 123
    assert to_millis(None) is None


def test_an_undecoded_event_time_is_read_in_its_unit() -> None:
    assert EventTimeField("t").millis(NOW_MS) == NOW_MS
    assert EventTimeField("t", micros=True).millis(NOW_MS * 1000 + 999) == NOW_MS
    assert EventTimeField("t", micros=True).millis(-1) == -1  # floored, as a datetime is
    assert EventTimeField("t", micros=True).millis(NOW) == NOW_MS
    assert EventTimeField("t").millis(None) is None


def test_a_resolved_id_is_asked_once_per_record() -> None:
    resolver = Resolver()
    check_record(encode(order()), NOW_MS, resolver, LIMITS)
    assert resolver.asked == [ORDERS_ID]


def _plain_payload(record: dict[str, object]) -> bytes:
    """`record` written with the orders schema bare of logical types: any long, any bytes."""
    deferred = orders_writer().plain
    assert deferred is not None
    out = BytesIO()
    out.write(encode(order())[:HEADER_SIZE])
    schemaless_writer(out, deferred, record)
    return out.getvalue()


def test_deferred_decoding_gives_every_record_the_full_decodes_verdict() -> None:
    deferred = orders_writer()
    assert deferred.plain is not None  # the orders schema defers its decimals and event time
    full = dataclasses.replace(deferred, plain=None, restore=None)
    good = encode(order())
    plain = {
        **order(),
        "amount": b"\x07\xd0",
        "line_items": [{"sku": "s", "quantity": 1, "unit_price": b"\xff" * 9}],
    }
    payloads = [
        good,
        encode(order(amount=Decimal("-1.00"))),
        encode(order(line_items=[{"sku": "s", "quantity": 0, "unit_price": Decimal("-3.50")}])),
        encode(order(event_time=NOW + timedelta(days=2))),
        encode(order(event_time=NOW - timedelta(days=400))),
        _plain_payload({**plain, "event_time": NOW_MS}),
        _plain_payload({**plain, "event_time": 253_402_300_800_000}),  # past the year 9999
        _plain_payload({**plain, "event_time": -62_135_596_800_001}),  # before the year 1
        good[:-3],  # truncated
        good + b"\x00",  # a byte after the body
        good[:HEADER_SIZE] + b"\xff" * 12,
    ]
    for payload in payloads:
        expected = check_record(payload, NOW_MS, Resolver(full), LIMITS)
        assert check_record(payload, NOW_MS, Resolver(deferred), LIMITS) == expected
    verdicts = [check_record(p, NOW_MS, Resolver(full), LIMITS).failure for p in payloads]
    reasons = {failure.reason for failure in verdicts if failure is not None}
    assert {Reason.RULE_VIOLATION, Reason.UNDECODABLE, Reason.EVENT_TIME_FUTURE} <= reasons
