"""The CLTV processor as a Faust app: two stages, two tables, two products, a query API.

Stage one (`on_input`, which the consumer's fetch loop, `streammesh.faust.fetch`, calls for
each record; the agent `customers` only subscribes the topics) reads `sales.orders.v1` and
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
The Faust plumbing (fetch loop, producer, tables, topics, codecs, product writer) is the
platform's `streammesh.faust`; this module wires it to marketing's logic.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import faust
import orjson
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.serialization import MessageField
from faust.types import EventT, Message, StreamT
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from domains.marketing.cltv.codec import StateCodec, encode_state
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
from domains.marketing.cltv.settings import CltvSettings
from streammesh.faust import (
    App,
    AvroCodec,
    DirectProducer,
    DirectTable,
    ProductWriter,
    TableState,
    Utf8Codec,
    changelog_spec,
    decode_input,
    direct_table,
    flush_before_commits,
    writer_codec,
)
from streammesh.faust import topics as runtime_topics
from streammesh.sdk.topics import TopicSpec, dlq_spec
from streammesh.serde import AvroDeserializer
from streammesh.settings import registry_client_config

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "avro" / "marketing"
SEGMENTS = ("consumer", "small_business", "enterprise")


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
    """A product's writer codecs: our schema files registered (`auto_register`), or else the
    registered product schema, with the rules the catalog attached."""

    def codec(field: MessageField, file: str) -> AvroCodec:
        text = (SCHEMAS / file).read_text("utf-8") if auto_register else None
        return writer_codec(registry, topic, field, text)

    return codec(MessageField.KEY, f"{schema}_key.avsc"), codec(
        MessageField.VALUE, f"{schema}.avsc"
    )


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


def internal_topics(settings: CltvSettings) -> list[TopicSpec]:
    """The topics the worker makes sure of: its own (the partials, the table changelogs) and
    the dead-letter topics of the two products it writes (`ProductWriter.write`), which
    `streammesh apply` makes too; without one, a dead letter would stop the worker."""
    app_id, partitions = settings.app_id, settings.partitions
    products = {"cleanup.policy": "compact"}  # both products are compacted tables
    return [
        TopicSpec(partials_topic_name(settings), partitions, {}),
        changelog_spec(app_id, "state", partitions),
        changelog_spec(app_id, "segments", partitions),
        dlq_spec(settings.cltv_topic, partitions, products),
        dlq_spec(settings.segments_topic, partitions, products),
    ]


def ensure_internal_topics(settings: CltvSettings, timeout: float = 30.0) -> None:
    """Create the internal topics and wait for their leaders before the worker starts (see
    `streammesh.faust.topics` for why)."""
    runtime_topics.ensure_internal_topics(
        settings.bootstrap_servers,
        internal_topics(settings),
        security=settings.kafka_security,
        replication_factor=settings.replication_factor,
        timeout=timeout,
    )


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
        self.app = app = App(
            settings.app_id,
            broker=[
                f"kafka://{server.strip()}" for server in settings.bootstrap_servers.split(",")
            ],
            security=settings.kafka_security,
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
        self.direct = DirectProducer(settings.bootstrap_servers, security=settings.kafka_security)
        flush_before_commits(app, self.direct)
        self.key_codec = keys = Utf8Codec()
        self.inputs = app.topic(
            settings.orders_topic,
            settings.profiles_topic,
            key_serializer="raw",
            # decoded in on_input: Faust's codec layers per record cost more than the decoding
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
        # the changelogs carry the state records of `codec.py`; see `streammesh.faust.tables`
        values = StateCodec()
        self.state = direct_table(app, "state", settings.partitions, keys, values, self.direct)
        self.segments = direct_table(
            app, "segments", settings.partitions, keys, values, self.direct
        )
        self.state_view: TableState[StateValue] = TableState(self.state, encode_state)
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
        fetches them (`streammesh.faust.App.inline`), without Faust's per-record stream machinery.
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
