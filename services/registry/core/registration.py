"""What registering a schema would write, worked out from the state without changing it.

The plan (the mode and config in force, references pinned, metadata and rules merged as
Confluent merges them, and the id the content already has) is computed apart from the write
because two callers need it: `register` on the primary, which then checks compatibility and
writes, and `registered_id`, which answers a re-registration that writes nothing without
taking the write lock (on a replica too, and ahead of FastAPI).
"""

from collections.abc import Sequence
from dataclasses import dataclass

from services.registry.core.config import (
    IMPORT,
    READWRITE,
    check_writable,
    effective_config,
    effective_mode,
)
from services.registry.core.queries import resolve_references
from services.registry.core.schema import AVRO, ParsedSchema, parse_schema
from services.registry.core.state import (
    MAX_SCHEMA_ID,
    ContentKey,
    RegistryState,
    VersionEntry,
    content_key,
)
from services.registry.errors import InvalidSchemaError, OperationNotPermittedError
from services.registry.models import Config, Metadata, Rule, RuleSet, SchemaReference
from streammesh.contracts import RuleCompileError, RuleCostError, check_rule_cost

_CEL_TYPES = frozenset({"CEL", "CEL_FIELD"})


@dataclass(frozen=True)
class RegistrationPlan:
    """What a registration would write, before the compatibility check."""

    mode: str
    config: Config
    refs: list[SchemaReference]
    parsed: ParsedSchema
    text: str
    all_entries: list[VersionEntry]
    live: list[VersionEntry]
    metadata: Metadata | None
    rule_set: RuleSet | None
    content: ContentKey
    existing_id: int | None

    @property
    def live_id(self) -> int | None:
        """The id the content already has as a live version of the subject: registering it
        again writes nothing and answers this id."""
        existing = self.existing_id
        if existing is not None and any(e.schema_id == existing for e in self.live):
            return existing
        return None


def merge_metadata(old: Metadata | None, new: Metadata | None) -> Metadata | None:
    """Confluent's `Metadata.mergeMetadata`: maps and sets are unioned, `new` wins per key."""
    if old is None or new is None:
        return new or old
    return Metadata(
        tags={**(old.tags or {}), **(new.tags or {})} or None,
        properties={**(old.properties or {}), **(new.properties or {})} or None,
        sensitive=sorted({*(old.sensitive or []), *(new.sensitive or [])}) or None,
    )


def merge_rule_sets(old: RuleSet | None, new: RuleSet | None) -> RuleSet | None:
    """Confluent's `RuleSet.mergeRuleSets`: old rules named like a new rule are replaced by it."""
    if old is None or new is None:
        return new or old

    def merge(a: list[Rule] | None, b: list[Rule] | None) -> list[Rule] | None:
        if not a or not b:
            return b or a
        names = {rule.name for rule in b}
        return [rule for rule in a if rule.name not in names] + b

    return RuleSet(
        migration_rules=merge(old.migration_rules, new.migration_rules),
        domain_rules=merge(old.domain_rules, new.domain_rules),
        encoding_rules=merge(old.encoding_rules, new.encoding_rules),
    )


def plan_registration(
    state: RegistryState,
    subject: str,
    schema: str,
    schema_type: str | None,
    references: Sequence[SchemaReference],
    metadata: Metadata | None,
    rule_set: RuleSet | None,
    normalize: bool,
    id: int | None,
    version: int | None,
) -> RegistrationPlan:
    """What registering would write, computed from the state without changing it."""
    if id is not None and not 1 <= id <= MAX_SCHEMA_ID:
        raise InvalidSchemaError(f"Invalid schema id {id}: ids are 1 to {MAX_SCHEMA_ID}")
    mode = effective_mode(state, subject)
    check_register_mode(state, subject, mode, explicit=id is not None or bool(version))
    if schema_type not in (None, AVRO):
        raise InvalidSchemaError(f"Invalid schema type {schema_type}")
    config = effective_config(state, subject)
    refs, deps = resolve_references(state, references)
    parsed = parse_schema(schema, deps, new=id is None)
    text = parsed.text(normalize or bool(config.normalize))
    all_entries = state.versions(subject, deleted=True)
    live = [e for e in all_entries if not e.deleted]
    latest = state.schemas[live[-1].schema_id] if live else None
    # Confluent: the request's own metadata and rules, else the latest version's, then
    # the config's defaults under them and its overrides over them.
    merged_metadata = merge_metadata(
        merge_metadata(
            config.default_metadata,
            metadata if metadata is not None else (latest.metadata if latest else None),
        ),
        config.override_metadata,
    )
    merged_rules = merge_rule_sets(
        merge_rule_sets(
            config.default_rule_set,
            rule_set if rule_set is not None else (latest.rule_set if latest else None),
        ),
        config.override_rule_set,
    )
    content = content_key(text, None, refs, merged_metadata, merged_rules)
    existing_id = state.ids_by_content.get(content)
    if existing_id is None:  # content registered before is not judged again
        check_rules(rule_set)
    return RegistrationPlan(
        mode=mode,
        config=config,
        refs=refs,
        parsed=parsed,
        text=text,
        all_entries=all_entries,
        live=live,
        metadata=merged_metadata,
        rule_set=merged_rules,
        content=content,
        existing_id=existing_id,
    )


def check_rules(rule_set: RuleSet | None) -> None:
    """Refuse (42201) a CEL rule that could make one evaluation too expensive for the
    producers, consumers and monitor that run it on every record. A rule that does not parse
    is the clients' to report, as Confluent leaves it."""
    if rule_set is None:
        return
    for rule in (
        *(rule_set.migration_rules or ()),
        *(rule_set.domain_rules or ()),
        *(rule_set.encoding_rules or ()),
    ):
        expr = (rule.model_extra or {}).get("expr")
        if (rule.type or "").upper() not in _CEL_TYPES or not isinstance(expr, str):
            continue
        try:
            check_rule_cost(expr, rule.name)
        except RuleCostError as error:
            raise InvalidSchemaError(f"Invalid rule set: {error}") from error
        except RuleCompileError:
            continue


def check_register_mode(state: RegistryState, subject: str, mode: str, *, explicit: bool) -> None:
    """Confluent's checkRegisterMode: explicit ids and versions only in IMPORT mode."""
    check_writable(state, subject)
    if explicit and mode != IMPORT:
        raise OperationNotPermittedError(f"Subject {subject} is not in import mode")
    if not explicit and mode != READWRITE:
        raise OperationNotPermittedError(f"Subject {subject} is not in read-write mode")


def check_overwrite(
    state: RegistryState,
    subject: str,
    version: int,
    schema_id: int | None,
    content: tuple[str, str, str],
) -> None:
    """IMPORT may reuse ids and versions only for the same schema, also an id whose schema
    was hard-deleted: records written with it may still be read."""
    if schema_id is not None:
        known = state.bound_content(schema_id)
        if known is not None and known != content:
            raise OperationNotPermittedError(
                f"Overwrite new schema with id {schema_id} is not permitted."
            )
    current = state.subjects.get(subject, {}).get(version)
    if current is not None and current.schema_id != schema_id:
        raise OperationNotPermittedError(
            f"Overwrite new schema with version {version} under subject {subject} is not permitted."
        )
