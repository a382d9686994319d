"""The paved road in Python: publish and read data products by name, with their contracts.

`Mesh` resolves a product in the catalog and its contract in the registry; its producer checks
every record (Avro shape and the product's CEL quality rules) before sending, its consumer
decodes records, and `apply_topics` makes a descriptor's topics exist as it says.
"""

from streammesh.deadletter import dlq_topic
from streammesh.sdk.catalog import CatalogClient, Product, parse_product
from streammesh.sdk.consumer import ProductConsumer, Record
from streammesh.sdk.convert import JsonConverter, RecordConversionError, to_json
from streammesh.sdk.errors import (
    CatalogError,
    ContractViolation,
    ProductNotFoundError,
    ProductRefError,
    RegistryUnavailableError,
    SdkError,
    TopicChangeRefused,
)
from streammesh.sdk.mesh import Mesh, register_native_rules
from streammesh.sdk.partition import murmur2, partition_of
from streammesh.sdk.producer import (
    DeliveryReport,
    Outcome,
    ProductProducer,
    Published,
    Refusal,
)
from streammesh.sdk.topics import (
    TopicChange,
    TopicPlan,
    TopicSpec,
    apply_topics,
    ensure_topics,
    plan_topics,
)

__all__ = [
    "CatalogClient",
    "CatalogError",
    "ContractViolation",
    "DeliveryReport",
    "JsonConverter",
    "Mesh",
    "Outcome",
    "Product",
    "ProductConsumer",
    "ProductNotFoundError",
    "ProductProducer",
    "ProductRefError",
    "Published",
    "Record",
    "RecordConversionError",
    "Refusal",
    "RegistryUnavailableError",
    "SdkError",
    "TopicChange",
    "TopicChangeRefused",
    "TopicPlan",
    "TopicSpec",
    "apply_topics",
    "dlq_topic",
    "ensure_topics",
    "murmur2",
    "parse_product",
    "partition_of",
    "plan_topics",
    "register_native_rules",
    "to_json",
]
