"""The CLTV model computes its documented formula exactly in Decimal, rounds half to even to
cents, is deterministic, and the shipped model file is what the fit script produces."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal, localcontext
from pathlib import Path

import pytest

from domains.marketing.cltv.fit import fit
from domains.marketing.cltv.model import (
    DEFAULT_MODEL_PATH,
    CltvModel,
    CustomerHistory,
    FrequencyLifetimeModel,
    ModelFileError,
    load_model,
)
from domains.sales.generator import SalesConfig, iter_orders

DAY = 86_400_000
MODEL = FrequencyLifetimeModel(r=Decimal(2), alpha_days=Decimal(10), lifetime_days=Decimal(100))


def history(net: str, count: int, days: int = 0) -> CustomerHistory:
    return CustomerHistory(Decimal(net), count, 0, days * DAY, "consumer")


def test_formula() -> None:
    # R=300, n=3, t=20 days: AOV 100, f = (2 + 2) / (10 + 20) per day, L = 100 days
    # CLTV = 300 + 100 * 4/30 * 100 = 300 + 1333.33... = 1633.33
    assert MODEL.predict(history("300.00", 3, 20)) == Decimal("1633.33")
    # one order: f is the population's rate r / alpha = 0.2 per day: 50 + 50 * 0.2 * 100
    assert MODEL.predict(history("50.00", 1)) == Decimal("1050.00")


def test_nothing_bought_or_all_returned_is_worth_zero() -> None:
    assert MODEL.predict(history("0.00", 0)) == Decimal("0.00")
    assert MODEL.predict(history("0.00", 2, 5)) == Decimal("0.00")
    assert MODEL.predict(history("120.00", 0, 5)) == Decimal("0.00")  # all cancelled


def test_rounds_half_to_even_to_cents_whatever_the_thread_context() -> None:
    flat = FrequencyLifetimeModel(r=Decimal(1), alpha_days=Decimal(1), lifetime_days=Decimal(0))
    assert flat.predict(history("0.125", 1)) == Decimal("0.12")
    assert flat.predict(history("0.135", 1)) == Decimal("0.14")
    with localcontext() as ctx:
        ctx.prec = 3
        assert MODEL.predict(history("300.00", 3, 20)) == Decimal("1633.33")
    value = MODEL.predict(history("12345.67", 7, 33))
    assert value.as_tuple().exponent == -2


def test_predicts_more_for_more_frequent_buyers() -> None:
    slow = MODEL.predict(history("500.00", 5, 400))
    fast = MODEL.predict(history("500.00", 5, 40))
    assert fast > slow > Decimal("500.00")


def fitted(
    seed: int, customers: int, orders: int, min_span_days: int = 30
) -> FrequencyLifetimeModel:
    """The fit of the first `orders` orders the sales generator makes with `seed`."""
    events = itertools.islice(iter_orders(SalesConfig(seed=seed, customers=customers)), orders)
    version = f"frequency-lifetime/1 seed={seed} customers={customers} orders={orders}"
    return fit((e.value for e in events), version=version, min_span_days=min_span_days)


def test_shipped_model_is_the_fitted_one_and_loads() -> None:
    shipped = json.loads(DEFAULT_MODEL_PATH.read_text())
    model: CltvModel = load_model()
    assert model.currency == "EUR"
    assert isinstance(model, FrequencyLifetimeModel)
    assert model.to_json() == shipped
    assert fitted(seed=7, customers=5000, orders=200_000).to_json() == shipped


def test_fit_is_deterministic_and_sane() -> None:
    a = fitted(seed=3, customers=400, orders=20_000, min_span_days=5)
    assert a == fitted(seed=3, customers=400, orders=20_000, min_span_days=5)
    assert a.r > 0
    assert a.alpha_days > 0
    assert a.lifetime_days > 0


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"kind": "other"}',
        '{"kind": "frequency_lifetime", "r": "1"}',
        '{"kind": '
        '"frequency_lifetime", "r": "-1", "alpha_days": "1", "lifetime_days": "1", '
        '"currency": "EUR", "version": "x"}',
    ],
)
def test_bad_model_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(content)
    with pytest.raises(ModelFileError):
        load_model(path)
