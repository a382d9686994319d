"""CEL data-contract rules: cel-python (confluent's `CelExecutor`) against the native C++ runtime.

Run with `python -m bench.cel [--records N] [--repeats R]`. Measures the two-clause rule
`message.amount > 0.0 && message.currency.size() == 3` on the same orders as `bench.serde`:

- evaluations/s of the rule alone, through each executor's `transform` (binding the record
  included) and through our `RuleEvaluator`;
- records/s of confluent's own `AvroSerializer` (`use.latest.version`) with the rule in the
  registered schema, under confluent's executor and under ours, and without any rule;
- records/s of `RuleEvaluator.evaluate` with the orders product's compiled rule set (two CEL
  rules, two CEL_FIELD rules) on the schema the quality monitor passes: the message rules alone,
  one by one (`optimize=False`) and fused into one check; every rule one by one with CEL_FIELD
  rules on confluent's field walk (`optimize=False`, the slow path); every rule with CEL_FIELD
  rules resolved against the schema and all four in the fused check (the fast path).

Needs cel-python (confluent-kafka's `rules` extra) for confluent's side.
"""

import argparse
import gc
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from confluent_kafka.schema_registry import (
    Metadata,
    Rule,
    RuleKind,
    RuleMode,
    RuleSet,
    Schema,
    SchemaRegistryClient,
)
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.rule_registry import RuleRegistry
from confluent_kafka.schema_registry.rules.cel.cel_executor import CelExecutor
from confluent_kafka.schema_registry.serde import RuleContext, RuleExecutor
from confluent_kafka.serialization import MessageField, SerializationContext

from bench.serde import ORDER_SCHEMA, make_orders
from services.quality_monitor.catalog import without_redundant_tags
from streammesh.contracts import NativeCelExecutor, RuleEvaluator
from streammesh.products.contract import compile_contract
from streammesh.products.loader import load_descriptor

RULE = "message.amount > 0.0 && message.currency.size() == 3"
ROOT = Path(__file__).resolve().parents[1]
ORDERS_PRODUCT = ROOT / "domains/sales/products/orders.yaml"
CTX = SerializationContext("orders", MessageField.VALUE)
SUBJECT = "orders-value"
Step = Callable[[dict[str, object]], object]

# confluent's executor and registry have untyped constructors; typed aliases keep mypy strict.
CONFLUENT_CEL: type[RuleExecutor] = CelExecutor
new_rule_registry: Callable[[], RuleRegistry] = RuleRegistry


def _rule() -> Rule:
    return Rule(
        "amount_positive", None, RuleKind.CONDITION, RuleMode.WRITE, "CEL", None, None, RULE,
        None, "ERROR", False,
    )  # fmt: skip


def _transform(executor: RuleExecutor) -> Step:
    rule = _rule()
    target = Schema(ORDER_SCHEMA, "AVRO")
    ctx = RuleContext(None, CTX, None, target, SUBJECT, RuleMode.WRITE, rule, 0, [rule], None, None)

    def step(record: dict[str, object]) -> object:
        if not executor.transform(ctx, record):
            raise AssertionError("the bench's orders all pass the rule")
        return None

    return step


def _evaluator() -> Step:
    evaluator = RuleEvaluator([_rule().to_dict()])

    def step(record: dict[str, object]) -> object:
        if evaluator.evaluate(record):
            raise AssertionError("the bench's orders all pass the rule")
        return None

    return step


def _serializer(executor: RuleExecutor | None) -> tuple[Step, SchemaRegistryClient]:
    client = SchemaRegistryClient.new_client({"url": "mock://"})
    rule_set = RuleSet(None, [_rule()]) if executor is not None else None
    client.register_schema(SUBJECT, Schema(ORDER_SCHEMA, "AVRO", rule_set=rule_set))
    rules = new_rule_registry()
    if executor is not None:
        rules.register_executor(executor)
    conf = {"use.latest.version": True, "auto.register.schemas": False}
    serializer = AvroSerializer(client, ORDER_SCHEMA, conf=conf, rule_registry=rules)

    def step(record: dict[str, object]) -> object:
        return serializer(record, CTX)

    return step, client


def _orders_product() -> tuple[list[dict[str, Any]], Schema]:
    """The orders product's compiled rules, and its schema as the quality monitor passes it."""
    descriptor = load_descriptor(ORDERS_PRODUCT)
    contract = compile_contract(descriptor, (ROOT / descriptor.topic.value_schema).read_text())
    registered = Schema(
        contract.schema,
        "AVRO",
        metadata=Metadata.from_dict(dict(contract.metadata)),
    )
    return [dict(rule) for rule in contract.rule_set["domainRules"]], without_redundant_tags(
        registered
    )


