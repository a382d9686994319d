"""Each level accepts exactly the evolutions Avro's resolution rules allow, in Confluent's words."""

import json
from dataclasses import dataclass

import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from services.registry.core.compatibility import (
    CompatibilityLevel,
    PreviousSchema,
    check_reader_writer,
    compatibility_messages,
)
from services.registry.core.schema import ParsedSchema, parse_schema

from .samples import enum, field, record


@dataclass(frozen=True)
class Evolution:
    name: str
    old: str
    new: str
    backward: bool  # the new schema reads data written with the old one
    forward: bool  # the old schema reads data written with the new one
    avro_agrees: bool = True  # False where the avro package's checker is wrong


def record_type(name: str, *fields: dict[str, object]) -> dict[str, object]:
    parsed: dict[str, object] = json.loads(record(name, *fields))
    return parsed


def ts(unit: str) -> dict[str, str]:
    return {"type": "long", "logicalType": f"timestamp-{unit}"}


EVOLUTIONS = [
    Evolution(
        "add field with default",
        record("R", field("a", "int")),
        record("R", field("a", "int"), field("b", "int", default=0)),
        backward=True,
        forward=True,
    ),
    Evolution(
        "add field without default",
        record("R", field("a", "int")),
        record("R", field("a", "int"), field("b", "int")),
        backward=False,
        forward=True,
    ),
    Evolution(
        "remove field without default",
        record("R", field("a", "int"), field("b", "int")),
        record("R", field("a", "int")),
        backward=True,
        forward=False,
    ),
    Evolution(
        "remove field with default",
        record("R", field("a", "int"), field("b", "int", default=1)),
        record("R", field("a", "int")),
        backward=True,
        forward=True,
    ),
    Evolution(
        "rename field via alias",
        record("R", field("name", "string")),
        record("R", field("full_name", "string", aliases=["name"])),
        backward=True,
        forward=False,
    ),
    Evolution(
        "rename record via alias",
        record("Old", field("a", "int"), namespace="n"),
        record("New", field("a", "int"), namespace="n", aliases=["Old"]),
        backward=True,
        forward=False,
        # avro.compatibility compares the alias as written ("Old") with the full name ("n.Old").
        avro_agrees=False,
    ),
    Evolution(
        "rename record without alias",
        record("Old", field("a", "int")),
        record("New", field("a", "int")),
        backward=False,
        forward=False,
    ),
    Evolution(
        "widen to a union",
        record("R", field("a", "int")),
        record("R", field("a", ["null", "int"], default=None)),
        backward=True,
        forward=False,
    ),
    Evolution(
        "add a union branch",
        record("R", field("a", ["null", "int"])),
        record("R", field("a", ["null", "int", "string"])),
        backward=True,
        forward=False,
    ),
    Evolution(
        "promote int to long",
        record("R", field("a", "int")),
        record("R", field("a", "long")),
        backward=True,
        forward=False,
    ),
    Evolution(
        "string to bytes",
        record("R", field("a", "string")),
        record("R", field("a", "bytes")),
        backward=True,
        forward=True,
    ),
    Evolution(
        "change int to string",
        record("R", field("a", "int")),
        record("R", field("a", "string")),
        backward=False,
        forward=False,
    ),
    Evolution(
        "enum symbol added, no default",
        record("R", field("e", enum("E", "A", "B"))),
        record("R", field("e", enum("E", "A", "B", "C"))),
        backward=True,
        forward=False,
    ),
    Evolution(
        "enum symbol added, old reader has an enum default",
        record("R", field("e", enum("E", "A", "B", default="A"))),
        record("R", field("e", enum("E", "A", "B", "C", default="A"))),
        backward=True,
        forward=True,
    ),
    Evolution(
        "enum symbol removed",
        record("R", field("e", enum("E", "A", "B"))),
        record("R", field("e", enum("E", "A"))),
        backward=False,
        forward=True,
    ),
    Evolution(
        # Avro's resolution ignores logical types, and so do Avro Java and Confluent.
        "timestamp-millis to timestamp-micros",
        record("R", field("t", ts("millis"))),
        record("R", field("t", ts("micros"))),
        backward=True,
        forward=True,
    ),
    Evolution(
        "fixed size change",
        record("R", field("f", {"type": "fixed", "name": "F", "size": 16})),
        record("R", field("f", {"type": "fixed", "name": "F", "size": 32})),
        backward=False,
        forward=False,
    ),
    Evolution(
        "nested record gains a field without default",
        record("R", field("n", record_type("N", field("x", "int")))),
        record("R", field("n", record_type("N", field("x", "int"), field("y", "int")))),
        backward=False,
        forward=True,
    ),
    Evolution(
        "array items promoted",
        record("R", field("a", {"type": "array", "items": "float"})),
        record("R", field("a", {"type": "array", "items": "double"})),
        backward=True,
        forward=False,
    ),
]


@pytest.mark.parametrize("evolution", EVOLUTIONS, ids=lambda e: e.name)
@pytest.mark.parametrize("level", list(CompatibilityLevel))
def test_level_verdicts(evolution: Evolution, level: CompatibilityLevel) -> None:
    old, new = parse_schema(evolution.old), parse_schema(evolution.new)
    expected = {
        "NONE": True,
        "BACKWARD": evolution.backward,
        "FORWARD": evolution.forward,
        "FULL": evolution.backward and evolution.forward,
    }[level.removesuffix("_TRANSITIVE")]
    messages = compatibility_messages(level, new, [PreviousSchema(1, old)])
    assert (not messages) is expected, messages


