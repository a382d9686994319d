"""The façade behaves as Confluent does: ids, versions, deletes, references, modes, configs."""

import asyncio
import json
from collections.abc import Awaitable, Sequence

import pytest

from services.registry.core.mutations import HEAVY_SCHEMA_CHARS, InMemoryLogWriter
from services.registry.core.records import Record
from services.registry.core.registry import Registry, page
from services.registry.core.schema import parse_schema
from services.registry.core.state import RegistryState
from services.registry.errors import (
    IncompatibleSchemaError,
    InvalidSchemaError,
    OperationNotPermittedError,
    ReferenceExistsError,
    SchemaNotFoundError,
    StoreError,
    SubjectNotFoundError,
    VersionNotFoundError,
)
from services.registry.models import Config, Metadata, Rule, RuleSet, SchemaReference

from .samples import USER_V1, USER_V2, USER_V3, field, record, run

ADDRESS = record("Address", field("city", "string"), namespace="geo")


def ref(subject: str, version: int, name: str = "geo.Address") -> SchemaReference:
    return SchemaReference(name=name, subject=subject, version=version)


# --- registration and ids


def test_same_schema_keeps_its_id_and_adds_no_version(registry: Registry) -> None:
    first = run(registry.register("users", USER_V1))
    again = run(registry.register("users", "  " + USER_V1.replace(",", ", ")))
    assert first.id == again.id == 1
    assert registry.list_versions("users") == [1]


def test_same_schema_in_another_subject_shares_the_id(registry: Registry) -> None:
    run(registry.register("a", USER_V1))
    other = run(registry.register("b", USER_V1))
    assert other.id == 1
    assert registry.subjects_for_id(1) == ["a", "b"]
    assert [(v.subject, v.version) for v in registry.versions_for_id(1)] == [("a", 1), ("b", 1)]


