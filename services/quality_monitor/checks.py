"""The checks of records, as pure functions of their bytes and the product's contract.

A record passes when, in this order: its value is in the Confluent wire format (magic byte 0
and a 5-byte header), its schema id is known and registered under the product's value subject
(any version), its body decodes with that writer schema (to the last byte), it satisfies the
CEL CONDITION rules of that schema version in mode WRITE, and its event time (if the schema has
one) lies within the limits around the record's Kafka timestamp. The first failing step decides
the reason; every rule that fails is named.

Rules run in mode WRITE: they are the rules a Confluent producer writing with the same schema
enforces before a record reaches the topic, so the monitor finds exactly the records a
conforming producer would have refused (written by clients without rule executors, by other
languages, or before a rule existed). READ rules belong to consuming applications.

Schema lookups go through `SchemaResolver`, so the checks themselves do no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Final, Protocol

from fastavro import parse_schema, schemaless_reader
from fastavro.types import Schema as AvroSchema

from streammesh.contracts import RuleEvaluator, RuleViolation
from streammesh.deadletter import Reason
from streammesh.serde import HEADER_SIZE, SerdeError, UnknownMagicByteError, schema_id_of
from streammesh.serde.deferred import LARGEST_DEFERRED_BODY, DeferredLogicalTypes, Restorer

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class EventTimeField:
    """A top-level `timestamp-millis` / `timestamp-micros` field holding the event time."""

    name: str
    nullable: bool = False
    micros: bool = False  # its unit, should it come undecoded (`WriterSchema.plain`)

    def millis(self, value: object) -> int | None:
        """Milliseconds since the epoch of the field's decoded value."""
        if type(value) is int:
            return value // 1000 if self.micros else value
        return to_millis(value)

    def millis_of(self, values: list[object]) -> list[int | None]:
        """`millis` of each value; undecoded milliseconds, the usual case, as they are."""
        if not self.micros and all(type(value) is int for value in values):
            return values  # type: ignore[return-value]
        return [self.millis(value) for value in values]


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """One registered version of a product's value subject, ready to check records with."""

    schema_id: int
    version: int
    parsed: AvroSchema
    rules: RuleEvaluator
    event_time: EventTimeField | None = None
    # With deferred logical types: the schema records are decoded with, then `restore`d.
    plain: AvroSchema | None = None
    restore: Restorer | None = None

    @classmethod
    def of(
        cls,
        schema_id: int,
        version: int,
        schema: str,
        rules: RuleEvaluator,
        event_time_fields: Sequence[str],
    ) -> WriterSchema:
        """From the schema's text: records decode with the logical conversions no rule reads
        left undone (`streammesh.serde.deferred`)."""
        parsed = parse_schema(json.loads(schema))
        deferred = DeferredLogicalTypes.of(schema)
        return cls(
            schema_id=schema_id,
            version=version,
            parsed=parsed,
            rules=rules,
            event_time=event_time_field(parsed, event_time_fields),
            plain=None if deferred is None else deferred.plain,
            restore=None if deferred is None else deferred.restorer(rules.reads),
        )


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A schema id that is no version of the product's value subject."""

    reason: Reason  # UNKNOWN_SCHEMA_ID or WRONG_SUBJECT
    message: str


class SchemaResolver(Protocol):
    """Maps a payload's schema id to a version of the product's value subject."""

    def resolve(self, schema_id: int, /) -> WriterSchema | Unresolved: ...


@dataclass(frozen=True, slots=True)
class EventTimeLimits:
    """How far an event time may lie after / before the record's timestamp (None: any)."""

    max_future_ms: int | None = 5 * 60 * 1000
    max_past_ms: int | None = 30 * 24 * 3600 * 1000

    @classmethod
    def of_seconds(cls, future: float | None, past: float | None) -> EventTimeLimits:
        return cls(
            None if future is None else int(future * 1000),
            None if past is None else int(past * 1000),
        )


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a record failed: `rule` is the first rule it broke, `rules` every one."""

    reason: Reason
    message: str
    rule: str | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on one record; `version` is the writer schema version, 0 when unknown."""

    failure: Failure | None
    version: int = 0
    event_time_ms: int | None = None
    violations: Sequence[RuleViolation] = field(default=())

    @property
    def ok(self) -> bool:
        return self.failure is None


