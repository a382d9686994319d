"""Fit `FrequencyLifetimeModel` on history made by the generators; writes the model file.

`python -m domains.marketing.cltv.fit --out model.json [--seed S] [--customers C] [--orders N]`

- `r`, `alpha_days`: a Gamma prior over customers' purchase rates, by the method of moments on
  the observed rates `(n - 1) / t` of customers seen for at least `--min-span-days`
  (`alpha = mean / variance`, `r = mean^2 / variance`);
- `lifetime_days`: the mean span between first and latest order of repeat customers, a
  conservative stand-in for the remaining lifetime when the history shows no churn.

Same arguments, same file: the generators are seeded and the statistics are exact `Decimal`s.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from domains.marketing.cltv.batch import histories
from domains.marketing.cltv.model import CONTEXT, DAY_MS, FrequencyLifetimeModel
from domains.sales.generator import SalesConfig, iter_orders

PLACES = Decimal("0.000001")


def fit(
    seed: int = 7,
    customers: int = 5000,
    orders: int = 200_000,
    min_span_days: int = 30,
    currency: str = "EUR",
) -> FrequencyLifetimeModel:
    config = SalesConfig(seed=seed, customers=customers, currency=currency)
    events = itertools.islice(iter_orders(config), orders)
    stats = histories((event.value for event in events), currency)
    c = CONTEXT
    rates: list[Decimal] = []
    spans: list[Decimal] = []
    for _net, count, first, last in stats.values():
        span = c.divide(Decimal(last - first), DAY_MS)
        if count >= 2:
            spans.append(span)
        if span >= min_span_days:
            rates.append(c.divide(Decimal(max(count - 1, 0)), span))
    if len(rates) < 2 or not spans:
        raise ValueError("too little history to fit: generate more orders")
    mean = c.divide(sum(rates, Decimal(0)), Decimal(len(rates)))
    variance = c.divide(
        sum((c.power(rate - mean, 2) for rate in rates), Decimal(0)), Decimal(len(rates) - 1)
    )
    return FrequencyLifetimeModel(
        r=c.divide(c.multiply(mean, mean), variance).quantize(PLACES),
        alpha_days=c.divide(mean, variance).quantize(PLACES),
        lifetime_days=c.divide(sum(spans, Decimal(0)), Decimal(len(spans))).quantize(PLACES),
        currency=currency,
        version=f"frequency-lifetime/1 seed={seed} customers={customers} orders={orders}",
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--min-span-days", type=int, default=30)
    args = parser.parse_args(argv)
    model = fit(args.seed, args.customers, args.orders, args.min_span_days)
    args.out.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
    print(f"{args.out}: {model.to_json()}")


if __name__ == "__main__":
    main()
