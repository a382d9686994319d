"""Our executors, registered with confluent-kafka, enforce rules in confluent's own serializer
exactly as its cel-python executors do: a violating record raises `SerializationError`."""

from collections.abc import Callable, Iterator

import pytest
from confluent_kafka.schema_registry import (
    Rule,
    RuleSet,
    Schema,
    SchemaRegistryClient,
)
from confluent_kafka.schema_registry import rule_registry as rule_registry_module
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.serde import RuleExecutor
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from streammesh.contracts import NativeCelExecutor, NativeCelFieldExecutor
from tests.unit.contracts.conftest import (
    CONFLUENT_CEL,
    CONFLUENT_CEL_FIELD,
    cel_rule,
    new_rule_registry,
)
from tests.unit.contracts.corpus import ORDER_SCHEMA_STR, RECORDS, TWO_CLAUSE, order

CTX = SerializationContext("orders", MessageField.VALUE)
CONF = {"use.latest.version": True, "auto.register.schemas": False}
PII_RULE = cel_rule("pii_compact", "value.size() >= 6 && !value.contains(' ')", "CEL_FIELD")
PII_RULE["tags"] = ["PII"]
SerializerFactory = Callable[[dict[str, object], RuleExecutor], AvroSerializer]


@pytest.fixture
def serializer_factory() -> Iterator[SerializerFactory]:
    """Confluent's AvroSerializer on its mock registry, holding the schema with one rule."""
    clients: list[SchemaRegistryClient] = []

    def build(rule: dict[str, object], executor: RuleExecutor) -> AvroSerializer:
        client = SchemaRegistryClient.new_client({"url": "mock://"})
        clients.append(client)
        rule_set = RuleSet(None, [Rule.from_dict(rule)])
        client.register_schema("orders-value", Schema(ORDER_SCHEMA_STR, "AVRO", rule_set=rule_set))
        rules = new_rule_registry()
        rules.register_executor(executor)
        serializer: AvroSerializer = AvroSerializer(
            client, ORDER_SCHEMA_STR, conf=CONF, rule_registry=rules
        )
        return serializer

    yield build
    for client in clients:
        client.close()


@pytest.mark.parametrize("executor", [CONFLUENT_CEL, NativeCelExecutor])
def test_condition_passes_valid_and_refuses_violating_records(
    serializer_factory: SerializerFactory, executor: Callable[[], RuleExecutor]
) -> None:
    serialize = serializer_factory(cel_rule("amount_positive", TWO_CLAUSE), executor())

    assert serialize(order(), CTX)
    with pytest.raises(SerializationError):
        serialize(order(amount=-1), CTX)
    with pytest.raises(SerializationError):
        serialize(order(currency="EURO"), CTX)


def test_field_rules_fail_the_same_records_as_confluents(
    serializer_factory: SerializerFactory,
) -> None:
    """CEL_FIELD on the PII-tagged fields (inline `confluent:tags`), over the whole corpus."""
    theirs = serializer_factory(PII_RULE, CONFLUENT_CEL_FIELD())
    ours = serializer_factory(PII_RULE, NativeCelFieldExecutor())

    def passes(serialize: AvroSerializer, record: dict[str, object]) -> bool:
        try:
            serialize(record, CTX)
        except SerializationError:
            return False
        return True

    verdicts = {name: (passes(theirs, r), passes(ours, r)) for name, r in RECORDS.items()}

    assert all(t == o for t, o in verdicts.values()), verdicts
    assert verdicts["space-in-customer"] == (False, False)
    assert verdicts["unicode-note"] == (True, True)
    # confluent's Avro walk hands back an untagged field's value untouched and then fails the
    # CONDITION when that value `is False`: any record with a false boolean field fails.
    assert verdicts["valid"] == (False, False)


def test_field_transform_writes_the_same_bytes(serializer_factory: SerializerFactory) -> None:
    mask = cel_rule("mask_pii", "name == 'customer_id' ; 'masked-' + value", "CEL_FIELD")
    mask.update(kind="TRANSFORM", tags=["PII"])
    theirs = serializer_factory(mask, CONFLUENT_CEL_FIELD())
    ours = serializer_factory(mask, NativeCelFieldExecutor())

    written = ours(order(), CTX)

    assert written == theirs(order(), CTX)
    assert written is not None
    assert b"masked-c-1001" in written


@pytest.mark.parametrize("executor", [NativeCelExecutor, NativeCelFieldExecutor])
def test_register_replaces_confluents_executor_of_the_same_type(
    monkeypatch: pytest.MonkeyPatch, executor: type[NativeCelExecutor | NativeCelFieldExecutor]
) -> None:
    own = new_rule_registry()
    monkeypatch.setattr(rule_registry_module, "_global_instance", new_rule_registry())

    executor.register(own)
    executor.register()

    assert isinstance(own.get_executor(executor().type()), executor)
    global_registry = rule_registry_module._global_instance
    assert isinstance(global_registry.get_executor(executor().type()), executor)
