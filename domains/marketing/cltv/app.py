"""The CLTV processor as a Faust app: two stages, two tables, two products, a query API.

Stage one (`on_input`, which the consumer's fetch loop calls for each record: `fetch.py`;
the agent `customers` only subscribes the topics) reads `sales.orders.v1` and
`customers.profiles.v1`, which are co-partitioned by customer, into the `state` table
(customers, order marks and this partition's per-segment partials; see `logic.py`) and
publishes each changed customer's value to `marketing.customer_lifetime_value.v1`. Changed
partials are sent on, coalesced, every `flush_interval_seconds` (and all of them every
`resync_interval_seconds`) to the internal topic `<app_id>-segment-partials`, keyed by segment.

Stage two (agent `segments`) folds the partials into the `segments` table, one record per
segment holding every source partition's latest partial and their sum, and publishes
`marketing.cltv_by_segment.v1`.

Queries: `GET /cltv/customers/{customer_id}` and `GET /cltv/segments/{segment}`, answered by
any worker: `table_route` forwards a request to the worker owning the key's partition. The
state table's customer keys are the ids' UTF-8 bytes, hashed by murmur2 like the generators
place the inputs, so the router finds the owner.

Writes (changelog records, products, partials) go through one `DirectProducer`, flushed before
every offset commit; Faust still consumes, recovers tables, rebalances and serves the views.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import faust
import orjson
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField
from faust.serializers.codecs import Codec
from faust.transport.producer import ProducerBuffer
from faust.types import EventT, Message, StreamT
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from domains.marketing.cltv.codec import AvroCodec, StateCodec, encode_state
from domains.marketing.cltv.fetch import App as FetchApp
from domains.marketing.cltv.logic import (
    LOGICAL_READS,
    CustomerProcessor,
    CustomerState,
    Partial,
    SegmentState,
    StateValue,
    apply_partial,
    parse_partial_key,
    partial_key,
)
from domains.marketing.cltv.metrics import LatencyHistogram
from domains.marketing.cltv.metrics import register as register_metrics
from domains.marketing.cltv.model import CltvModel, load_model
from domains.marketing.cltv.producer import DirectProducer
from domains.marketing.cltv.settings import CltvSettings
from streammesh.deadletter import PayloadFormat, Reason, dead_letter_headers, dlq_config, dlq_topic
from streammesh.sdk.convert import to_json
from streammesh.serde import (
    AvroDeserializer,
    AvroSerializer,
    RecordMismatchError,
    RegistryLookupError,
    SerdeError,
    UnknownSchemaIdError,
)
from streammesh.settings import registry_client_config

log = logging.getLogger(__name__)

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "avro" / "marketing"
SEGMENTS = ("consumer", "small_business", "enterprise")


class Utf8Codec(Codec):
    """`str` keys as UTF-8 bytes both ways (Faust's `raw` decodes to bytes)."""

    def _dumps(self, s: Any) -> bytes:
        return s if isinstance(s, bytes) else str(s).encode()

    def _loads(self, s: bytes) -> Any:
        return s.decode()


#: What `decode_input` gives for a payload that is not a record of any registered schema.
UNREADABLE: Final = b""


def decode_input(decode: Callable[[bytes | None], Any], payload: bytes | None) -> Any:
    """The decoded record, or `UNREADABLE` for a payload that can never decode (no magic byte,
    truncated, an id the registry does not know).

    A registry that cannot answer (down, 401, 5xx) is raised, not counted: the record is then
    neither acked nor committed, so it is read again rather than skipped for good.
    """
    try:
        return decode(payload)
    except UnknownSchemaIdError:
        return UNREADABLE
    except RegistryLookupError:
        raise
    except SerdeError:
        return UNREADABLE


def cltv_record(customer: CustomerState, model: CltvModel) -> dict[str, object]:
    """The `marketing.customer_lifetime_value.v1` value of a customer."""
    return {
        "customer_id": customer.customer_id,
        "segment": customer.segment,
        "lifetime_value": customer.lifetime_value,
        "net_revenue": customer.net_revenue,
        "currency": model.currency,
        "order_count": customer.order_count,
        "first_order_time": customer.first_order_ms,
        "last_order_time": customer.last_order_ms,
        "model_version": model.version,
    }


def segment_record(segment: str, state: SegmentState, currency: str) -> dict[str, object]:
    """The `marketing.cltv_by_segment.v1` value of a segment."""
    return {
        "segment": segment,
        "customer_count": state.customers,
        "total_lifetime_value": state.total,
        "average_lifetime_value": state.average(),
        "currency": currency,
        "updated_at": int(time.time() * 1000),
    }


def _json(record: Mapping[str, object]) -> dict[str, object]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in record.items()}


