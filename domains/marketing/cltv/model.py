"""CLTV models: what a customer's order history is predicted to be worth.

The processor only needs a `CltvModel`; the shipped one is `FrequencyLifetimeModel`, whose
parameters `fit.py` estimates from generated history and writes to `model.json`.

    CLTV = R + AOV x f x L

- `R`: net revenue so far (placed minus cancelled minus refunded amounts);
- `AOV = R / n`: average order value over the `n` orders placed and not cancelled;
- `f = (r + n - 1) / (alpha + t)`: expected purchases per day, the posterior mean of a
  Gamma(r, alpha) prior over purchase rates after `n - 1` repeat purchases in `t` days between
  the customer's first and latest order (the Poisson-Gamma part of BG/NBD-like models: a new
  customer gets the population's rate, a long history its own);
- `L`: expected remaining lifetime in days.

It uses only the customer's own history, not the wall clock, so the value of a given history is
always the same. Arithmetic is `Decimal` in a fixed context; the result is rounded to cents,
half to even, and is never negative.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path
from typing import Protocol

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DAY_MS = Decimal(86_400_000)
#: Every model computes in this context, whatever the thread's context is.
CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)
DEFAULT_MODEL_PATH = Path(__file__).with_name("model.json")


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    """What a model sees of a customer."""

    net_revenue: Decimal
    order_count: int  # placed and not cancelled
    first_order_ms: int | None
    last_order_ms: int | None
    segment: str | None


class CltvModel(Protocol):
    """Predicts a customer's lifetime value; must be deterministic and return cents."""

    @property
    def version(self) -> str: ...

    @property
    def currency(self) -> str: ...

    def predict(self, history: CustomerHistory) -> Decimal: ...


class ModelFileError(ValueError):
    """The model file is missing, not JSON, or not a model this code knows."""


@dataclass(frozen=True, slots=True)
class FrequencyLifetimeModel:
    """`CLTV = R + AOV x (r + n - 1) / (alpha + t) x L` (see the module docstring)."""

    r: Decimal
    alpha_days: Decimal
    lifetime_days: Decimal
    currency: str = "EUR"
    version: str = "frequency-lifetime/1"

    KIND = "frequency_lifetime"

    def __post_init__(self) -> None:
        if self.r <= 0 or self.alpha_days <= 0 or self.lifetime_days < 0:
            raise ModelFileError("r and alpha_days must be positive, lifetime_days not negative")

    def predict(self, history: CustomerHistory) -> Decimal:
        net, n = history.net_revenue, history.order_count
        if n <= 0 or net <= 0:
            return ZERO
        c = CONTEXT
        first, last = history.first_order_ms, history.last_order_ms
        span_days = (
            ZERO if first is None or last is None else c.divide(Decimal(last - first), DAY_MS)
        )
        aov = c.divide(net, Decimal(n))
        frequency = c.divide(c.add(self.r, Decimal(n - 1)), c.add(self.alpha_days, span_days))
        future = c.multiply(c.multiply(aov, frequency), self.lifetime_days)
        return c.add(net, future).quantize(CENT, context=c)

    def to_json(self) -> dict[str, str]:
        return {
            "kind": self.KIND,
            "version": self.version,
            "currency": self.currency,
            "r": str(self.r),
            "alpha_days": str(self.alpha_days),
            "lifetime_days": str(self.lifetime_days),
        }


def load_model(path: Path = DEFAULT_MODEL_PATH) -> CltvModel:
    """Read a model file written by `fit.py`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != FrequencyLifetimeModel.KIND:
        raise ModelFileError(f"{path}: not a {FrequencyLifetimeModel.KIND} model")
    try:
        return FrequencyLifetimeModel(
            r=Decimal(data["r"]),
            alpha_days=Decimal(data["alpha_days"]),
            lifetime_days=Decimal(data["lifetime_days"]),
            currency=str(data["currency"]),
            version=str(data["version"]),
        )
    except (KeyError, ArithmeticError) as exc:
        raise ModelFileError(f"{path}: {exc!r}") from exc
