"""Products are named `<domain>.<product>` (with a major or the latest) or by their full ref."""

from __future__ import annotations

import pytest

from streammesh.sdk import ProductRefError, parse_product


@pytest.mark.parametrize(
    ("text", "major", "expected"),
    [
        ("sales.orders", None, ("sales", "orders", None)),
        ("sales.orders", 2, ("sales", "orders", 2)),
        ("sales.orders.v3", None, ("sales", "orders", 3)),
        ("sales.orders.v3", 3, ("sales", "orders", 3)),
    ],
)
def test_parse(text: str, major: int | None, expected: tuple[str, str, int | None]) -> None:
    assert parse_product(text, major) == expected


@pytest.mark.parametrize(
    ("text", "major"),
    [("orders", None), ("Sales.orders", None), ("sales.orders.v1", 2), ("sales.orders.v0", None)],
)
def test_refused(text: str, major: int | None) -> None:
    with pytest.raises(ProductRefError):
        parse_product(text, major)