PASSED_TOMBSTONE: Final = Outcome(None)


def event_time_field(parsed: AvroSchema, names: Sequence[str]) -> EventTimeField | None:
    """The first of `names` that is a top-level timestamp field of record schema `parsed`."""
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        return None
    fields = {f["name"]: f["type"] for f in parsed["fields"]}
    for name in names:
        kind = fields.get(name)
        nullable = False
        if isinstance(kind, list):
            branches = [b for b in kind if b != "null"]
            nullable = len(branches) < len(kind)
            kind = branches[0] if len(branches) == 1 else None
        logical = kind.get("logicalType") if isinstance(kind, dict) else None
        if logical in ("timestamp-millis", "timestamp-micros"):
            return EventTimeField(name, nullable, micros=logical == "timestamp-micros")
    return None


def to_millis(value: object) -> int | None:
    """Milliseconds since the epoch of a decoded timestamp (fastavro gives aware datetimes)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return (moment - _EPOCH) // _MILLISECOND
    if isinstance(value, int):
        return value
    return None


def check_record(
    value: bytes | None,
    timestamp_ms: int | None,
    resolver: SchemaResolver,
    limits: EventTimeLimits,
) -> Outcome:
    """Check one record value; `timestamp_ms` is its Kafka timestamp (None if it has none)."""
    decoded = decode_record(value, resolver)
    if isinstance(decoded, Outcome):
        return decoded
    writer, record = decoded
    return judge(writer, record, writer.rules.evaluate(record), timestamp_ms, limits)


def decode_record(
    value: bytes | None, resolver: SchemaResolver
) -> Outcome | tuple[WriterSchema, Mapping[str, object]]:
    """The checks before the rules: the outcome when the record is settled by them (a failure,
    a tombstone, a value that is no record), else its writer schema and decoded record."""
    if value is None:
        return PASSED_TOMBSTONE  # a tombstone deletes a key of a compacted product: no value
    try:
        schema_id = schema_id_of(value)
    except UnknownMagicByteError as exc:
        return Outcome(Failure(Reason.BAD_MAGIC_BYTE, str(exc)))
    except SerdeError as exc:  # the header is cut
        return Outcome(Failure(Reason.TRUNCATED, str(exc)))
    writer = resolver.resolve(schema_id)
    if isinstance(writer, Unresolved):
        return Outcome(Failure(writer.reason, writer.message))
    return decode_body(value, writer)


def decode_body(
    value: bytes, writer: WriterSchema
) -> Outcome | tuple[WriterSchema, Mapping[str, object]]:
    """`decode_record` of a value whose header names `writer`'s schema id (already checked)."""
    plain, restore = writer.plain, writer.restore
    if plain is not None and restore is not None and len(value) <= LARGEST_DEFERRED_BODY:
        body = BytesIO(value)
        body.seek(HEADER_SIZE)
        try:
            plain_record = schemaless_reader(body, plain, None)
        except Exception:  # noqa: BLE001 - decoded in full below, for fastavro's own error
            plain_record = None
        if type(plain_record) is dict and body.tell() == len(value) and restore(plain_record):
            return writer, plain_record
        # Whatever the plain decode left unsettled, the full one settles as it always has.
    return _decode_in_full(value, writer)


