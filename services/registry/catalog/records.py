"""PRODUCT records: the catalog shares the registry's compacted log, one key per major line."""

from __future__ import annotations

import json

from services.registry.catalog.models import StoredProduct

PRODUCT = "PRODUCT"

ProductKey = tuple[str, str, int]  # domain, name, major


def encode_product(key: ProductKey, product: StoredProduct | None) -> tuple[bytes, bytes | None]:
    domain, name, major = key
    raw_key = json.dumps(
        {"keytype": PRODUCT, "domain": domain, "name": name, "major": major, "magic": 0},
        separators=(",", ":"),
    ).encode()
    if product is None:
        return raw_key, None
    return raw_key, product.model_dump_json(by_alias=True, exclude_none=True).encode()


def decode_product(key: bytes, value: bytes | None) -> tuple[ProductKey, StoredProduct | None]:
    fields = json.loads(key)
    product_key = (str(fields["domain"]), str(fields["name"]), int(fields["major"]))
    if value is None:
        return product_key, None
    return product_key, StoredProduct.model_validate_json(value)
