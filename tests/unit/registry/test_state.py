"""Replaying the produced log, twice-applied or compacted, rebuilds the same state and ids."""

from collections.abc import Iterable

from services.registry.core.mutations import InMemoryLogWriter
from services.registry.core.records import SchemaRecord, SchemaValue, decode
from services.registry.core.registry import Registry
from services.registry.core.state import RegistryState
from services.registry.models import Config, Metadata, SchemaReference

from .samples import USER_V1, USER_V2, USER_V3, field, record, run


def busy_history(registry: Registry) -> None:
    """A log with every record type: registrations, references, deletes, configs, modes."""
    run(registry.register("addr", record("Address", field("city", "string"))))
    reference = [SchemaReference(name="Address", subject="addr", version=1)]
    run(registry.register("users", record("U", field("a", "Address")), references=reference))
    run(registry.register("a", USER_V1, metadata=Metadata(properties={"k": "v"})))
    run(registry.register("a", USER_V2))
    run(registry.register("b", USER_V1))
    run(registry.set_config("a", Config(compatibility_level="NONE")))
    run(registry.register("a", USER_V3))
    run(registry.delete_version("a", 3))
    run(registry.delete_version("a", 3, permanent=True))
    run(registry.register("gone", record("Gone", field("x", "int"))))
    run(registry.delete_subject("gone"))
    run(registry.delete_subject("gone", permanent=True))
    run(registry.register("c", record("C", field("x", "int"))))
    run(registry.delete_subject("c"))
    run(registry.set_mode("b", "READONLY"))
    run(registry.set_config(None, Config(compatibility_level="FULL")))


def snapshot(state: RegistryState) -> dict[str, object]:
    return {
        "subjects": state.subjects,
        "schemas": state.schemas,
        "content": state.ids_by_content,
        "guids": state.ids_by_guid,
        "configs": state.configs,
        "modes": state.modes,
        "referrers": {k: v for k, v in state.referrers.items() if v},
    }


def replay(log: Iterable[tuple[bytes, bytes | None]], times: int = 1) -> RegistryState:
    state = RegistryState()
    for key, value in log:
        record = decode(key, value)
        if record is not None:
            for _ in range(times):
                state.apply(record)
    return state


def compact(log: list[tuple[bytes, bytes | None]]) -> list[tuple[bytes, bytes | None]]:
    """What Kafka's compaction keeps: the last value per key, tombstones eventually removed."""
    last = {key: (offset, value) for offset, (key, value) in enumerate(log)}
    kept = sorted((offset, key, value) for key, (offset, value) in last.items())
    return [(key, value) for _, key, value in kept if value is not None]


def test_replay_rebuilds_the_same_state(registry: Registry, writer: InMemoryLogWriter) -> None:
    busy_history(registry)
    replayed = replay(writer.log)
    assert snapshot(replayed) == snapshot(registry.state)
    assert replayed.max_id == registry.state.max_id


def test_applying_every_record_twice_changes_nothing(
    registry: Registry, writer: InMemoryLogWriter
) -> None:
    busy_history(registry)
    assert snapshot(replay(writer.log, times=2)) == snapshot(registry.state)


def test_compacted_log_rebuilds_the_same_subjects_and_ids(
    registry: Registry, writer: InMemoryLogWriter
) -> None:
    busy_history(registry)
    compacted = replay(compact(writer.log))
    assert snapshot(compacted) == snapshot(registry.state)


def test_ids_stay_stable_when_registering_after_a_restart(
    registry: Registry, writer: InMemoryLogWriter
) -> None:
    busy_history(registry)
    restarted_writer = InMemoryLogWriter(replay(writer.log))
    restarted = Registry(restarted_writer.state, restarted_writer)
    new_id = run(restarted.register("fresh", record("Fresh", field("x", "int")))).id
    assert new_id == registry.state.max_id + 1
    assert run(restarted.register("fresh2", USER_V1)).id == registry.lookup("b", USER_V1).id


def test_max_id_survives_hard_deletes_within_a_replay() -> None:
    state = RegistryState()
    value = SchemaValue(subject="s", version=1, id=9, schema_='"int"')
    state.apply(SchemaRecord("s", 1, value))
    state.apply(SchemaRecord("s", 1, None))
    assert state.subjects == {}
    assert state.schemas == {}
    assert state.next_id() == 10


def test_unknown_records_are_ignored_by_the_state() -> None:
    state = RegistryState()
    record = decode(b'{"keytype":"PRODUCT","name":"orders","magic":0}', b"{}")
    assert record is not None
    state.apply(record)
    assert snapshot(state) == snapshot(RegistryState())


def test_ids_are_never_reused_after_compaction_forgets_a_hard_deleted_schema() -> None:
    """Compaction drops a hard-deleted schema's records; the watermark keeps its id taken."""

    async def scenario() -> int:
        state = RegistryState()
        writer = InMemoryLogWriter(state)
        registry = Registry(state, writer)
        keep = '{"type":"record","name":"A","fields":[{"name":"a","type":"int"}]}'
        drop = '{"type":"record","name":"B","fields":[{"name":"b","type":"int"}]}'
        await registry.register("keep", keep)
        dropped = (await registry.register("drop", drop)).id
        await registry.delete_subject("drop")
        await registry.delete_subject("drop", permanent=True)
        # Compaction: the latest value per key, and tombstones gone after delete.retention.ms.
        latest: dict[bytes, bytes | None] = dict(writer.log)
        compacted = [(k, v) for k, v in latest.items() if v is not None]
        replayed = RegistryState()
        for key, value in compacted:
            record = decode(key, value)
            if record is not None:
                replayed.apply(record)
        assert dropped not in replayed.schemas
        return replayed.next_id() - dropped

    assert run(scenario()) == 1
