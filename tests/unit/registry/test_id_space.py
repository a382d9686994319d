"""A schema id is bound to one schema for good: ids stay within 1..2^31-1 (what every Confluent
client's 4-byte header holds), an explicit id never rebinds, not even after a hard delete, and
applying the log refuses any record that would rebind one, whoever wrote it."""

from collections.abc import Awaitable, Sequence

import pytest

from services.registry.core.mutations import InMemoryLogWriter
from services.registry.core.records import (
    IdWatermarkRecord,
    Record,
    SchemaRecord,
    SchemaValue,
    decode,
)
from services.registry.core.registry import Registry
from services.registry.core.state import MAX_SCHEMA_ID, RegistryState
from services.registry.errors import InvalidSchemaError, OperationNotPermittedError, StoreError

from .samples import USER_V1, USER_V2, USER_V3, run


@pytest.mark.parametrize("schema_id", [0, -1, MAX_SCHEMA_ID + 1, 2**32 - 1, 2**32])
def test_an_explicit_id_outside_the_id_space_is_refused(registry: Registry, schema_id: int) -> None:
    run(registry.set_mode(None, "IMPORT"))
    with pytest.raises(InvalidSchemaError, match="ids are 1 to 2147483647"):
        run(registry.register("users", USER_V1, id=schema_id, version=1))
    assert registry.state.max_id == 0
    run(registry.set_mode(None, "READWRITE"))
    assert run(registry.register("users", USER_V1)).id == 1


def test_the_largest_id_is_the_last_one_handed_out(registry: Registry) -> None:
    run(registry.set_mode(None, "IMPORT"))
    assert run(registry.register("users", USER_V1, id=MAX_SCHEMA_ID, version=1)).id == (
        MAX_SCHEMA_ID
    )
    run(registry.set_mode(None, "READWRITE"))
    with pytest.raises(OperationNotPermittedError, match="No schema id is left"):
        run(registry.register("other", USER_V2))
    assert registry.list_subjects() == ["users"]


def test_a_hard_deleted_id_is_never_bound_to_another_schema(registry: Registry) -> None:
    run(registry.set_mode(None, "IMPORT"))
    run(registry.register("users", USER_V1, id=5, version=1))
    run(registry.delete_subject("users"))
    run(registry.delete_subject("users", permanent=True))
    with pytest.raises(OperationNotPermittedError, match="Overwrite new schema with id 5"):
        run(registry.register("other", USER_V2, id=5, version=1))
    # the schema it had may come back under it
    assert run(registry.register("other", USER_V1, id=5, version=1)).id == 5


def value(schema_id: int, schema: str, subject: str = "users", version: int = 1) -> SchemaValue:
    return SchemaValue(subject=subject, version=version, id=schema_id, schema_=schema)


def test_apply_refuses_a_record_rebinding_an_id() -> None:
    state = RegistryState()
    state.apply(SchemaRecord("users", 1, value(1, USER_V1)))
    state.apply(SchemaRecord("other", 1, value(1, USER_V2, subject="other")))
    assert state.refused == 1
    assert state.schemas[1].schema == USER_V1
    assert "other" not in state.subjects
    # the same schema under the same id elsewhere is no conflict
    state.apply(SchemaRecord("more", 1, value(1, USER_V1, subject="more")))
    assert state.refused == 1
    assert state.subjects["more"][1].schema_id == 1


def test_apply_refuses_a_record_rebinding_a_version_or_a_retired_id() -> None:
    state = RegistryState()
    state.apply(SchemaRecord("users", 1, value(1, USER_V1)))
    state.apply(SchemaRecord("users", 1, value(2, USER_V2)))
    assert state.refused == 1
    assert state.subjects["users"][1].schema_id == 1
    state.apply(SchemaRecord("users", 1, None))  # hard-deleted: id 1 retires with its schema
    state.apply(SchemaRecord("users", 1, value(1, USER_V3)))
    assert state.refused == 2
    assert "users" not in state.subjects


def test_apply_refuses_ids_and_watermarks_past_the_id_space() -> None:
    state = RegistryState()
    state.apply(SchemaRecord("users", 1, value(2**32, USER_V1)))
    state.apply(IdWatermarkRecord(2**32))
    assert state.refused == 2
    assert (state.schemas, state.max_id) == ({}, 0)
    assert state.next_id() == 1


class CatchingUpWriter(InMemoryLogWriter):
    """A second writer on a shared log that reads the others' records only when it writes,
    as a second primary (or a deposed leader) does."""

    def __init__(self, state: RegistryState, shared: InMemoryLogWriter) -> None:
        super().__init__(state)
        self.shared = shared

    def submit(self, records: Sequence[Record]) -> Awaitable[None]:
        for key, value_bytes in self.shared.log:
            decoded = decode(key, value_bytes)
            if decoded is not None:
                self.state.apply(decoded)
        return super().submit(records)


def test_a_write_that_lost_its_id_to_another_writer_is_not_acknowledged() -> None:
    shared = InMemoryLogWriter(RegistryState())
    first = Registry(shared.state, shared)
    lagging = CatchingUpWriter(RegistryState(), shared)
    second = Registry(lagging.state, lagging)
    assert run(first.register("a", USER_V1)).id == 1
    # `second` plans id 1 too; its record comes after the first one's and is refused on apply
    with pytest.raises(StoreError, match="bound to another schema by another writer"):
        run(second.register("b", USER_V2))
    assert lagging.state.refused == 1
    assert second.get_schema_by_id(1).schema_ == first.get_schema_by_id(1).schema_
    assert run(second.register("b", USER_V2)).id == 2
