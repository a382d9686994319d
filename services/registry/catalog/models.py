"""Catalog request and response bodies, on the product's base (camelCase on the wire)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from streammesh.models import JsonInt
from streammesh.products.catalog import CatalogBody, DataProductPublic, StoredProduct
from streammesh.products.descriptor import Descriptor, Name, Status, Text

__all__ = [
    "DataProductCreate",
    "DataProductPublic",
    "DeprecateRequest",
    "ImpactReport",
    "ImpactRequest",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "RetireRequest",
    "StoredProduct",
]


class DataProductCreate(CatalogBody):
    """``PUT /products/{domain}/{name}``: the descriptor and the schema texts it names."""

    descriptor: Descriptor
    value_schema: str
    key_schema: str | None = None


class LineageNode(CatalogBody):
    ref: str
    status: Status | None = None  # None: referenced but not in the catalog
    owner: str | None = None


class LineageEdge(CatalogBody):
    source: str  # upstream product
    target: str  # the product derived from it


class LineageGraph(CatalogBody):
    root: str
    upstream: list[str]
    downstream: list[str]
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class ImpactRequest(CatalogBody):
    schema_: str = Field(alias="schema")
    major: JsonInt | None = None


class ImpactReport(CatalogBody):
    product: str
    subject: str
    compatible: bool
    messages: list[str]
    downstream_products: list[str]
    consumer_groups: list[str]
    breaks: list[str]


class DeprecateRequest(CatalogBody):
    # bounded as the descriptor's own `deprecation` block, which these become
    sunset: date
    successor: Name
    note: Text | None = None
    major: JsonInt | None = None


class RetireRequest(CatalogBody):
    major: JsonInt | None = None