def encode_partial(partition: int, partial: Partial) -> bytes:
    return orjson.dumps([partition, partial.customers, str(partial.total)])


def decode_partial(data: bytes) -> tuple[int, int, Decimal]:
    partition, customers, total = orjson.loads(data)
    return int(partition), int(customers), Decimal(total)


def _product_codecs(
    registry: SchemaRegistryClient, topic: str, schema: str, auto_register: bool
) -> tuple[AvroCodec, AvroCodec]:
    def codec(field: MessageField, file: str) -> AvroCodec:
        if auto_register:
            serializer = AvroSerializer(registry, (SCHEMAS / file).read_text("utf-8"))
        else:  # the registered product schema, with the rules the catalog attached
            serializer = AvroSerializer(
                registry, auto_register_schemas=False, use_latest_version=True
            )
        return AvroCodec(topic=topic, field=field, serializer=serializer)

    return codec(MessageField.KEY, f"{schema}_key.avsc"), codec(
        MessageField.VALUE, f"{schema}.avsc"
    )


@dataclass(frozen=True, slots=True)
class ProductWriter:
    """Writes a product's records, encoded by its codecs, through the `DirectProducer`."""

    direct: DirectProducer
    topic: str
    key_codec: AvroCodec
    value_codec: AvroCodec
    #: Encoded keys: a customer's key is written again with every change of its value.
    keys: dict[str, bytes] = field(default_factory=dict)

    KEYS_KEPT = 100_000

    def write(self, key: str, value: Mapping[str, object]) -> bool:
        """Queue the record; False when its value does not fit the product's schema (a lifetime
        value beyond its decimal's precision, say): then the record goes, as JSON, to the
        product's dead-letter topic with the reason, and the state that made it is kept. A
        record the product cannot carry must not stop the worker: restarted, it would meet the
        same record again."""
        key_bytes = self.keys.get(key)
        if key_bytes is None:
            if len(self.keys) >= self.KEYS_KEPT:
                self.keys.clear()
            key_bytes = self.keys[key] = self.key_codec.dumps(key)
        try:
            value_bytes = self.value_codec.dumps(value)
        except RecordMismatchError as exc:  # a registry that cannot answer is raised, not this
            self._dead_letter(key_bytes, value, exc)
            return False
        self.direct.produce(self.topic, key_bytes, value_bytes)
        return True

    def _dead_letter(self, key: bytes, value: Mapping[str, object], error: Exception) -> None:
        log.error("%s: a record for %r does not fit the product schema: %s", self.topic, key, error)
        headers = dead_letter_headers(
            None,
            reason=Reason.UNDECODABLE,
            message=str(error),
            topic=self.topic,
            subject=f"{self.topic}-value",
            fmt=PayloadFormat.JSON,
        )
        # json, not orjson: an integer past 64 bits (one reason a record may not fit) is kept
        payload = json.dumps({name: to_json(item) for name, item in value.items()}).encode()
        self.direct.produce(dlq_topic(self.topic), key, payload, headers=headers)


