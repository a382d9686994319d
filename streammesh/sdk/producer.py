"""`ProductProducer`: publish records to a product topic, checked against its contract first.

A record is refused before it leaves the process when its shape does not match the product's
Avro value schema or it breaks one of the product's CEL quality rules (evaluated on the native
runtime with confluent's semantics). A refused record raises `ContractViolation`, or, with
`on_invalid="dlq"`, goes to `<topic>.dlq` with headers saying why. `on_invalid="send"` checks
the Avro shape only (the wire format needs it) and sends records without evaluating the rules,
as a producer off the paved road would: the injected bad records the quality monitor is there
to catch, or a benchmark's load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Self

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.schema_registry import RegisteredSchema
from confluent_kafka.serialization import MessageField, SerializationContext

from streammesh.contracts import RuleEvaluator
from streammesh.deadletter import PayloadFormat, Reason, dead_letter_headers, dlq_topic
from streammesh.sdk.catalog import Product
from streammesh.sdk.convert import to_json
from streammesh.sdk.errors import ContractViolation, SdkError
from streammesh.sdk.partition import partition_of
from streammesh.sdk.produce import produce
from streammesh.serde import AvroSerializer, SchemaRegistry, SerdeError, SubjectNameStrategy

OnInvalid = Literal["raise", "dlq", "send"]
Headers = Mapping[str, str | bytes] | Sequence[tuple[str, str | bytes]]
#: Headers as confluent's producer takes them.
WireHeaders = list[tuple[str, str | bytes | None]]


class Outcome(StrEnum):
    """Where `publish` sent a record."""

    SENT = "sent"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a record does not fit the contract: broken rule names and one reason per problem."""

    rules: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Published:
    """What `publish` did with a record, and why the contract refused it when it was
    dead-lettered."""

    outcome: Outcome
    refusal: Refusal | None = None


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """The broker's answer for one record: where it landed, or why it did not."""

    topic: str
    partition: int | None
    offset: int | None
    error: str | None
    key: bytes | None

    @property
    def ok(self) -> bool:
        return self.error is None


DeliveryCallback = Callable[[DeliveryReport], None]


def subject_of(subject: str) -> SubjectNameStrategy:
    """A strategy naming `subject` whatever the topic: a product's records carry its own
    schema ids, on its topic or on a copy of it."""
    return lambda _ctx, _record_name: subject


class ContractValidator:
    """The product's contract for one record: Avro shape, then the WRITE-mode CEL rules."""

    def __init__(
        self, registry: SchemaRegistry, topic: str, subject: str, value: RegisteredSchema
    ) -> None:
        self._topic = topic
        self._ctx = SerializationContext(topic, MessageField.VALUE)
        self._serializer = AvroSerializer(
            registry,
            value.schema,
            auto_register_schemas=False,
            use_latest_version=True,
            subject_name_strategy=subject_of(subject),
        )
        rule_set = value.schema.rule_set
        self._rules = RuleEvaluator.from_rule_set(
            rule_set.to_dict() if rule_set is not None else {}, "WRITE", schema=value.schema
        )

    def check(
        self, record: Mapping[str, Any], *, rules: bool = True
    ) -> tuple[bytes | None, Refusal | None]:
        """The encoded value when the record passes; otherwise the refusal (and the encoded
        value if only rules failed, so a dead letter keeps the product's wire format). With
        `rules` False only the Avro shape is checked."""
        try:
            payload = self._serializer(record, self._ctx)
        except SerdeError as exc:
            return None, Refusal((), (str(exc),))
        if not rules:
            return payload, None
        violations = [v for v in self._rules.evaluate(record) if v.on_failure != "NONE"]
        if not violations:
            return payload, None
        return payload, Refusal(
            tuple(v.rule_name for v in violations),
            tuple(f"{v.rule_name}: {v.message}" for v in violations),
        )


