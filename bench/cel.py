"""CEL data-contract rules: cel-python (confluent's `CelExecutor`) against the native C++ runtime.

Run with `python -m bench.cel [--records N] [--repeats R]`. Measures the two-clause rule
`message.amount > 0.0 && message.currency.size() == 3` on the same orders as `bench.serde`:

- evaluations/s of the rule alone, through each executor's `transform` (binding the record
  included) and through our `RuleEvaluator`;
- records/s of confluent's own `AvroSerializer` (`use.latest.version`) with the rule in the
  registered schema, under confluent's executor and under ours, and without any rule.

Needs cel-python (confluent-kafka's `rules` extra) for confluent's side.
"""

import argparse
import gc
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version

from confluent_kafka.schema_registry import (
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
from streammesh.contracts import NativeCelExecutor, RuleEvaluator

RULE = "message.amount > 0.0 && message.currency.size() == 3"
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
    try:
        rates: dict[tuple[str, str], list[float]] = {key: [] for key in steps}
        for _ in range(args.repeats):
            # Interleaved, so drift in machine load spreads over every engine alike.
            for key, step in steps.items():
                rates[key].append(rate(step, records))
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
        baseline = medians[(measure, "cel-python")]
        print(f"{measure:<26} {engine:<22} {value:>12,.0f} {value / baseline:>13.1f}x")
    baseline = medians[("AvroSerializer records/s", "no rule")]
    native = medians[("AvroSerializer records/s", "native")]
    print(f"\nnative rule keeps {native / baseline:.0%} of the serializer's rate without rules")


if __name__ == "__main__":
    main()
