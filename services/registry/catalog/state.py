"""The catalog as replayed from the log: the latest descriptor of every product major line."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from services.registry.catalog.models import StoredProduct
from services.registry.catalog.records import ProductKey, decode_product
from streammesh.products.descriptor import ProductRef

log = logging.getLogger(__name__)


class CatalogState:
    def __init__(self) -> None:
        self.products: dict[ProductKey, StoredProduct] = {}

    def apply(self, key: bytes, value: bytes | None) -> None:
        try:
            product_key, product = decode_product(key, value)
        except (ValueError, KeyError, ValidationError) as error:
            # A record this version cannot read must not stop the replay.
            log.warning("skipping unreadable catalog record %r: %s", key[:200], error)
            return
        if product is None:
            self.products.pop(product_key, None)
        else:
            self.products[product_key] = product

    def by_ref(self, ref: str) -> StoredProduct | None:
        try:
            domain, name, major = ProductRef.parse(ref)
        except ValueError:
            return None
        return self.products.get((domain, name, major))

    def majors(self, domain: str, name: str) -> list[int]:
        return sorted(m for (d, n, m) in self.products if (d, n) == (domain, name))