def create_app(
    settings: CltvSettings,
    *,
    model: CltvModel | None = None,
    registry: CollectorRegistry | None = None,
) -> faust.App:
    """The processor's Faust app; nothing connects until a worker starts it.

    Its metrics go to `registry` (a new one by default), served at `GET /metrics`.
    """
    model = model or load_model(settings.model_path)
    return CltvProcessor(settings, model, registry or CollectorRegistry()).app


def partials_topic_name(settings: CltvSettings) -> str:
    return f"{settings.app_id}-segment-partials"


def internal_topics(settings: CltvSettings) -> dict[str, dict[str, str]]:
    """The topics the worker makes sure of: its own (the partials, the table changelogs) and
    the dead-letter topics of the two products it writes (`ProductWriter.write`), which
    `streammesh apply` makes too; without one, a dead letter would stop the worker."""
    compact = {"cleanup.policy": "compact"}
    letters = dlq_config("compact", -1)  # both products are compacted tables
    return {
        partials_topic_name(settings): {},
        f"{settings.app_id}-state-changelog": compact,
        f"{settings.app_id}-segments-changelog": compact,
        dlq_topic(settings.cltv_topic): letters,
        dlq_topic(settings.segments_topic): letters,
    }


def ensure_internal_topics(settings: CltvSettings, timeout: float = 30.0) -> None:
    """Create the internal topics and wait for their leaders before the worker starts.

    Faust creates them itself, but a worker that subscribes or checks partition counts right
    after, while the metadata does not show them yet, ignores the topic for good or crashes
    its agent with `PartitionsMismatch` (seen when two workers start together).
    """
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    wanted = internal_topics(settings)
    new = [
        NewTopic(
            name,
            num_partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            config=config,
        )
        for name, config in wanted.items()
    ]
    for future in admin.create_topics(new, operation_timeout=timeout).values():
        try:
            future.result(timeout=timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    deadline = time.monotonic() + timeout
    for name in wanted:
        while True:
            metadata = admin.list_topics(topic=name, timeout=timeout).topics[name]
            partitions = metadata.partitions.values()
            if metadata.error is None and all(p.leader >= 0 for p in partitions) and partitions:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} has no leaders after {timeout:.0f}s")
            time.sleep(0.1)


class DrainingProducerBuffer(ProducerBuffer):
    """Faust's buffer of table changelog writes, whose `flush` really drains it.

    Faust flushes the producer before it commits offsets (at least once), but the stock
    `flush` returns as soon as no message left the buffer for 0.1 s, with changelog writes
    still queued: a commit then covers events whose state is lost if the worker dies.

    It also holds more before it makes the agent wait (Faust's 100 stalls an agent writing a
    few records per event on nearly every event); commits drain it whatever its size.
    """

    max_messages = 5000
    direct: DirectProducer | None = None

    async def flush(self) -> None:
        while self.size:
            await self.flush_atmost(None)
        if self.direct is not None:
            await self.direct.flush()


def _flush_everything_before_commits(app: faust.App, direct: DirectProducer) -> None:
    producer = app.producer
    buffer = DrainingProducerBuffer(loop=producer.loop, beacon=producer.beacon)
    buffer.app = app
    buffer.direct = direct
    producer.buffer = buffer  # before the producer starts: it starts its buffer then


class DirectTable(faust.Table[str, Any]):
    """A table whose changelog records go through the `DirectProducer`."""

    direct: DirectProducer
    key_codec: Codec
    value_codec: Codec

    def on_key_set(self, key: str, value: Any) -> None:
        partition = self.partition_for_key(key)  # the current event's partition
        self.direct.produce(
            self.changelog_topic.get_topic_name(),
            self.key_codec.dumps(key),
            self.value_codec.dumps(value),
            partition,
        )
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: str) -> None:
        partition = self.partition_for_key(key)
        self.direct.produce(
            self.changelog_topic.get_topic_name(), self.key_codec.dumps(key), None, partition
        )
        self._sensor_on_del(self, key)


