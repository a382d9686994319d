"""Following the catalog: which products to watch, their dead-letter topics, the subscription.

The catalog, the topics' metadata and the value subjects are read on a thread of their own
(network round trips the checking loop does not wait for); the loop applies the newest read
between two batches and subscribes to what `apply` returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from services.quality_monitor.catalog import CatalogReader, SubjectResolver, subject_readable
from services.quality_monitor.errors import CatalogUnavailableError
from services.quality_monitor.metrics import MonitorMetrics, ProductRecorder
from services.quality_monitor.settings import MonitorSettings
from streammesh.deadletter import dlq_topic
from streammesh.products.catalog import DataProductPublic
from streammesh.sdk.errors import SdkError
from streammesh.sdk.topics import ensure_topics, has_leaders, topic_specs

log = logging.getLogger(__name__)

_TIMEOUT_SECONDS: Final = 10.0


@dataclass(slots=True)
class Watched:
    """One product the monitor follows, and what it has seen of it."""

    product: DataProductPublic
    resolver: SubjectResolver
    recorder: ProductRecorder
    freshness_ms: int | None
    checked: int = 0
    failed: int = 0
    newest_event_ms: int | None = None
    available: bool | None = None
    subscribed: bool = False

    @property
    def ref(self) -> str:
        return self.product.ref


@dataclass(frozen=True, slots=True)
class CatalogRead:
    """One read of the catalog, made off the loop: the active products, the topics that exist
    (and of those, the ones with a leader for every partition), and whether each value subject
    could be read."""

    products: tuple[DataProductPublic, ...]
    existing: frozenset[str]
    readable: frozenset[str]
    probed: Mapping[str, bool]


class CatalogFollower:
    """Reads the catalog on its own thread (`follow`) and turns the newest read into the
    products to watch (`apply_pending`, on the loop's thread)."""

    def __init__(self, settings: MonitorSettings, metrics: MonitorMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.watched: dict[str, Watched] = {}  # by topic; replaced, never mutated, by the loop
        self.read_once = False  # a read was applied: what to watch is known
        self._lock = threading.Lock()
        self._pending: CatalogRead | None = None  # read, not yet applied by the loop

    def recorder_of(self, ref: str) -> ProductRecorder | None:
        """The recorder of a product still watched (None: it left the catalog meanwhile)."""
        for w in self.watched.values():
            if w.ref == ref:
                return w.recorder
        return None

    # --- the reader's thread

    def follow(
        self,
        catalog: CatalogReader,
        admin: AdminClient,
        registry: SchemaRegistryClient,
        done: threading.Event,
    ) -> None:
        """Read the catalog, the topics and the subjects every `catalog_interval_seconds` until
        `done`; each read replaces the one the loop has not applied yet."""
        while not done.is_set():
            try:
                read = self.read(catalog, admin, registry)
            except Exception:  # the loop goes on with the last read; the next one may work
                log.exception("cannot read the catalog")
                read = None
            if read is not None:
                with self._lock:
                    self._pending = read
            done.wait(self.settings.catalog_interval_seconds)

    def read(
        self, catalog: CatalogReader, admin: AdminClient, registry: SchemaRegistryClient
    ) -> CatalogRead | None:
        """One read; a product topic without its dead-letter topic gets one on the way."""
        try:
            products = catalog.active_products()
        except CatalogUnavailableError as exc:
            self.metrics.catalog_polls.labels("error").inc()
            log.warning("%s", exc)
            return None
        self.metrics.catalog_polls.labels("ok").inc()
        try:
            metadata = admin.list_topics(timeout=_TIMEOUT_SECONDS).topics
        except KafkaException as exc:
            log.warning("cannot list topics: %s", exc)
            metadata = {}
        existing = {t for t, m in metadata.items() if m.error is None}
        probed = {p.value_subject: subject_readable(registry, p.value_subject) for p in products}
        for product in products:
            if product.topic in existing and dlq_topic(product.topic) not in existing:
                self._create_dlq(admin, product)
        return CatalogRead(
            products=tuple(products),
            existing=frozenset(existing),
            readable=frozenset(t for t in existing if has_leaders(metadata[t])),
            probed=probed,
        )

    def _create_dlq(self, admin: AdminClient, product: DataProductPublic) -> None:
        # The SDK's own spec: as many partitions as the product, delete, a finite retention.
        spec = topic_specs(product.descriptor)[1]
        try:
            created = ensure_topics(
                admin,
                [spec],
                replication_factor=self.settings.dlq_replication_factor,
                timeout=_TIMEOUT_SECONDS,
            )
        except (SdkError, KafkaException) as exc:  # tried again on the next read
            log.warning("cannot create %s: %s", spec.name, exc)
            return
        if created:
            log.info("created dead-letter topic %s", spec.name)

    # --- the loop's thread

    def apply_pending(self, registry: SchemaRegistryClient) -> tuple[str, ...] | None:
        """`apply` the newest read not applied yet; None when there is none."""
        with self._lock:
            read, self._pending = self._pending, None
        return None if read is None else self.apply(read, registry)

    def apply(self, read: CatalogRead, registry: SchemaRegistryClient) -> tuple[str, ...]:
        """Follow a read of the catalog: the products to watch; returns the topics to subscribe
        to (those of the watched products that exist), sorted."""
        current = self.watched
        updated: dict[str, Watched] = {}
        for product in read.products:
            known = current.get(product.topic)
            if known is not None and known.product.value_subject == product.value_subject:
                if known.product.value_version != product.value_version:
                    known.resolver.forget_unresolved()
                known.product = product
                known.freshness_ms = _freshness_ms(product)
                updated[product.topic] = known
                continue
            log.info("watching %s (%s)", product.ref, product.topic)
            updated[product.topic] = Watched(
                product=product,
                resolver=SubjectResolver(
                    registry, product.value_subject, self.settings.event_time_fields
                ),
                recorder=self.metrics.recorder(product.ref),
                freshness_ms=_freshness_ms(product),
            )
        for topic, w in updated.items():
            w.available = read.probed.get(w.product.value_subject, False) and topic in read.readable
            w.recorder.probe(w.available)
            w.subscribed = topic in read.existing
        self.watched = updated
        self.read_once = True
        return tuple(sorted(t for t, w in updated.items() if w.subscribed))


def _freshness_ms(product: DataProductPublic) -> int | None:
    seconds = product.freshness_seconds
    return None if seconds is None else int(seconds * 1000)
