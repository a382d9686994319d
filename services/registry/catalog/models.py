"""Catalog request and response bodies."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from streammesh.products.catalog import DataProductPublic, StoredProduct
from streammesh.products.descriptor import Descriptor, Status

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


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class DataProductCreate(_Body):
    """``PUT /products/{domain}/{name}``: the descriptor and the schema texts it names."""

    descriptor: Descriptor
    value_schema: str = Field(alias="valueSchema")
    key_schema: str | None = Field(default=None, alias="keySchema")


class LineageNode(_Body):
    ref: str
    status: Status | None = None  # None: referenced but not in the catalog
    owner: str | None = None


class LineageEdge(_Body):
    source: str  # upstream product
    target: str  # the product derived from it


class LineageGraph(_Body):
    root: str
    upstream: list[str]
    downstream: list[str]
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class ImpactRequest(_Body):
    schema_: str = Field(alias="schema")
    major: int | None = None


class ImpactReport(_Body):
    product: str
    subject: str
    compatible: bool
    messages: list[str]
    downstream_products: list[str] = Field(alias="downstreamProducts")
    consumer_groups: list[str] = Field(alias="consumerGroups")
    breaks: list[str]


class DeprecateRequest(_Body):
    sunset: date
    successor: str
    note: str | None = None
    major: int | None = None


class RetireRequest(_Body):
    major: int | None = None