class ProductProducer:
    """Publishes records of one product; create it with `Mesh.producer`.

    Sends are asynchronous and batched by the producer's `linger.ms`; `flush()` waits for the
    delivery reports, and leaving the `with` block flushes. `on_delivery` is called (from
    `publish`, `poll` or `flush`) with a `DeliveryReport` for every record sent. `topic`
    writes to a copy of the product's topic (a test's or a benchmark's) instead of its own;
    records still carry the product's schema ids.
    """

    def __init__(
        self,
        product: Product,
        producer: Producer,
        registry: SchemaRegistry,
        value: RegisteredSchema,
        *,
        on_invalid: OnInvalid = "raise",
        on_delivery: DeliveryCallback | None = None,
        topic: str | None = None,
    ) -> None:
        if on_invalid not in ("raise", "dlq", "send"):
            raise SdkError(f"on_invalid must be 'raise', 'dlq' or 'send', not {on_invalid!r}")
        self.product = product
        self.value_schema = value
        self.topic = topic or product.topic
        self.dlq_topic = dlq_topic(self.topic)
        self._producer = producer
        self._validator = ContractValidator(registry, self.topic, product.value_subject, value)
        self._key_serializer = (
            AvroSerializer(
                registry,
                auto_register_schemas=False,
                use_latest_version=True,
                subject_name_strategy=subject_of(product.key_subject),
            )
            if product.key_subject is not None
            else None
        )
        self._partitions: int | None = None
        self._key_ctx = SerializationContext(self.topic, MessageField.KEY)
        self._on_invalid = on_invalid
        self._on_delivery = on_delivery
        self.sent = 0
        self.dead_lettered = 0
        self.delivered = 0
        self.failed = 0

    # --- publishing

    def validate(self, record: Mapping[str, Any]) -> Refusal | None:
        """Why `record` would be refused, or None if it fits the contract."""
        return self._validator.check(record)[1]

    def publish(
        self,
        record: Mapping[str, Any],
        *,
        key: Any = None,
        partition_by: str | None = None,
        headers: Headers | None = None,
        timestamp: datetime | int | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> Published:
        """Check `record` against the contract, then queue it for sending.

        `partition_by` places the record as Kafka's Java default partitioner places one keyed
        by that text (`partition.partition_of`), whatever the key's Avro bytes; without it the
        producer's partitioner hashes the key as serialized.

        Raises `ContractViolation` for a refused record (unless `on_invalid="dlq"`
        dead-letters it), `SdkError` if the key does not fit the key schema.
        """
        key_bytes = self.serialize_key(key)
        payload, refusal = self._validator.check(record, rules=self._on_invalid != "send")
        if refusal is None:
            callback = self._callback(on_delivery)
            stamp = _millis(timestamp)
            partition = -1 if partition_by is None else self.partition_of(partition_by)
            self._produce(
                self.topic, payload, key_bytes, _headers(headers), stamp, callback, partition
            )
            self.sent += 1
            return Published(Outcome.SENT)
        if self._on_invalid != "dlq":
            raise ContractViolation(self.product.ref, refusal.reasons, refusal.rules)
        fmt = PayloadFormat.AVRO
        if payload is None:  # it does not fit the Avro schema: keep it readable as JSON
            fmt = PayloadFormat.JSON
            payload = json.dumps(to_json(record), sort_keys=True).encode()
        outcome = self.dead_letter(
            payload,
            refusal,
            fmt=fmt,
            key=key_bytes,
            headers=headers,
            timestamp=timestamp,
            on_delivery=on_delivery,
        )
        return Published(outcome, refusal)

    def partition_of(self, text: str) -> int:
        """The partition of `self.topic` a record placed by `text` goes to."""
        if self._partitions is None:
            # the count Kafka reports, as Java's partitioner uses; read once per producer
            metadata = self._producer.list_topics(self.topic, timeout=30).topics.get(self.topic)
            if metadata is None or metadata.error is not None or not metadata.partitions:
                raise SdkError(f"topic {self.topic} has no partitions to place records on")
            self._partitions = len(metadata.partitions)
        return partition_of(text, self._partitions)

    def dead_letter(
        self,
        payload: bytes,
        refusal: Refusal,
        *,
        fmt: PayloadFormat,
        key: bytes | None = None,
        headers: Headers | None = None,
        timestamp: datetime | int | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> Outcome:
        """Send `payload` to the product's dead-letter topic with headers saying why.

        `fmt` names what the payload is (Avro, JSON or text), so a reader can decode it;
        `publish` calls this for refused records with `on_invalid="dlq"`, and a caller can send
        input that never became a record (a line that is not JSON) the same way.
        """
        dlq_headers = dead_letter_headers(
            _headers(headers),
            reason=Reason.RULE_VIOLATION if refusal.rules else Reason.UNDECODABLE,
            message="; ".join(refusal.reasons),
            rules=refusal.rules,
            product=self.product.ref,
            subject=self.product.value_subject,
            topic=self.topic,
            fmt=fmt,
        )
        callback = self._callback(on_delivery)
        self._produce(self.dlq_topic, payload, key, dlq_headers, _millis(timestamp), callback)
        self.dead_lettered += 1
        return Outcome.DEAD_LETTERED

    def serialize_key(self, key: Any) -> bytes | None:
        """`key` as this product's records carry it: Avro in the wire format when the product
        has a key schema, else UTF-8 text or the bytes given; `SdkError` if it does not fit."""
        if key is None:
            return None
        if self._key_serializer is None:
            if isinstance(key, bytes):
                return key
            if isinstance(key, str):
                return key.encode()
            raise SdkError(f"{self.product.ref} has no key schema: give the key as str or bytes")
        try:
            return self._key_serializer(key, self._key_ctx)
        except SerdeError as exc:
            raise SdkError(f"key {key!r} does not fit the key schema: {exc}") from exc

    def _produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: WireHeaders,
        timestamp: int,
        callback: Callable[[KafkaError | None, Message], None],
        partition: int = -1,  # -1: the producer's partitioner decides
    ) -> None:
        produce(
            self._producer,
            topic,
            value,
            key,
            partition=partition,
            headers=headers or None,
            timestamp=timestamp,
            on_delivery=callback,
        )
        self._producer.poll(0)

    def _callback(
        self, on_delivery: DeliveryCallback | None
    ) -> Callable[[KafkaError | None, Message], None]:
        user = on_delivery or self._on_delivery

        def report(error: KafkaError | None, message: Message) -> None:
            if error is None:
                self.delivered += 1
            else:
                self.failed += 1
            if user is not None:
                user(
                    DeliveryReport(
                        topic=message.topic() or "",
                        partition=message.partition(),
                        offset=message.offset(),
                        error=None if error is None else str(error.str()),
                        key=message.key(),
                    )
                )

        return report

    # --- lifecycle

    def poll(self, timeout: float = 0) -> int:
        """Serve delivery reports; returns how many were served."""
        return self._producer.poll(timeout)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait until every queued record is delivered (or `timeout`); returns how many are
        still queued (0 when all were delivered or failed)."""
        return self._producer.flush(timeout)

    def close(self, timeout: float = 30.0) -> None:
        remaining = self.flush(timeout)
        if remaining:
            raise SdkError(f"{remaining} records to {self.topic} were not delivered in {timeout}s")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _headers(headers: Headers | None) -> WireHeaders:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(name, value.encode() if isinstance(value, str) else value) for name, value in items]


def _millis(timestamp: datetime | int | None) -> int:
    if timestamp is None:
        return 0  # the producer's clock
    if isinstance(timestamp, datetime):
        return int(timestamp.timestamp() * 1000)
    return timestamp