def test_new_schema_gets_next_id_and_version(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    second = run(registry.register("users", USER_V2))
    assert second.id == 2
    latest = registry.get_version("users", "latest")
    assert (latest.version, latest.id) == (2, 2)
    assert registry.get_version("users", -1) == latest
    assert registry.get_version("users", "1").schema_ == parse_schema(USER_V1).canonical


def test_version_carries_canonical_text_guid_and_timestamp(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    version = registry.get_version("users", 1)
    assert version.model_dump(by_alias=True, exclude_none=True) == {
        "subject": "users",
        "version": 1,
        "id": 1,
        "schema": '{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}',
        "guid": "guid-1",
        "ts": 1_700_000_000_000,
    }
    assert registry.get_schema_by_guid("guid-1").schema_ == version.schema_
    by_id = registry.get_schema_by_id(1, fetch_max_id=True)
    assert (by_id.schema_, by_id.max_id, by_id.schema_type) == (version.schema_, 1, None)


def test_subjects_are_any_non_empty_string(registry: Registry) -> None:
    for subject in ("a/b", "with space", "ünï", "x"):
        run(registry.register(subject, USER_V1))
    assert registry.list_subjects() == ["a/b", "with space", "x", "ünï"]
    assert registry.list_subjects(prefix="w") == ["with space"]


def test_incompatible_schema_is_refused_and_not_written(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    with pytest.raises(IncompatibleSchemaError):
        run(registry.register("users", USER_V3))
    assert registry.list_versions("users") == [1]


def test_normalize_registers_the_normalized_form(registry: Registry) -> None:
    run(registry.register("users", USER_V1, normalize=True))
    assert registry.get_version("users", 1).schema_ == parse_schema(USER_V1).normalized
    # A normalize lookup finds it from any spelling.
    spelled = '{"name":"User","type":"record","fields":[{"type":"string","name":"name"}]}'
    assert registry.lookup("users", spelled, normalize=True).version == 1


def test_lookup_finds_the_version_holding_a_schema(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    run(registry.register("users", USER_V2))
    assert registry.lookup("users", USER_V1).version == 1
    run(registry.delete_version("users", 1))
    with pytest.raises(SubjectNotFoundError):
        registry.lookup("nobody", USER_V1)
    assert registry.lookup("users", USER_V1, deleted=True).deleted is True


def test_reregistering_after_soft_delete_gets_a_new_version(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    run(registry.delete_subject("users"))
    again = run(registry.register("users", USER_V1))
    assert again.id == 1
    # Confluent numbers on past the deleted versions and drops the stale deleted one.
    assert registry.list_versions("users", deleted=True) == [2]


# --- deletes


def test_soft_then_permanent_version_delete(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    run(registry.register("users", USER_V2))
    assert run(registry.delete_version("users", "latest")) == 2
    assert registry.list_versions("users") == [1]
    assert registry.list_versions("users", deleted=True) == [1, 2]
    assert registry.list_versions("users", deleted_only=True) == [2]
    assert registry.get_version("users", 2, deleted=True).deleted is True
    with pytest.raises(VersionNotFoundError):
        registry.get_version("users", 2)
    assert run(registry.delete_version("users", 2, permanent=True)) == 2
    assert registry.list_versions("users", deleted=True) == [1]


def test_subject_delete_soft_then_permanent(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    run(registry.register("users", USER_V2))
    run(registry.register("other", USER_V1))
    assert run(registry.delete_subject("users")) == [1, 2]
    assert registry.list_subjects() == ["other"]
    assert registry.list_subjects(deleted=True) == ["other", "users"]
    assert registry.list_subjects(deleted_only=True) == ["users"]
    assert registry.subjects_for_id(2) == []
    assert registry.subjects_for_id(2, deleted=True) == ["users"]
    assert run(registry.delete_subject("users", permanent=True)) == [1, 2]
    assert registry.list_subjects(deleted=True) == ["other"]
    # Schema 1 lives on in "other"; schema 2 is gone with its last version.
    assert registry.get_schema_by_id(1).schema_
    assert 2 not in registry.state.schemas


def test_deleting_the_last_live_version_drops_subject_config_and_mode(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    run(registry.set_config("users", Config(compatibility_level="NONE")))
    run(registry.set_mode("users", "READWRITE"))
    run(registry.delete_version("users", 1))
    assert "users" not in registry.state.configs
    assert "users" not in registry.state.modes


# --- references


def test_references_resolve_pin_latest_and_index_referrers(registry: Registry) -> None:
    run(registry.register("addr", ADDRESS))
    user = record("User", field("home", "geo.Address"))
    user_id = run(registry.register("users", user, references=[ref("addr", -1)])).id
    stored = registry.get_version("users", 1)
    assert stored.references == [ref("addr", 1)]
    assert (
        stored.schema_
        == '{"type":"record","name":"User","fields":[{"name":"home","type":"geo.Address"}]}'
    )
    assert registry.referenced_by("addr", 1) == [user_id]
    with pytest.raises(ReferenceExistsError):
        run(registry.delete_subject("addr"))
    run(registry.delete_version("users", 1))
    assert registry.referenced_by("addr", 1) == []
    assert run(registry.delete_subject("addr")) == [1]


def test_transitive_references_are_resolved(registry: Registry) -> None:
    run(registry.register("addr", ADDRESS))
    person = record("Person", field("address", "geo.Address"), namespace="people")
    run(registry.register("person", person, references=[ref("addr", 1)]))
    team = record("Team", field("lead", "people.Person"))
    team_id = run(registry.register("team", team, references=[ref("person", 1, "people.Person")]))
    assert registry.referenced_by("person", 1) == [team_id.id]
    compatible = registry.check_compatibility(
        "team", None, team, references=[ref("person", 1, "people.Person")]
    )
    assert compatible.is_compatible


def test_compatibility_is_checked_through_references(registry: Registry) -> None:
    run(registry.register("addr", ADDRESS))
    wider = record("Address", field("city", "string"), field("zip", "string"), namespace="geo")
    run(registry.set_config("addr", Config(compatibility_level="NONE")))
    run(registry.register("addr", wider))
    user = record("User", field("home", "geo.Address"))
    run(registry.register("users", user, references=[ref("addr", 1)]))
    # The same text over version 2 of the address is a new schema, and not backward compatible.
    check = registry.check_compatibility(
        "users", "latest", user, references=[ref("addr", 2)], verbose=True
    )
    assert not check.is_compatible
    assert check.messages is not None
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in check.messages[0]
    assert "'/fields/0/type/fields/1'" in check.messages[0]


# --- compatibility checks


def test_check_compatibility_answers_without_writing(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    ok = registry.check_compatibility("users", "latest", USER_V2)
    bad = registry.check_compatibility("users", None, USER_V3)
    verbose = registry.check_compatibility("users", 1, USER_V3, verbose=True)
    assert (ok.is_compatible, ok.messages) == (True, None)
    assert (bad.is_compatible, bad.messages) == (False, None)
    assert verbose.messages is not None
    assert verbose.messages[-1] == "{validateFields: 'false', compatibility: 'BACKWARD'}"
    assert registry.list_versions("users") == [1]
    assert registry.check_compatibility("empty", None, USER_V3).is_compatible


# --- config and mode


def test_config_inheritance_and_deletion(registry: Registry) -> None:
    assert registry.get_config().compatibility_level == "BACKWARD"
    run(registry.set_config(None, Config(compatibility_level="full")))
    run(registry.set_config("users", Config(compatibility_level="NONE")))
    assert registry.get_config().compatibility_level == "FULL"
    assert registry.get_config("users").compatibility_level == "NONE"
    assert registry.get_config("other", default_to_global=True).compatibility_level == "FULL"
    run(registry.register("users", USER_V1))
    run(registry.register("users", USER_V3))  # incompatible, allowed by NONE
    assert run(registry.delete_config("users")).compatibility_level == "NONE"
    assert registry.effective_config("users").compatibility_level == "FULL"
    assert run(registry.delete_config()).compatibility_level == "FULL"
    assert registry.get_config().compatibility_level == "BACKWARD"


def test_set_config_updates_only_the_given_fields(registry: Registry) -> None:
    run(registry.set_config(None, Config(compatibility_level="FORWARD")))
    stored = run(registry.set_config(None, Config(normalize=True)))
    assert (stored.compatibility_level, stored.normalize) == ("FORWARD", True)


def test_mode_inheritance(registry: Registry) -> None:
    assert registry.get_mode().mode == "READWRITE"
    run(registry.set_mode(None, "READONLY"))
    run(registry.set_mode("open", "READWRITE"))
    assert registry.get_mode("open").mode == "READWRITE"
    assert registry.get_mode("closed", default_to_global=True).mode == "READONLY"
    run(registry.register("open", USER_V1))
    with pytest.raises(OperationNotPermittedError):
        run(registry.register("closed", USER_V1))
    run(registry.set_mode(None, "READONLY_OVERRIDE"))
    with pytest.raises(OperationNotPermittedError, match="read-only"):
        run(registry.register("open", USER_V2))
    assert run(registry.delete_mode()).mode == "READONLY_OVERRIDE"
    assert run(registry.delete_mode("open")).mode == "READWRITE"
    assert registry.get_mode().mode == "READWRITE"


def test_import_mode_honours_ids_and_versions(registry: Registry) -> None:
    run(registry.set_mode(None, "IMPORT"))
    assert run(registry.register("users", USER_V1, id=100, version=3)).id == 100
    # Compatibility is not checked in IMPORT mode.
    assert run(registry.register("users", USER_V3, id=7, version=4)).id == 7
    assert registry.list_versions("users") == [3, 4]
    # Reusing an id or a version for another schema is refused; the same schema is a no-op.
    with pytest.raises(OperationNotPermittedError, match="Overwrite new schema with id 100"):
        run(registry.register("other", USER_V2, id=100, version=1))
    with pytest.raises(OperationNotPermittedError, match="version 3 under subject users"):
        run(registry.register("users", USER_V2, id=8, version=3))
    assert run(registry.register("users", USER_V1, id=100, version=3)).id == 100
    with pytest.raises(OperationNotPermittedError, match="not in read-write mode"):
        run(registry.register("users", USER_V2))
    run(registry.set_mode(None, "READWRITE"))
    assert run(registry.register("fresh", USER_V2)).id == 101


def test_import_mode_needs_an_empty_registry_unless_forced(registry: Registry) -> None:
    run(registry.register("users", USER_V1))
    with pytest.raises(OperationNotPermittedError):
        run(registry.set_mode("users", "IMPORT"))
    assert run(registry.set_mode("other", "IMPORT")).mode == "IMPORT"
    assert run(registry.set_mode(None, "IMPORT", force=True)).mode == "IMPORT"


# --- metadata and rule sets


def rule(name: str, expr: str) -> Rule:
    return Rule.model_validate({"name": name, "kind": "CONDITION", "type": "CEL", "expr": expr})


def test_config_defaults_and_overrides_merge_into_registered_schemas(registry: Registry) -> None:
    config = Config(
        default_metadata=Metadata(properties={"owner": "platform", "tier": "2"}),
        override_metadata=Metadata(properties={"tier": "1"}),
        default_rule_set=RuleSet(domain_rules=[rule("a", "default"), rule("b", "default")]),
        override_rule_set=RuleSet(domain_rules=[rule("b", "override")]),
    )
    run(registry.set_config(None, config))
    run(
        registry.register(
            "users",
            USER_V1,
            metadata=Metadata(properties={"owner": "team-x"}),
            rule_set=RuleSet(domain_rules=[rule("a", "mine")]),
        )
    )
    stored = registry.get_version("users", 1)
    assert stored.metadata == Metadata(properties={"owner": "team-x", "tier": "1"})
    assert stored.rule_set is not None
    assert [(r.name, r.model_extra) for r in stored.rule_set.domain_rules or []] == [
        ("a", {"expr": "mine"}),
        ("b", {"expr": "override"}),
    ]


def test_metadata_is_inherited_from_the_previous_version(registry: Registry) -> None:
    run(registry.register("users", USER_V1, metadata=Metadata(properties={"owner": "x"})))
    run(registry.register("users", USER_V2))
    assert registry.get_version("users", 2).metadata == Metadata(properties={"owner": "x"})
    found = registry.get_latest_with_metadata("users", {"owner": "x"})
    assert found.version == 2


def test_same_text_with_other_metadata_is_another_schema(registry: Registry) -> None:
    run(registry.register("a", USER_V1, metadata=Metadata(properties={"k": "1"})))
    other = run(registry.register("b", USER_V1, metadata=Metadata(properties={"k": "2"})))
    assert other.id == 2


def test_schema_types_and_contexts(registry: Registry) -> None:
    assert registry.schema_types() == ["AVRO"]
    assert registry.contexts() == ["."]


def test_list_schemas(registry: Registry) -> None:
    run(registry.register("a", USER_V1))
    run(registry.register("a", USER_V2))
    run(registry.register("b", USER_V1))
    listed = [(s.subject, s.version) for s in registry.list_schemas()]
    assert listed == [("a", 1), ("a", 2), ("b", 1)]
    latest = [(s.subject, s.version) for s in registry.list_schemas(latest_only=True)]
    assert latest == [("a", 2), ("b", 1)]
    assert [s.subject for s in registry.list_schemas(subject_prefix="b")] == ["b"]


# --- failures of the log


class _RefusingWriter:
    """A writer whose log fails every write after accepting it."""

    def __init__(self) -> None:
        self.writable = RegistryState()

    async def writable_state(self) -> RegistryState:
        return self.writable

    def submit(self, records: Sequence[Record]) -> Awaitable[None]:
        async def fail() -> None:
            raise RuntimeError("broker says no")

        return fail()


def test_a_failing_log_is_a_store_error_and_changes_nothing() -> None:
    state = RegistryState()
    registry = Registry(state, _RefusingWriter())
    with pytest.raises(StoreError) as refused:
        run(registry.register("users", USER_V1))
    assert (refused.value.http_status, refused.value.error_code) == (500, 50001)
    assert refused.value.message == (
        "Error while registering the schema in the backend Kafka store"
    )
    assert isinstance(refused.value.__cause__, RuntimeError)
    assert registry.list_subjects() == []


# --- paging, as Confluent's resources slice their listings


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, -1, [1, 2, 3, 4, 5]),  # the clients' default: everything
        (0, 0, [1, 2, 3, 4, 5]),  # zero or less is no limit
        (0, 2, [1, 2]),
        (2, 2, [3, 4]),
        (4, 10, [5]),
        (5, 1, []),
        (9, -1, []),
        (-2, 3, [1]),  # Confluent counts a negative offset from the first item
        (-9, 3, []),
    ],
)
def test_page(offset: int, limit: int, expected: list[int]) -> None:
    assert page([1, 2, 3, 4, 5], offset, limit) == expected


def test_versions_for_id_filtered_by_subject(registry: Registry) -> None:
    run(registry.register("a", USER_V1))
    run(registry.register("b", USER_V1))
    run(registry.register("c", USER_V2))
    assert [(v.subject, v.version) for v in registry.versions_for_id(1, subject="b")] == [("b", 1)]
    assert registry.subjects_for_id(1, subject="a") == ["a"]
    with pytest.raises(SchemaNotFoundError):
        registry.versions_for_id(1, subject="c")  # c never held id 1
    with pytest.raises(SchemaNotFoundError):
        registry.subjects_for_id(1, subject="missing")
    run(registry.delete_version("b", 1))
    assert registry.subjects_for_id(1, subject="b") == []
    assert registry.subjects_for_id(1, deleted=True, subject="b") == ["b"]


GREEDY = "[" + ",".join(map(str, range(900))) + "]"
GREEDY_RULE = rule("greedy", f"{GREEDY}.all(x, x in {GREEDY})")  # ~1.6e6 steps a record


def test_a_rule_too_expensive_to_evaluate_is_refused_as_an_invalid_schema(
    registry: Registry,
) -> None:
    with pytest.raises(InvalidSchemaError, match="rule 'greedy' is too expensive") as refused:
        run(registry.register("users", USER_V1, rule_set=RuleSet(domain_rules=[GREEDY_RULE])))
    assert (refused.value.http_status, refused.value.error_code) == (422, 42201)
    assert registry.list_subjects() == []
    cheap = RuleSet(domain_rules=[rule("cheap", "message.name != ''")])
    run(registry.register("users", USER_V1, rule_set=cheap))


def test_a_rule_that_does_not_parse_is_left_to_the_clients(registry: Registry) -> None:
    broken = RuleSet(domain_rules=[rule("broken", "message.name >")])
    run(registry.register("users", USER_V1, rule_set=broken))


# --- very large schemas


def test_a_very_large_schema_is_planned_off_the_event_loop() -> None:
    """Parsing and checking a huge schema must not freeze every other request of the worker."""
    state = RegistryState()
    registry = Registry(state, InMemoryLogWriter(state))

    def big(fields: int) -> str:
        declared = [{"name": f"f{n}", "type": "long", "default": 0} for n in range(fields)]
        return json.dumps({"type": "record", "name": "Big", "fields": declared})

    first, second = big(3000), big(3001)
    assert len(first) > HEAVY_SCHEMA_CHARS

    async def main() -> tuple[int, int]:
        await registry.register("big", first)
        ticks = 0
        done = asyncio.Event()

        async def tick() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0)
        ticks = 0
        registered = await registry.register("big", second)
        done.set()
        await ticker
        return registered.id, ticks

    schema_id, ticks = asyncio.run(main())
    assert schema_id == 2
    assert ticks > 10  # the loop kept turning while the second version was checked