@pytest.mark.parametrize(
    "evolution", [e for e in EVOLUTIONS if e.avro_agrees], ids=lambda e: e.name
)
def test_verdicts_agree_with_the_avro_package(evolution: Evolution) -> None:
    old, new = parse_schema(evolution.old).avro, parse_schema(evolution.new).avro
    for reader, writer in ((new, old), (old, new)):
        theirs = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
        ours = check_reader_writer(reader, writer)
        assert (theirs.compatibility is SchemaCompatibilityType.compatible) is (not ours)


def _schema(text: str) -> ParsedSchema:
    return parse_schema(text)


def test_backward_message_is_confluents_verbose_format() -> None:
    old = _schema(record("R", field("a", "int")))
    new = _schema(record("R", field("a", "int"), field("x", "int")))
    messages = compatibility_messages(CompatibilityLevel.BACKWARD, new, [PreviousSchema(3, old)])
    assert messages == [
        "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'x' at path "
        "'/fields/1' in the new schema has no default value and is missing in the old schema', "
        "additionalInfo:'x'}",
        "{oldSchemaVersion: 3}",
        f"{{oldSchema: '{old.canonical}'}}",
        "{validateFields: 'false', compatibility: 'BACKWARD'}",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            record("R", field("a", "int")),
            record("R", field("a", "string")),
            "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field "
            "in the new schema does not match with the old schema', additionalInfo:'reader type: "
            "STRING not compatible with writer type: INT'}",
        ),
        (
            record("R", field("e", enum("E", "A", "B", "C"))),
            record("R", field("e", enum("E", "A"))),
            "{errorType:'MISSING_ENUM_SYMBOLS', description:'The new schema is missing enum "
            "symbols '[B, C]' at path '/fields/0/type/symbols' in the old schema', "
            "additionalInfo:'[B, C]'}",
        ),
        (
            record("R", field("f", {"type": "fixed", "name": "F", "size": 2})),
            record("R", field("f", {"type": "fixed", "name": "F", "size": 4})),
            "{errorType:'FIXED_SIZE_MISMATCH', description:'The size of FIXED type field at path "
            "'/fields/0/type/size' in the new schema does not match with the old schema', "
            "additionalInfo:'expected: 2, found: 4'}",
        ),
        (
            record("A", field("a", "int"), namespace="n"),
            record("B", field("a", "int"), namespace="n"),
            "{errorType:'NAME_MISMATCH', description:'The name of the schema has changed "
            "(path '/name')', additionalInfo:'expected: n.A'}",
        ),
        (
            record("R", field("u", ["int", "string"])),
            record("R", field("u", ["int"])),
            "{errorType:'MISSING_UNION_BRANCH', description:'The new schema is missing a type "
            "inside a union field at path '/fields/0/type/1' in the old schema', "
            "additionalInfo:'reader union lacking writer type: STRING'}",
        ),
    ],
)
def test_each_incompatibility_kind_is_described_like_confluent(
    old: str, new: str, expected: str
) -> None:
    messages = compatibility_messages(
        CompatibilityLevel.BACKWARD, _schema(new), [PreviousSchema(1, _schema(old))]
    )
    assert messages[0] == expected


def test_full_reports_both_directions_and_the_old_schema_once() -> None:
    old = _schema(record("R", field("a", "int")))
    new = _schema(record("R", field("b", "int")))
    messages = compatibility_messages(CompatibilityLevel.FULL, new, [PreviousSchema(1, old)])
    assert [m.startswith("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'") for m in messages] == [
        True,
        True,
        False,
        False,
        False,
    ]
    assert messages[2:] == [
        "{oldSchemaVersion: 1}",
        f"{{oldSchema: '{old.canonical}'}}",
        "{validateFields: 'false', compatibility: 'FULL'}",
    ]
    assert "in the old schema has no default value and is missing in the new" in messages[0]
    assert "in the new schema has no default value and is missing in the old" in messages[1]


# v1 -> v2 is compatible, v2 -> v3 is compatible, v1 -> v3 is not: only transitive levels see it.
TRANSITIVE_CHAINS = {
    CompatibilityLevel.BACKWARD: (
        record("R", field("a", "int")),
        record("R", field("a", "int"), field("b", "int", default=0)),
        record("R", field("b", "int")),
    ),
    CompatibilityLevel.FORWARD: (
        record("R", field("a", "int")),
        record("R", field("a", "int", default=0), field("b", "int")),
        record("R", field("b", "int")),
    ),
    CompatibilityLevel.FULL: (
        record("R", field("a", "int")),
        record("R", field("a", "int", default=0), field("b", "int", default=0)),
        record("R", field("b", "int", default=0)),
    ),
}


@pytest.mark.parametrize("level", list(TRANSITIVE_CHAINS))
def test_transitive_levels_check_every_earlier_version(level: CompatibilityLevel) -> None:
    v1, v2, v3 = (_schema(text) for text in TRANSITIVE_CHAINS[level])
    previous = [PreviousSchema(1, v1), PreviousSchema(2, v2)]
    assert compatibility_messages(level, v3, previous) == []
    transitive = CompatibilityLevel(f"{level}_TRANSITIVE")
    messages = compatibility_messages(transitive, v3, previous)
    assert f"{{validateFields: 'false', compatibility: '{transitive}'}}" == messages[-1]
    # Confluent names the old schema only when the new one cannot read it; FULL's failure here
    # is the other direction, so only the description says which schema failed.
    assert ("{oldSchemaVersion: 1}" in messages) is (level is not CompatibilityLevel.FULL)
    assert "'/fields/0' in the" in messages[0]


def test_recursive_records_are_compatible_with_themselves() -> None:
    node = record("Node", field("value", "int"), field("next", ["null", "Node"], default=None))
    parsed = _schema(node)
    assert check_reader_writer(parsed.avro, _schema(node).avro) == []
