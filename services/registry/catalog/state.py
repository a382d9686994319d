"""The catalog as replayed from the log: the latest descriptor of every product major line."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from services.registry.catalog.models import StoredProduct
from services.registry.catalog.records import ProductKey, decode_product
from streammesh.products.descriptor import Descriptor, ProductRef

log = logging.getLogger(__name__)


def product_subjects(topic: str) -> tuple[str, str]:
    """A product topic's value and key subjects (Confluent's TopicNameStrategy)."""
    return f"{topic}-value", f"{topic}-key"


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

    def descriptor(self, ref: str) -> Descriptor | None:
        """The descriptor of ``<domain>.<product>.v<major>``, as the policies look products up."""
        stored = self.by_ref(ref)
        return stored.descriptor if stored else None

    def with_subject(self, subject: str) -> StoredProduct | None:
        """The product whose topic's ``-value`` or ``-key`` subject this is, if any."""
        topic = subject.rpartition("-")[0]
        return next(
            (
                p
                for p in self.products.values()
                if p.topic == topic and subject in product_subjects(topic)
            ),
            None,
        )

    def majors(self, domain: str, name: str) -> list[int]:
        return sorted(m for (d, n, m) in self.products if (d, n) == (domain, name))
