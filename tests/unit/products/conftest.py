"""Products fixtures: the checked-in example products, and a small product to break on purpose."""

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from streammesh.products.descriptor import Descriptor
from streammesh.products.errors import AvroSchemaError
from streammesh.products.loader import (
    SchemaLoader,
    file_schema_loader,
    iter_descriptor_files,
    load_descriptor,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
DescriptorFactory = Callable[..., Descriptor]

# A small, valid product: every policy passes on it until a test changes one thing.
BASE: dict[str, Any] = {
    "domain": "shop",
    "name": "visits",
    "major": 1,
    "status": "active",
    "description": {"purpose": "One record per visit of a signed-in customer."},
    "team": {"name": "web", "contact": "web-team@shop.example"},
    "topic": {
        "name": "shop.visits.v1",
        "partitions": 3,
        "cleanupPolicy": "delete",
        "retention": "P7D",
        "valueSchema": "schemas/avro/shop/visit.avsc",
    },
    "slos": {
        "freshness": {"seconds": 30, "window": "PT1H"},
        "completeness": {"ratio": 0.99, "window": "P1D"},
        "availability": {"ratio": 0.999, "window": "P28D"},
    },
    "quality": [
        {"name": "page_not_blank", "field": "page", "expr": "value.size() > 0"},
        {"name": "customer_set", "expr": "message.customer_id != ''"},
    ],
    "fields": {"customer_email": {"classification": "confidential", "tags": ["PII"]}},
    "inputPorts": ["customers.profiles.v1"],
}
VISIT_SCHEMA = """{
  "type": "record", "name": "Visit", "namespace": "shop", "doc": "A visit.",
  "fields": [
    {"name": "customer_id", "type": "string", "doc": "Who visited."},
    {"name": "customer_email", "type": "string", "doc": "Their email."},
    {"name": "page", "type": "string", "doc": "The page visited."}
  ]
}"""
KEY_SCHEMA = '{"type": "string", "doc": "The customer id."}'


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied; a nested dict merges, None deletes the key."""
    result = copy.deepcopy(dict(base))
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


@pytest.fixture
def descriptor_factory() -> DescriptorFactory:
    """Builds the base product with nested `changes` merged in (None removes a key)."""

    def build(**changes: Any) -> Descriptor:
        return Descriptor.model_validate(merge(BASE, changes))

    return build


def memory_loader(files: Mapping[str, str]) -> SchemaLoader:
    def load(relative: str) -> str:
        if relative not in files:
            raise AvroSchemaError(f"{relative}: cannot read schema file: No such file")
        return files[relative]

    return load


@pytest.fixture
def schema_files() -> dict[str, str]:
    """The base product's schema files, by path; a test may change them."""
    return {
        "schemas/avro/shop/visit.avsc": VISIT_SCHEMA,
        "schemas/avro/shop/visit_key.avsc": KEY_SCHEMA,
    }


@pytest.fixture
def examples() -> dict[Path, Descriptor]:
    """The checked-in example products, by file path relative to the repository root."""
    return {p.relative_to(REPO_ROOT): load_descriptor(p) for p in iter_descriptor_files(REPO_ROOT)}


@pytest.fixture
def repo_loader() -> SchemaLoader:
    return file_schema_loader(REPO_ROOT)