def _product_steps() -> dict[tuple[str, str], Step]:
    rules, schema = _orders_product()
    message_rules = [rule for rule in rules if rule["type"] == "CEL"]
    evaluators = {
        "message rules, one by one": RuleEvaluator(message_rules, schema=schema, optimize=False),
        "message rules, fused": RuleEvaluator(message_rules, schema=schema),
        "all, fields on the walk": RuleEvaluator(rules, schema=schema, optimize=False),
        "all, fields resolved": RuleEvaluator(rules, schema=schema),
    }
    fast = evaluators["all, fields resolved"]
    if fast.slow_field_rules or len(fast.fused_rules) != len(rules):
        raise AssertionError("every orders rule should resolve and share the fused check")

    def step_of(evaluator: RuleEvaluator) -> Step:
        def step(record: dict[str, object]) -> object:
            if evaluator.evaluate(record):
                raise AssertionError("the bench's orders all pass the product's rules")
            return None

        return step

    return {("orders product records/s", k): step_of(e) for k, e in evaluators.items()}


def _as_product_orders(orders: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """The bench's orders in the product's shape: `items` are its `line_items`."""
    return [
        {("line_items" if key == "items" else key): value for key, value in order.items()}
        for order in orders
    ]


def rate(step: Step, records: Sequence[dict[str, object]]) -> float:
    """Calls per second for one pass of `step` over `records`."""
    gc.collect()
    started = time.perf_counter()
    for record in records:
        step(record)
    return len(records) / (time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cel", description=__doc__)
    parser.add_argument("--records", type=int, default=3_000, help="records per repetition")
    parser.add_argument("--repeats", type=int, default=5, help="repetitions; the median is shown")
    args = parser.parse_args(argv)

    orders = make_orders(args.records)
    # Keep only orders the rule passes, so every step does the same, full work.
    evaluator = RuleEvaluator([_rule().to_dict()])
    records = [order for order in orders if not evaluator.evaluate(order)]
    serializers = {
        "no rule": _serializer(None),
        "cel-python": _serializer(CONFLUENT_CEL()),
        "native": _serializer(NativeCelExecutor()),
    }
    steps: dict[tuple[str, str], Step] = {
        ("rule evaluations/s", "cel-python"): _transform(CONFLUENT_CEL()),
        ("rule evaluations/s", "native"): _transform(NativeCelExecutor()),
        ("rule evaluations/s", "native RuleEvaluator"): _evaluator(),
        **{("AvroSerializer records/s", k): step for k, (step, _) in serializers.items()},
    }
    product_steps = _product_steps()
    product_records = _as_product_orders(orders)
    try:
        rates: dict[tuple[str, str], list[float]] = {key: [] for key in [*steps, *product_steps]}
        for _ in range(args.repeats):
            # Interleaved, so drift in machine load spreads over every engine alike.
            for key, step in steps.items():
                rates[key].append(rate(step, records))
            for key, step in product_steps.items():
                rates[key].append(rate(step, product_records))
    finally:
        for _, client in serializers.values():
            client.close()

    medians = {key: statistics.median(values) for key, values in rates.items()}
    packages = ("cel-python", "cel-expr-python", "confluent-kafka")
    print(
        f"Python {platform.python_version()}, " + ", ".join(f"{p} {version(p)}" for p in packages)
    )
    print(f"rule: {RULE}; {len(records)} orders x {args.repeats} repeats, median\n")
    print(f"{'measure':<26} {'engine':<22} {'per second':>12} {'vs cel-python':>14}")
    for (measure, engine), value in medians.items():
        if (measure, engine) in product_steps:
            continue
        baseline = medians[(measure, "cel-python")]
        print(f"{measure:<26} {engine:<22} {value:>12,.0f} {value / baseline:>13.1f}x")
    baseline = medians[("AvroSerializer records/s", "no rule")]
    native = medians[("AvroSerializer records/s", "native")]
    print(f"\nnative rule keeps {native / baseline:.0%} of the serializer's rate without rules")

    print(f"\n{ORDERS_PRODUCT.relative_to(ROOT)}, all rules, RuleEvaluator.evaluate\n")
    print(f"{'rules':<26} {'records/s':>12} {'us/record':>10} {'vs walk':>8}")
    walk = medians[("orders product records/s", "all, fields on the walk")]
    for (_, engine), value in ((k, v) for k, v in medians.items() if k in product_steps):
        print(f"{engine:<26} {value:>12,.0f} {1e6 / value:>10.1f} {value / walk:>7.1f}x")


if __name__ == "__main__":
    main()