def _decode_in_full(
    value: bytes, writer: WriterSchema
) -> Outcome | tuple[WriterSchema, Mapping[str, object]]:
    body = BytesIO(value)
    body.seek(HEADER_SIZE)
    try:
        record = schemaless_reader(body, writer.parsed, None)
    except Exception as exc:  # noqa: BLE001 - fastavro reports a corrupt body in many types
        return Outcome(
            Failure(Reason.UNDECODABLE, f"cannot decode the Avro body: {exc!r}"), writer.version
        )
    if body.tell() != len(value):
        return Outcome(
            Failure(
                Reason.UNDECODABLE,
                f"{len(value) - body.tell()} bytes left after the Avro body",
            ),
            writer.version,
        )
    if not isinstance(record, dict | Mapping):  # dict first: the ABC check is slower
        return Outcome(None, writer.version)
    return writer, record


@dataclass(frozen=True, slots=True)
class BatchVerdict:
    """The verdict on decoded records of one writer schema: each record's event time (None
    without one) and, by place in the batch, the outcome of each record that fails."""

    event_times: list[int | None]
    failed: dict[int, Outcome]


def judge(
    writer: WriterSchema,
    record: Mapping[str, object],
    violations: Sequence[RuleViolation],
    timestamp_ms: int | None,
    limits: EventTimeLimits,
) -> Outcome:
    """The verdict on a decoded record given the rules it broke (`RuleEvaluator.evaluate`):
    `judge_batch` of one record, so a record gets the same verdict alone as in a batch."""
    verdict = judge_batch(writer, [record], [violations], [timestamp_ms], limits)
    failed = verdict.failed.get(0)
    return failed if failed is not None else Outcome(None, writer.version, verdict.event_times[0])


def judge_batch(
    writer: WriterSchema,
    records: Sequence[Mapping[str, object]],
    violations: Sequence[Sequence[RuleViolation]],
    stamps: Sequence[int | None],
    limits: EventTimeLimits,
) -> BatchVerdict:
    """The verdict on decoded records of `writer` given the rules each broke
    (`RuleEvaluator.evaluate_batch`) and their Kafka timestamps (None: the record has none).

    The one place the event-time window is decided. A broken rule decides first; otherwise a
    record fails when its event time lies more than `max_future_ms` after, or `max_past_ms`
    before, its timestamp. Passing records cost one comparison or two each, no call."""
    event = writer.event_time
    if event is None:
        moments: list[int | None] = [None] * len(records)
    else:
        name = event.name
        moments = event.millis_of([record.get(name) for record in records])
    ahead, behind = limits.max_future_ms, limits.max_past_ms
    version = writer.version
    failed: dict[int, Outcome] = {}
    for i, (broken, moment, stamp) in enumerate(zip(violations, moments, stamps, strict=True)):
        if broken:
            failed[i] = _rules_broken(broken, version, moment)
        elif moment is not None and stamp is not None:
            if ahead is not None and moment - stamp > ahead:
                failure = _too_far(Reason.EVENT_TIME_FUTURE, moment - stamp, ahead)
                failed[i] = Outcome(failure, version, moment)
            elif behind is not None and stamp - moment > behind:
                failure = _too_far(Reason.EVENT_TIME_PAST, stamp - moment, behind)
                failed[i] = Outcome(failure, version, moment)
    return BatchVerdict(moments, failed)


def _rules_broken(
    violations: Sequence[RuleViolation], version: int, event_ms: int | None
) -> Outcome:
    names = tuple(v.rule_name for v in violations)
    message = "; ".join(f"{v.rule_name}: {v.message}" for v in violations)
    failure = Failure(Reason.RULE_VIOLATION, message, names[0], names)
    return Outcome(failure, version, event_ms, violations)


def _too_far(reason: Reason, distance_ms: int, allowed_ms: int) -> Failure:
    """The failure of an event time `distance_ms` away from its record's timestamp, on the side
    `reason` names; `judge_batch` decided that it lies outside the window."""
    side = "after" if reason is Reason.EVENT_TIME_FUTURE else "before"
    return Failure(
        reason,
        f"event time is {distance_ms / 1000:.3f}s {side} the record timestamp "
        f"(at most {allowed_ms / 1000:g}s allowed)",
    )
