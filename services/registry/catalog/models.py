"""Catalog request and response bodies."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from streammesh.products.descriptor import Descriptor, Status


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class DataProductCreate(_Body):
    """``PUT /products/{domain}/{name}``: the descriptor and the schema texts it names."""

    descriptor: Descriptor
    value_schema: str = Field(alias="valueSchema")
    key_schema: str | None = Field(default=None, alias="keySchema")


class StoredProduct(_Body):
    """What the log holds for one major line of a product."""

    descriptor: Descriptor
    value_schema_id: int = Field(alias="valueSchemaId")
    value_version: int = Field(alias="valueVersion")
    key_schema_id: int | None = Field(default=None, alias="keySchemaId")
    key_version: int | None = Field(default=None, alias="keyVersion")
    registered_at: int = Field(alias="registeredAt")
    updated_at: int = Field(alias="updatedAt")


class DataProductPublic(StoredProduct):
    ref: str
    domain: str
    name: str
    major: int
    status: Status
    value_subject: str = Field(alias="valueSubject")
    key_subject: str | None = Field(default=None, alias="keySubject")
    downstream: list[str] = []
    warnings: list[str] = []


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
