"""`Mesh`: the SDK's entry point, built from `MeshSettings` (Kafka, registry, credentials)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

from streammesh.contracts import NativeCelExecutor, NativeCelFieldExecutor
from streammesh.products.descriptor import Descriptor
from streammesh.products.loader import file_schema_loader, load_descriptor
from streammesh.sdk.catalog import CatalogClient, Product, parse_product
from streammesh.sdk.consumer import ProductConsumer
from streammesh.sdk.errors import CatalogError, SdkError
from streammesh.sdk.producer import DeliveryCallback, OnInvalid, ProductProducer
from streammesh.sdk.topics import TopicPlan, apply_topics
from streammesh.settings import MeshSettings, get_mesh_settings, registry_client_config

#: Producer defaults: batch for a few milliseconds, never duplicate or reorder on retry.
PRODUCER_DEFAULTS: Mapping[str, Any] = {
    "linger.ms": 5,
    "enable.idempotence": True,
    "acks": "all",
}


def register_native_rules() -> None:
    """Run CEL rules on the native engine in every confluent serializer of this process."""
    NativeCelExecutor.register()
    NativeCelFieldExecutor.register()


class Mesh:
    """Typed handles on the mesh's products.

    >>> with Mesh() as mesh, mesh.producer("sales.orders", major=1) as orders:
    ...     orders.publish(order, key=order["customer_id"])

    Clients are made on first use and closed by `close()` (or leaving the `with` block).
    """

    def __init__(self, settings: MeshSettings | None = None) -> None:
        self.settings = settings or get_mesh_settings()
        self.bootstrap_servers = self.settings.kafka_bootstrap_servers
        self._catalog: CatalogClient | None = None
        self._registry: SchemaRegistryClient | None = None
        self._admin: AdminClient | None = None
        register_native_rules()

    # --- clients

    @property
    def _user_info(self) -> str | None:
        secret = self.settings.registry_user_info
        return secret.get_secret_value() if secret is not None else None

    @property
    def catalog(self) -> CatalogClient:
        if self._catalog is None:
            self._catalog = CatalogClient(self.settings.registry_url, user_info=self._user_info)
        return self._catalog

    @property
    def registry(self) -> SchemaRegistryClient:
        """confluent's registry client, the one its serdes and ours take."""
        if self._registry is None:
            config = registry_client_config(
                self.settings.registry_url, self.settings.registry_user_info
            )
            self._registry = SchemaRegistryClient(config)
        return self._registry

    @property
    def admin(self) -> AdminClient:
        if self._admin is None:
            self._admin = AdminClient(self.settings.kafka_config())
        return self._admin

    # --- products

    def product(self, product: str, major: int | None = None) -> Product:
        """The catalog's entry for `<domain>.<product>` (latest major unless given) or a full
        `<domain>.<product>.v<major>`."""
        domain, name, chosen = parse_product(product, major)
        return self.catalog.product(domain, name, chosen)

    def producer(
        self,
        product: str,
        major: int | None = None,
        *,
        on_invalid: OnInvalid = "raise",
        on_delivery: DeliveryCallback | None = None,
        config: Mapping[str, Any] | None = None,
        topic: str | None = None,
    ) -> ProductProducer:
        """A producer of `product`; `config` adds or overrides confluent producer settings
        (`linger.ms`, `batch.size`, ...); `topic` writes to a copy of the product's topic."""
        info = self.product(product, major)
        try:
            value = self.registry.get_latest_version(info.value_subject)
        except SchemaRegistryError as exc:
            raise CatalogError(f"{info.value_subject}: {exc}") from exc
        producer = Producer({**PRODUCER_DEFAULTS, **(config or {}), **self.settings.kafka_config()})
        return ProductProducer(
            info,
            producer,
            self.registry,
            value,
            on_invalid=on_invalid,
            on_delivery=on_delivery,
            topic=topic,
        )

    def consumer(
        self,
        product: str,
        major: int | None = None,
        *,
        group: str | None = None,
        from_beginning: bool = False,
        from_time: datetime | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> ProductConsumer:
        """A consumer of `product` in `group`. Without a group it reads alone (a fresh group
        that never commits), as a `tail` does."""
        info = self.product(product, major)
        conf: dict[str, Any] = {
            **self.settings.kafka_config(),
            "group.id": group or f"streammesh-reader-{uuid.uuid4().hex[:12]}",
            "auto.offset.reset": "earliest" if from_beginning else "latest",
            "enable.partition.eof": True,
            "enable.auto.commit": group is not None,
            **(config or {}),
        }
        return ProductConsumer(info, Consumer(conf), self.registry, from_time=from_time)

    def apply_topics(
        self, descriptor: Descriptor, *, grow_partitions: bool = False, dry_run: bool = False
    ) -> TopicPlan:
        """Create or update `descriptor`'s topic and its `.dlq` (see `topics.apply_topics`)."""
        return apply_topics(
            self.admin, descriptor, grow_partitions=grow_partitions, dry_run=dry_run
        )

    def apply_product(
        self, path: Path, *, root: Path | None = None, topics: bool = True
    ) -> Product:
        """Apply the descriptor at `path` alone: its topics (unless `topics` is False, for a
        test writing to copies), then its catalog entry with its schemas, read relative to
        `root` (default: the nearest folder above `path` holding `schemas/`). Idempotent;
        `streammesh product apply` plans and applies many products at once."""
        descriptor = load_descriptor(path)
        schemas = file_schema_loader(root or _checkout_of(path))
        key_schema = descriptor.topic.key_schema
        if topics:
            self.apply_topics(descriptor)
        return self.catalog.put_product(
            descriptor,
            schemas(descriptor.topic.value_schema),
            None if key_schema is None else schemas(key_schema),
        )

    # --- lifecycle

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None
        if self._registry is not None:
            self._registry.close()
            self._registry = None
        self._admin = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _checkout_of(path: Path) -> Path:
    """The nearest folder above `path` with a `schemas/` folder: where its schema paths start."""
    for folder in path.resolve().parents:
        if (folder / "schemas").is_dir():
            return folder
    raise SdkError(f"{path}: no schemas/ folder above it; give the checkout as root")