class TableState(MutableMapping[str, StateValue]):
    """The state table as `logic.py` sees it, for the agent's event in `partition`.

    Reads and writes go to the table's in-memory store, and each write sends its changelog
    record to `partition` through the `DirectProducer` in the order made (the prefix property
    of `logic.py`). Faust's own `Table.__setitem__` would do the same with a lookup of the
    current event and sensor calls per write, a large share of an order's cost.
    """

    def __init__(self, table: DirectTable) -> None:
        self._table = table
        self._direct = table.direct
        self._changelog = table.changelog_topic.get_topic_name()
        self.partition = 0

    @property
    def _data(self) -> MutableMapping[str, Any]:
        # the memory store's dict, looked up per call: Faust may replace the store
        data: MutableMapping[str, Any] = self._table.data.data
        return data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __getitem__(self, key: str) -> StateValue:
        value: StateValue = self._data[key]
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __setitem__(self, key: str, value: StateValue) -> None:
        self._data[key] = value
        # the bytes of the table's codecs (Utf8Codec, StateCodec), without Faust's wrappers
        self._direct.produce(self._changelog, key.encode(), encode_state(value), self.partition)

    def __delitem__(self, key: str) -> None:
        raise NotImplementedError("the processor never deletes state")

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _table(
    app: faust.App, name: str, partitions: int, keys: Codec, direct: DirectProducer
) -> DirectTable:
    """A table whose changelog carries `keys` and `StateCodec` records.

    Faust derives a table's serializers from its key and value types (JSON unless they are
    Records) and ignores a `schema`: the changelog topic is given explicitly, so recovery
    decodes what was written and routing hashes the key bytes the inputs were placed by.
    """
    values = StateCodec()
    changelog = app.topic(
        f"{app.conf.id}-{name}-changelog",
        key_serializer=keys,
        value_serializer=values,
        partitions=partitions,
        compacting=True,
        internal=True,
        acks=False,
        maxsize=131_072,  # as Faust's own: changelogs are read without commits
        allow_empty=True,
    )
    table = app.Table(name, partitions=partitions, changelog_topic=changelog)
    assert isinstance(table, DirectTable)  # the app's Table class
    table.direct, table.key_codec, table.value_codec = direct, keys, values
    return table


