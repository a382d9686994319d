"""Every record survives encode/decode; garbage is skipped and unknown key types pass through."""

import logging

import pytest

from services.registry.core.records import (
    ConfigRecord,
    DeleteSubjectRecord,
    ModeRecord,
    NoopRecord,
    Record,
    SchemaRecord,
    SchemaValue,
    UnknownRecord,
    decode,
    encode,
)
from services.registry.models import Config, Metadata, Rule, RuleSet, SchemaReference

VALUE = SchemaValue(
    subject="orders-value",
    version=2,
    id=7,
    schema_='"string"',
    references=[SchemaReference(name="a.B", subject="b", version=1)],
    metadata=Metadata(properties={"owner": "team-a"}),
    rule_set=RuleSet(domain_rules=[Rule(name="r", kind="CONDITION", mode="WRITE", type="CEL")]),
    deleted=True,
    guid="g",
    ts=5,
)


@pytest.mark.parametrize(
    "record",
    [
        SchemaRecord("orders-value", 2, VALUE),
        SchemaRecord("a/b c ü", 1, None),
        ConfigRecord(None, Config(compatibility_level="FULL", normalize=True)),
        ConfigRecord("s", None),
        ModeRecord(None, "IMPORT"),
        ModeRecord("s", None),
        DeleteSubjectRecord("s", 3),
        NoopRecord(),
        UnknownRecord("PRODUCT", b'{"keytype":"PRODUCT","name":"orders"}', b"{}"),
    ],
)
def test_round_trip(record: Record) -> None:
    assert decode(*encode(record)) == record


@pytest.mark.parametrize(
    ("record", "key", "value"),
    [
        (
            SchemaRecord("s", 1, None),
            b'{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}',
            None,
        ),
        (
            ConfigRecord(None, Config(compatibility_level="NONE")),
            b'{"keytype":"CONFIG","subject":null,"magic":0}',
            b'{"compatibilityLevel":"NONE"}',
        ),
        (
            ModeRecord("s", "READONLY"),
            b'{"keytype":"MODE","subject":"s","magic":0}',
            b'{"subject":"s","mode":"READONLY"}',
        ),
        (
            DeleteSubjectRecord("s", 4),
            b'{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}',
            b'{"subject":"s","version":4}',
        ),
        (NoopRecord(), b'{"keytype":"NOOP","magic":0}', None),
    ],
)
def test_wire_format_is_confluents(record: Record, key: bytes, value: bytes | None) -> None:
    assert encode(record) == (key, value)


def test_schema_value_omits_empty_and_avro_fields() -> None:
    plain = SchemaValue(subject="s", version=1, id=1, schema_='"int"')
    assert encode(SchemaRecord("s", 1, plain))[1] == (
        b'{"subject":"s","version":1,"id":1,"schema":"\\"int\\"","deleted":false}'
    )


def test_unknown_value_fields_are_ignored() -> None:
    key = b'{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}'
    value = b'{"subject":"s","version":1,"id":1,"schema":"\\"int\\"","deleted":false,"new":1}'
    assert decode(key, value) == SchemaRecord(
        "s", 1, SchemaValue(subject="s", version=1, id=1, schema_='"int"')
    )


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (b"not json", b"{}"),
        (b"[]", None),
        (b'{"magic":0}', None),
        (b'{"keytype":"SCHEMA","subject":"s","magic":1}', None),
        (b'{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}', b"{broken"),
        (b'{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}', b'{"subject":"s"}'),
        (b'{"keytype":"MODE","subject":null,"magic":0}', b"{}"),
    ],
)
def test_garbage_is_logged_and_skipped(
    key: bytes, value: bytes | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert decode(key, value) is None
    assert "Skipping unreadable registry record" in caplog.text


def test_delete_subject_tombstone_is_skipped_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert decode(b'{"keytype":"DELETE_SUBJECT","subject":"s","magic":0}', None) is None
    assert caplog.text == ""
