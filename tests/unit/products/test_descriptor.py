"""Descriptors load from YAML with errors pointing at file and line, and the published JSON
Schema is the one the models generate."""

from datetime import timedelta
from pathlib import Path

import pytest

from streammesh.errors import StreamMeshError
from streammesh.products.descriptor import (
    JSON_SCHEMA_PATH,
    CleanupPolicy,
    Descriptor,
    ProductRef,
    render_json_schema,
)
from streammesh.products.errors import DescriptorError, ProductError
from streammesh.products.loader import load_descriptor, parse_descriptor
from tests.unit.products.conftest import REPO_ROOT, DescriptorFactory

GOOD = (REPO_ROOT / "domains/sales/products/orders.yaml").read_text(encoding="utf-8")


def test_published_json_schema_is_up_to_date() -> None:
    published = (REPO_ROOT / JSON_SCHEMA_PATH).read_text(encoding="utf-8")
    assert published == render_json_schema(), "regenerate with: python -m streammesh.products"


def test_example_orders_load(examples: dict[Path, Descriptor]) -> None:
    orders = examples[Path("domains/sales/products/orders.yaml")]
    assert orders.ref == "sales.orders.v1"
    assert orders.topic.retention == timedelta(days=90)
    assert orders.topic.retention_ms == 90 * 86_400_000
    assert [rule.name for rule in orders.quality][:2] == [
        "amount_non_negative",
        "currency_iso_4217",
    ]


def test_infinite_retention_is_minus_one(examples: dict[Path, Descriptor]) -> None:
    profiles = examples[Path("domains/customers/products/profiles.yaml")]
    assert profiles.topic.cleanup_policy is CleanupPolicy.COMPACT
    assert profiles.topic.retention_ms == -1
    assert profiles.tagged("PII") == ["email"]


def test_missing_key_points_at_its_parent_line() -> None:
    text = GOOD.replace("  contact: sales-platform@streammesh.example\n", "")
    with pytest.raises(DescriptorError) as caught:
        parse_descriptor(text, source="orders.yaml")
    assert caught.value.line == text.splitlines().index("team:") + 2
    assert str(caught.value).startswith(
        f"orders.yaml:{caught.value.line}: team.contact: Field required"
    )


def test_wrong_value_points_at_its_line() -> None:
    text = GOOD.replace("partitions: 6", "partitions: many")
    with pytest.raises(DescriptorError) as caught:
        parse_descriptor(text, source="orders.yaml")
    assert caught.value.line == text.splitlines().index("  partitions: many") + 1
    assert "topic.partitions" in str(caught.value)


def test_unknown_key_is_refused() -> None:
    text = GOOD.replace("major: 1", "major: 1\nowner: someone")
    with pytest.raises(DescriptorError, match="owner: Extra inputs are not permitted") as caught:
        parse_descriptor(text)
    assert caught.value.line == text.splitlines().index("owner: someone") + 1


def test_invalid_yaml_carries_its_line() -> None:
    with pytest.raises(DescriptorError, match="invalid YAML") as caught:
        parse_descriptor("domain: sales\nname: [orders\n", source="x.yaml")
    assert caught.value.line is not None


def test_not_a_mapping() -> None:
    with pytest.raises(DescriptorError, match="a YAML mapping"):
        parse_descriptor("- a\n- b\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DescriptorError, match="cannot read descriptor") as caught:
        load_descriptor(tmp_path / "nope.yaml")
    assert isinstance(caught.value, ProductError)
    assert isinstance(caught.value, StreamMeshError)


def test_rule_targets_field_or_tags(descriptor_factory: DescriptorFactory) -> None:
    with pytest.raises(ValueError, match="either one `field` or `tags`"):
        descriptor_factory(
            quality=[{"name": "x", "field": "page", "tags": ["PII"], "expr": "true"}]
        )


@pytest.mark.parametrize("text", ["sales.orders.v1", "marketing.cltv_by_segment.v12"])
def test_product_ref_round_trips(text: str) -> None:
    assert str(ProductRef.parse(text)) == text


@pytest.mark.parametrize("text", ["sales.orders", "Sales.orders.v1", "sales.orders.v0", "a.b.c.v1"])
def test_product_ref_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"<domain>\.<product>\.v<major>"):
        ProductRef.parse(text)
