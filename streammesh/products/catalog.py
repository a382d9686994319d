"""The catalog's product, defined once: what the registry stores and serves, and what the SDK
and the quality monitor read back (`GET /products/...`).

On the wire every field is camelCase (`valueSchemaId`), as Confluent's APIs spell theirs; in
Python it is snake_case, and both spellings are accepted when reading.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from streammesh.models import WireModel
from streammesh.products.descriptor import Descriptor, ProductRef, Status


class CatalogBody(WireModel):
    """Base of the catalog's bodies: camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class StoredProduct(CatalogBody):
    """What the registry's log holds for one major line of a product."""

    descriptor: Descriptor
    value_schema_id: int
    value_version: int
    key_schema_id: int | None = None
    key_version: int | None = None
    registered_at: int
    updated_at: int

    @property
    def topic(self) -> str:
        return self.descriptor.topic.name

    @property
    def freshness_seconds(self) -> float | None:
        """The freshness SLO in seconds (None: the product promises none)."""
        freshness = self.descriptor.slos.freshness
        return None if freshness is None else freshness.seconds


class DataProductPublic(StoredProduct):
    """A product as the catalog serves it: the stored line with its names, its subjects and
    the products derived from it."""

    ref: str
    domain: str
    name: str
    major: int
    status: Status
    value_subject: str
    key_subject: str | None = None
    downstream: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def product_ref(self) -> ProductRef:
        return ProductRef(self.domain, self.name, self.major)
