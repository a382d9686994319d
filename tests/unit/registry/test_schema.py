"""Equal schemas (modulo whitespace, key order, namespace spelling) get one canonical string."""

import json

import pytest

from services.registry.core.schema import parse_schema
from services.registry.errors import ErrorCode, InvalidSchemaError

from .samples import enum, field, record


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ('  "string" ', '"string"'),
        ('{"type": "int"}', '"int"'),
        (
            '{"type":"long","logicalType":"timestamp-millis"}',
            '{"type":"long","logicalType":"timestamp-millis"}',
        ),
        (
            '{"fields":[{"type":"string","name":"a"}],"name":"R","type":"record"}',
            '{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}',
        ),
        (
            '{"type":"record","name":"com.acme.R","doc":"d","fields":[{"name":"a","type":"int",'
            '"default":1,"order":"descending","aliases":["b"],"doc":"x"}],"aliases":["Old"]}',
            '{"type":"record","name":"R","namespace":"com.acme","doc":"d","fields":[{"name":"a",'
            '"type":"int","doc":"x","default":1,"order":"descending","aliases":["b"]}],'
            '"aliases":["Old"]}',
        ),
        (
            '{"type":"enum","name":"E","symbols":["A","B"],"default":"A","doc":"e"}',
            '{"type":"enum","name":"E","doc":"e","symbols":["A","B"],"default":"A"}',
        ),
        ('{"size":16,"type":"fixed","name":"F"}', '{"type":"fixed","name":"F","size":16}'),
        (
            '{"type":"array","items":{"type":"map","values":"long"}}',
            '{"type":"array","items":{"type":"map","values":"long"}}',
        ),
        # The second use of a named type is a reference, short inside its own namespace.
        (
            '{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":'
            '{"type":"fixed","name":"F","size":2}},{"name":"b","type":["null","n.F"]}]}',
            '{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":'
            '{"type":"fixed","name":"F","size":2}},{"name":"b","type":["null","F"]}]}',
        ),
        # A nested type in another namespace keeps its own.
        (
            '{"type":"record","name":"a.R","fields":[{"name":"x","type":{"type":"record",'
            '"name":"b.S","fields":[]}}]}',
            '{"type":"record","name":"R","namespace":"a","fields":[{"name":"x","type":'
            '{"type":"record","name":"S","namespace":"b","fields":[]}}]}',
        ),
        # Free properties are kept, in the order given.
        ('{"type":"string","z":1,"a":2}', '{"type":"string","z":1,"a":2}'),
    ],
)
def test_canonical_string_is_avro_javas_to_string(given: str, canonical: str) -> None:
    assert parse_schema(given).canonical == canonical


def test_whitespace_and_key_order_do_not_change_the_canonical_string() -> None:
    compact = record("R", field("a", "int", default=1), namespace="n")
    spread = json.dumps(
        {
            "namespace": "n",
            "fields": [{"default": 1, "type": "int", "name": "a"}],
            "name": "R",
            "type": "record",
        },
        indent=4,
    )
    full_name = json.dumps(
        {"type": "record", "name": "n.R", "fields": [field("a", "int", default=1)]}
    )
    assert parse_schema(compact).canonical == parse_schema(spread).canonical
    assert parse_schema(compact).canonical == parse_schema(full_name).canonical


def test_normalized_form_uses_full_names_sorted_properties_and_keeps_defaults() -> None:
    parsed = parse_schema(
        record(
            "R",
            field("e", enum("E", "A", "B", default="A", z=1, a=2), default="B", doc="d"),
            field("d", {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 0}),
            namespace="n",
            aliases=["Old"],
        )
    )
    assert parsed.normalized == (
        '{"name":"n.R","type":"record","fields":[{"name":"e","type":{"name":"n.E","type":"enum",'
        '"symbols":["A","B"],"default":"A","a":2,"z":1},"order":"ascending","doc":"d",'
        '"default":"B"},{"name":"d","type":{"type":"bytes","logicalType":"decimal",'
        '"precision":4},"order":"ascending"}],"aliases":["n.Old"]}'
    )


def test_referenced_named_types_are_written_by_name() -> None:
    address = record("Address", field("city", "string"), namespace="geo")
    user = record("User", field("home", "geo.Address"), field("work", ["null", "geo.Address"]))
    parsed = parse_schema(user, [address])
    assert parsed.canonical == (
        '{"type":"record","name":"User","fields":[{"name":"home","type":"geo.Address"},'
        '{"name":"work","type":["null","geo.Address"]}]}'
    )
    assert '"geo.Address"' in parsed.normalized


@pytest.mark.parametrize(
    ("text", "new", "detail"),
    [
        ("", False, "Empty schema"),
        ("{not json", False, "details:"),
        ('{"type":"nope"}', False, "details:"),
        (record("R", field("a", "Missing")), False, "details:"),
        (record("R", field("a", "int"), field("a", "int")), False, "already in use"),
        (json.dumps(enum("E", "A", "A ")), False, "details:"),
        (record("R", field("a", "int", default="x")), True, "Invalid default for field a"),
        (record("R", field("a", ["null", "int"], default="x")), True, "Invalid default"),
        (record("R", field("a", enum("E", "A"), default="B")), True, "Invalid default"),
    ],
)
def test_invalid_schemas_raise_42201(text: str, new: bool, detail: str) -> None:
    with pytest.raises(InvalidSchemaError) as caught:
        parse_schema(text, new=new)
    assert caught.value.error_code == ErrorCode.INVALID_SCHEMA
    assert caught.value.http_status == 422
    assert detail in caught.value.message


def test_bad_defaults_are_accepted_for_stored_schemas() -> None:
    # Confluent validates defaults only for schemas being registered, never for stored ones.
    assert parse_schema(record("R", field("a", "int", default="x"))).canonical


@pytest.mark.parametrize(
    ("type_", "default"),
    [
        ("int", 2**31 - 1),
        ("long", -(2**63)),
        ("double", 1),
        ("float", "NaN"),
        (["null", "string"], None),
        (["string", "null"], None),
        ({"type": "array", "items": "int"}, [1, 2]),
        ({"type": "map", "values": "boolean"}, {"a": True}),
        ({"type": "record", "name": "S", "fields": [field("x", "int", default=1)]}, {}),
    ],
)
def test_valid_defaults_are_accepted(type_: object, default: object) -> None:
    assert parse_schema(record("R", field("a", type_, default=default)), new=True).canonical


def test_parses_are_cached() -> None:
    text = record("Cached", field("a", "int"))
    assert parse_schema(text) is parse_schema(text)