class CltvProcessor:
    """Builds the Faust app and holds what its agents, timer and views share."""

    def __init__(
        self, settings: CltvSettings, model: CltvModel, metrics: CollectorRegistry
    ) -> None:
        self.settings = settings
        self.model = model
        self.metrics = metrics
        registry = SchemaRegistryClient(
            registry_client_config(settings.registry_url, settings.registry_user_info)
        )
        self.app = app = FetchApp(
            settings.app_id,
            broker=[
                f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")
            ],
            store="memory://",  # recovery replays the changelog: the prefix logic.py relies on
            topic_partitions=settings.partitions,
            topic_replication_factor=settings.replication_factor,
            # Faust's exactly-once lost state under SIGKILL in our tests (its transactional
            # commit does not drain the changelog buffer); results are exact at least once
            processing_guarantee="at_least_once",
            Table=DirectTable,
            table_standby_replicas=settings.standby_replicas,
            broker_commit_interval=settings.commit_interval_seconds,
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            stream_recovery_delay=settings.recovery_delay_seconds,
            consumer_group_instance_id=settings.group_instance_id,
            broker_session_timeout=settings.session_timeout_seconds,
            broker_heartbeat_interval=min(3.0, settings.session_timeout_seconds / 3),
            consumer_auto_offset_reset="earliest",
            web_host=settings.web_host,
            web_port=settings.web_port,
            web_bind=settings.web_host,
            canonical_url=settings.url,
            datadir=str(settings.data_dir),
            autodiscover=False,
        )
        self.direct = DirectProducer(settings.bootstrap_servers)
        _flush_everything_before_commits(app, self.direct)
        self.key_codec = keys = Utf8Codec()
        self.inputs = app.topic(
            settings.orders_topic,
            settings.profiles_topic,
            key_serializer="raw",
            # decoded in the agent: Faust's codec layers per record cost more than the decoding
            value_serializer="raw",
        )
        # decoding needs only the schema id in each payload: one deserializer reads both topics,
        # converting only the logical values the logic reads (not every line's price)
        self.decode = AvroDeserializer(registry, reads=LOGICAL_READS.__contains__)
        auto = settings.auto_register_schemas
        self.cltv_out = ProductWriter(
            self.direct,
            settings.cltv_topic,
            *_product_codecs(registry, settings.cltv_topic, "customer_lifetime_value", auto),
        )
        self.segments_out = ProductWriter(
            self.direct,
            settings.segments_topic,
            *_product_codecs(registry, settings.segments_topic, "cltv_by_segment", auto),
        )
        self.partials_topic = app.topic(
            partials_topic_name(settings),
            key_serializer=keys,
            value_serializer="raw",
            partitions=settings.partitions,
            internal=True,
        )
        self.state = _table(app, "state", settings.partitions, keys, self.direct)
        self.segments = _table(app, "segments", settings.partitions, keys, self.direct)
        self.state_view = TableState(self.state)
        self.processor = CustomerProcessor(self.state_view, model)
        self.counts: Counter[str] = Counter()
        self.dirty: set[str] = set()
        self.resynced: dict[int, float] = {}  # partition -> when its partials were last resent
        self.announced: set[str] = set()  # segments published since this worker started
        self.next_offsets: dict[tuple[str, int], int] = {}  # input (topic, partition) -> offset
        self.latency = LatencyHistogram()
        register_metrics(metrics, self.counts, self.latency, self.positions)

        app.agent(self.inputs, concurrency=1, name="customers")(self.customers)
        app.inline.update(
            {settings.orders_topic: self.on_input, settings.profiles_topic: self.on_input}
        )
        app.timer(settings.flush_interval_seconds, name="flush_partials")(self.flush_partials)
        app.agent(self.partials_topic, concurrency=1, name="segments")(self.segment_aggregates)
        self._add_views()

    async def customers(self, stream: StreamT[Any]) -> None:
        """Subscribes the inputs (and ties the state table's partitions to theirs).

        Their records never reach this stream: the consumer hands them to `on_input` as it
        fetches them (`fetch.App.inline`), without Faust's per-record stream machinery.
        """
        async for _event in stream.events():
            raise RuntimeError("input records are processed by on_input, not by the agent")

    def on_input(self, message: Message) -> None:
        """Stage one: an order or profile into customer state, partials and customer value."""
        kind = "orders" if message.topic == self.settings.orders_topic else "profiles"
        value = decode_input(self.decode, message.value)  # UNREADABLE is counted below
        self.state_view.partition = message.partition
        self.next_offsets[message.topic, message.partition] = message.offset + 1
        if kind == "orders":
            if not isinstance(value, dict):
                self.counts["orders.unreadable"] += 1
                return
            outcome = self.processor.on_order(message.partition, message.offset, value)
        else:
            if not (value is None or isinstance(value, dict)):
                self.counts["profiles.unreadable"] += 1
                return
            outcome = self.processor.on_profile(message.partition, message.offset, value)
        self.counts[f"{kind}.{outcome.result}"] += 1
        self.dirty.update(outcome.partials)
        if outcome.customer is not None:
            record = cltv_record(outcome.customer, self.model)
            if not self.cltv_out.write(outcome.customer.customer_id, record):
                self.counts["outputs.customer_lifetime_value"] += 1
            if kind == "orders" and message.timestamp is not None:
                self.latency.observe(time.time() - message.timestamp)

    def positions(self) -> dict[tuple[str, int], tuple[int, int | None]]:
        """Next offset and high watermark of each owned input partition processed so far."""
        inputs = (self.settings.orders_topic, self.settings.profiles_topic)
        consumer = self.app.consumer
        out: dict[tuple[str, int], tuple[int, int | None]] = {}
        for tp in self.app.assignor.assigned_actives():
            position = self.next_offsets.get((tp.topic, tp.partition))
            if tp.topic in inputs and position is not None:
                out[tp.topic, tp.partition] = (position, consumer.highwater(tp))
        return out

    def owned_partitions(self) -> set[int]:
        """The orders partitions this worker processes now."""
        return {
            tp.partition
            for tp in self.app.assignor.assigned_actives()
            if tp.topic == self.settings.orders_topic
        }

    async def flush_partials(self) -> None:
        """Send changed partials of owned partitions on; all of them now and then."""
        owned = self.owned_partitions()
        now = time.monotonic()
        for partition in owned:
            if now - self.resynced.get(partition, 0.0) >= self.settings.resync_interval_seconds:
                self.resynced[partition] = now
                self.dirty.update(partial_key(partition, segment) for segment in SEGMENTS)
        for partition in set(self.resynced) - owned:
            del self.resynced[partition]
        batch = [key for key in self.dirty if parse_partial_key(key)[0] in owned]
        self.dirty.clear()
        for key in batch:
            if key not in self.state:
                continue
            partition, segment = parse_partial_key(key)
            # not tied to a commit: resends make a lost partial harmless
            value = encode_partial(partition, self.processor.partial(key))
            topic = self.partials_topic.get_topic_name()
            self.direct.produce(topic, self.key_codec.dumps(segment), value)

    async def segment_aggregates(self, stream: StreamT[Any]) -> None:
        """Stage two: partials into one aggregate record per segment."""
        event: EventT[Any]
        async for event in stream.events():
            segment = str(event.key)
            partition, customers, total = decode_partial(event.value)
            current = self.segments.get(segment)
            before = current if isinstance(current, SegmentState) else SegmentState()
            after = apply_partial(before, partition, customers, total)
            self.counts[f"partials.{'applied' if after is not None else 'unchanged'}"] += 1
            if after is not None:
                self.segments[segment] = after
            elif segment in self.announced:
                continue
            # published on a change, and once per segment after a (re)start: heals a lost write
            self.announced.add(segment)
            record = segment_record(segment, after or before, self.model.currency)
            if not self.segments_out.write(segment, record):
                self.counts["outputs.cltv_by_segment"] += 1

    def _add_views(self) -> None:
        app, processor, segments, model = self.app, self.processor, self.segments, self.model

        @app.page("/cltv/customers/{customer_id}")
        @app.table_route(table=self.state, match_info="customer_id")
        async def customer_view(web: View, request: Request, customer_id: str) -> Response:
            customer = processor.customer(customer_id)
            if customer is None or customer.placed == 0:
                return web.json({"error": f"no orders of customer {customer_id}"}, status=404)
            return web.json(_json(cltv_record(customer, model)))

        @app.page("/cltv/segments/{segment}")
        @app.table_route(table=segments, match_info="segment")
        async def segment_view(web: View, request: Request, segment: str) -> Response:
            current = segments.get(segment)
            if not isinstance(current, SegmentState):
                return web.json({"error": f"no customers in segment {segment}"}, status=404)
            return web.json(_json(segment_record(segment, current, model.currency)))

        @app.page("/metrics")
        async def metrics_view(web: View, request: Request) -> Response:
            # aiohttp refuses a charset inside content_type: the header is set as it is
            headers = {"Content-Type": CONTENT_TYPE_LATEST}
            return web.bytes(generate_latest(self.metrics), headers=headers)

        @app.page("/cltv/stats")
        async def stats_view(web: View, request: Request) -> Response:
            counts = dict(self.counts)
            return web.json({"counts": counts, "partitions": sorted(self.owned_partitions())})
