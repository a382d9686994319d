"""Fit `FrequencyLifetimeModel` on the order history of the `sales.orders` product.

`python -m domains.marketing.cltv.fit --out model.json [--max-orders N]` reads the product from
its beginning through the SDK (the mesh's STREAMMESH_* settings say where), as any consumer of
sales' data does: marketing learns from sales' published product, not from sales' code.

- `r`, `alpha_days`: a Gamma prior over customers' purchase rates, by the method of moments on
  the observed rates `(n - 1) / t` of customers seen for at least `--min-span-days`
  (`alpha = mean / variance`, `r = mean^2 / variance`);
- `lifetime_days`: the mean span between first and latest order of repeat customers, a
  conservative stand-in for the remaining lifetime when the history shows no churn.

Same orders, same file: the statistics are exact `Decimal`s. The shipped `model.json` is the fit
of the first 200,000 orders the sales generator makes with seed 7 for 5,000 customers
(`tests/unit/domains/test_model.py` checks it).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from domains.marketing.cltv.batch import histories
from domains.marketing.cltv.model import CONTEXT, DAY_MS, FrequencyLifetimeModel
from streammesh.sdk import Mesh

PRODUCT = "sales.orders"

PLACES = Decimal("0.000001")


def fit(
    orders: Iterable[Mapping[str, object]],
    *,
    version: str,
    min_span_days: int = 30,
    currency: str = "EUR",
) -> FrequencyLifetimeModel:
    """The model of `orders` (decoded `sales.orders` values), labelled `version`."""
    stats = histories(orders, currency)
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
        version=version,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-orders", type=int, default=None, help="stop after N orders")
    parser.add_argument("--min-span-days", type=int, default=30)
    args = parser.parse_args(argv)
    with Mesh() as mesh, mesh.consumer(PRODUCT, from_beginning=True) as consumer:
        read = consumer.records(max_records=args.max_orders, until_end=True)
        orders = [r.value for r in read if isinstance(r.value, Mapping)]
    version = f"frequency-lifetime/1 {PRODUCT} orders={len(orders)}"
    model = fit(orders, version=version, min_span_days=args.min_span_days)
    args.out.write_text(json.dumps(model.to_json(), indent=2) + "\n", encoding="utf-8")
    print(f"{args.out}: {model.to_json()}")


if __name__ == "__main__":
    main()
