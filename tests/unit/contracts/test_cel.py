"""`CelProgram` binds decoded Avro values as confluent's executor does, compiles each
expression once, and turns CEL errors into `RuleError`s."""

import enum
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from streammesh.contracts import (
    CelProgram,
    RuleCompileError,
    RuleEvaluationError,
    compile_rule_expression,
    to_cel,
)
from streammesh.contracts.cel import with_field_as


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    ("value", "expr"),
    [
        (Decimal("125.50"), "x == 125.5 && type(x) == double"),
        (
            datetime(2025, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
            "x == timestamp('2025-01-02T03:04:05.006Z')",
        ),
        (datetime(2025, 1, 2, 3, 4, 5), "x == timestamp('2025-01-02T03:04:05Z')"),
        (datetime(2025, 1, 2, 5, tzinfo=timezone(timedelta(hours=2))), "x.getHours() == 3"),
        (timedelta(seconds=-3.5), "x == duration('-3.5s')"),
        (time(1, 2, 3, 4000), "x == duration('3723.004s')"),
        (date(1970, 1, 11), "x == 10"),
        (uuid.UUID(int=1), "x == '00000000-0000-0000-0000-000000000001'"),
        (("shop.Coupon", {"code": "A"}), "x.code == 'A'"),
        (Colour.RED, "x == 'red' && type(x) == string"),
        (Level.HIGH, "x == 3 && type(x) == int"),
        (True, "x == true && type(x) == bool"),
        (bytearray(b"ab"), "x == b'ab'"),
        ({"a": [Decimal(1), {"b": None}]}, "x.a[0] == 1.0 && x.a[1].b == null"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_values_bind_to_their_cel_counterparts(value: object, expr: str) -> None:
    assert CelProgram.compile(expr).evaluate(None, {"x": value}) is True


def test_plain_values_bind_without_copying() -> None:
    for value in ("s", 1, 1.5, False, b"b", None):
        assert to_cel(value) is value


def test_programs_are_compiled_once_per_expression() -> None:
    assert CelProgram.compile("message.a > 1") is CelProgram.compile("message.a > 1", rule="other")


def test_a_compile_error_names_rule_expression_and_cel_error() -> None:
    with pytest.raises(RuleCompileError) as caught:
        CelProgram.compile("message.a >", rule="a_positive")

    assert "a_positive" in str(caught.value)
    assert "message.a >" in str(caught.value)
    assert "Syntax error" in caught.value.cause


def test_cel_errors_raise_with_the_cel_message() -> None:
    with pytest.raises(RuleEvaluationError, match="divide by zero"):
        CelProgram.compile("1 / message.zero == 1").evaluate({"zero": 0})


def test_only_referenced_fields_are_bound() -> None:
    """A value the runtime cannot hold only matters when the expression reads its field."""
    record = {"amount": 1.0, "opaque": object()}

    assert CelProgram.compile("message.amount > 0.0").evaluate(record) is True
    with pytest.raises(RuleEvaluationError, match=r"opaque|object"):
        CelProgram.compile("size(message) == 2").evaluate(record)


def test_a_field_read_only_by_size_binds_only_its_shape() -> None:
    items = [{"price": Decimal("1.50")}, {"price": object()}]
    record = {"items": items, "tags": {"a": 1}, "name": "ab"}
    sized = CelProgram.compile(
        "size(message.items) == 2 && message.tags.size() == 1 && size(message.name) == 2"
    )
    read = CelProgram.compile("size(message.items) > 0 && message.items[0].price > 1.0")

    assert sized.bind(record) == {"items": [None, None], "tags": {"a": None}, "name": "ab"}
    assert sized.evaluate(record) is True
    assert read.bind({"items": items[:1]}) == {"items": [{"price": 1.5}]}
    assert read.evaluate({"items": items[:1]}) is True


def test_has_sees_absent_and_null_fields_as_confluent_does() -> None:
    program = CelProgram.compile("has(message.coupon)")

    assert program.evaluate({"coupon": None}) is True
    assert program.evaluate({}) is False


def test_now_is_bound_fresh_when_named() -> None:
    program = CelProgram.compile("message.t < now && now - message.t < duration('60s')")

    assert program.evaluate({"t": datetime.now(UTC) - timedelta(seconds=1)}) is True


def test_non_boolean_results_come_back_as_python_values() -> None:
    program = CelProgram.compile("{'n': message.items.map(i, i * 2), 't': timestamp(0)}")

    assert program.evaluate({"items": [1, 2]}) == {
        "n": [2, 4],
        "t": datetime(1970, 1, 1, tzinfo=UTC),
    }


def test_a_false_guard_means_the_rule_does_not_apply() -> None:
    expression = compile_rule_expression("message.status == 'refunded'; 1 / 0 == 1", "refund")

    assert expression.applies({"status": "placed"}) is False
    assert expression.applies({"status": "refunded"}) is True
    assert compile_rule_expression(" ; true").guard is None


def test_a_field_is_renamed_outside_string_literals_and_comments_only() -> None:
    assert with_field_as("message.a >= 0.0 && message.a < 9.0", "a", "v") == "v >= 0.0 && v < 9.0"
    assert with_field_as("message.a != 'message.a' // message.a", "a", "v") == (
        "v != 'message.a' // message.a"
    )
    assert with_field_as(r"message.a + r'\' + '\'' + '''x'y'''", "a", "v") == (
        r"v + r'\' + '\'' + '''x'y'''"
    )
    assert with_field_as("message.a + message.b", "a", "v") is None  # another field
    assert with_field_as("size(message) > 0", "a", "v") is None  # the whole record
    assert with_field_as("message.a + 'open", "a", "v") is None  # a literal that never ends
