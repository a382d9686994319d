"""A deprecation gives consumers the notice the platform team configured, once, when declared."""

from datetime import date, timedelta
from pathlib import Path

from streammesh.products.descriptor import Deprecation, Descriptor, Status
from streammesh.products.loader import file_schema_loader, load_descriptor
from streammesh.products.policies import check_descriptor, lifecycle
from streammesh.products.settings import GovernanceSettings

ROOT = Path(__file__).resolve().parents[3]
TODAY = date(2026, 11, 25)
BASE = load_descriptor(ROOT / "domains/marketing/products/cltv_by_segment.yaml")
SUCCESSOR = load_descriptor(ROOT / "domains/marketing/products/customer_lifetime_value.yaml")


def deprecated(days: int) -> Descriptor:
    notice = Deprecation(sunset=TODAY + timedelta(days=days), successor=SUCCESSOR.ref)
    return BASE.model_copy(update={"status": Status.DEPRECATED, "deprecation": notice})


def codes(descriptor: Descriptor, minimum: int, known: dict[str, Descriptor]) -> list[str]:
    catalog = {SUCCESSOR.ref: SUCCESSOR, **known}
    return [
        v.code
        for v in check_descriptor(
            descriptor,
            schema_loader=file_schema_loader(ROOT),
            known_products=catalog.get,
            today=TODAY,
            policies=(lifecycle,),
            settings=GovernanceSettings(min_sunset_days=minimum),
        )
    ]


def test_a_new_deprecation_needs_the_notice_period() -> None:
    assert codes(deprecated(10), 30, {}) == ["lifecycle.sunset"]
    assert codes(deprecated(30), 30, {}) == []
    assert codes(deprecated(10), 7, {}) == []


def test_re_applying_a_declared_deprecation_needs_only_a_future_sunset() -> None:
    assert codes(deprecated(10), 30, {BASE.ref: deprecated(10)}) == []
    assert codes(deprecated(0), 30, {BASE.ref: deprecated(0)}) == ["lifecycle.sunset"]


def test_the_default_notice_is_thirty_days() -> None:
    assert GovernanceSettings().min_sunset_days == 30
