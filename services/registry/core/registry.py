"""The registry façade: reads answer from the state; writes validate, then go through the log.

A mutation builds log records and hands them to a `LogWriter`, which returns once they have been
read back and applied to the state (read-your-writes). Mutations are serialized by one lock, so
each validates against a state that already holds every earlier write.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from services.registry.core.compatibility import (
    CompatibilityLevel,
    PreviousSchema,
    compatibility_messages,
)
from services.registry.core.records import (
    ConfigRecord,
    DeleteSubjectRecord,
    IdWatermarkRecord,
    ModeRecord,
    Record,
    SchemaRecord,
    SchemaValue,
    decode,
    encode,
)
from services.registry.core.schema import AVRO, ParsedSchema, parse_schema
from services.registry.core.state import (
    ContentKey,
    RegistryState,
    StoredSchema,
    VersionEntry,
    content_key,
)
from services.registry.errors import (
    IncompatibleSchemaError,
    InvalidCompatibilityLevelError,
    InvalidModeError,
    InvalidSchemaError,
    InvalidVersionError,
    OperationNotPermittedError,
    ReferenceExistsError,
    RegistryError,
    SchemaNotFoundError,
    StoreError,
    SubjectCompatibilityNotConfiguredError,
    SubjectModeNotConfiguredError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotFoundError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from services.registry.models import (
    CompatibilityCheck,
    Config,
    Metadata,
    Mode,
    Rule,
    RuleSet,
    SchemaId,
    SchemaReference,
    SchemaString,
    SchemaVersion,
    SubjectVersion,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
Version = int | str
"""A version as clients send it: a number, "latest" or -1 (the latest live version)."""

READWRITE, READONLY, READONLY_OVERRIDE, IMPORT = (
    "READWRITE",
    "READONLY",
    "READONLY_OVERRIDE",
    "IMPORT",
)
MODES = frozenset({READWRITE, READONLY, READONLY_OVERRIDE, IMPORT})
DEFAULT_CONFIG = Config(compatibility_level=CompatibilityLevel.BACKWARD, normalize=False)
_MAX_VERSION = 2**31 - 1


@dataclass(frozen=True)
class _RegistrationPlan:
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


class LogWriter(Protocol):
    async def write(self, records: Sequence[Record]) -> None:
        """Append `records` to the log; return once they have been applied to the state."""


class InMemoryLogWriter:
    """A log held in memory that applies each record at once, through the real wire encoding."""

    def __init__(self, state: RegistryState) -> None:
        self.state = state
        self.log: list[tuple[bytes, bytes | None]] = []

    async def write(self, records: Sequence[Record]) -> None:
        for record in records:
            key, value = encode(record)
            self.log.append((key, value))
            decoded = decode(key, value)
            if decoded is not None:
                self.state.apply(decoded)


def page(items: Sequence[T], offset: int = 0, limit: int = -1) -> list[T]:
    """Confluent's paging of a listing: from `offset`, at most `limit` items; a `limit` of
    zero or less means all of them (Confluent caps that at a configured default, we do not)."""
    end = None if limit <= 0 else max(offset + limit, 0)
    return list(items[max(offset, 0) : end])


def parse_version(version: Version) -> int | None:
    """The version number, or None for the latest; Confluent's 42202 for anything else."""
    if version in ("latest", -1, "-1"):
        return None
    text = str(version)
    if text.isdigit() and 1 <= int(text) <= _MAX_VERSION:
        return int(text)
    raise InvalidVersionError(version)


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


def _merge_config(base: Config, override: Config | None) -> Config:
    if override is None:
        return base
    given = {name: getattr(override, name) for name in type(override).model_fields}
    return base.model_copy(update={k: v for k, v in given.items() if v is not None})


class Registry:
    def __init__(
        self,
        state: RegistryState,
        writer: LogWriter,
        *,
        clock: Callable[[], float] = time.time,
        new_guid: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.state = state
        self._writer = writer
        self._clock = clock
        self._new_guid = new_guid
        self._lock = asyncio.Lock()

    # --- schemas

    def get_schema_by_id(
        self, schema_id: int, subject: str | None = None, fetch_max_id: bool = False
    ) -> SchemaString:
        stored = self.state.schemas.get(schema_id)
        if stored is None or (
            subject is not None
            and all(e.schema_id != schema_id for e in self.state.versions(subject, deleted=True))
        ):
            raise SchemaNotFoundError(schema_id)
        return self._schema_string(stored, max_id=self.state.max_id if fetch_max_id else None)

    def get_schema_by_guid(self, guid: str) -> SchemaString:
        schema_id = self.state.ids_by_guid.get(guid)
        if schema_id is None:
            raise SchemaNotFoundError(guid)
        return self._schema_string(self.state.schemas[schema_id], max_id=None)

    def list_schemas(
        self, subject_prefix: str = "", deleted: bool = False, latest_only: bool = False
    ) -> list[SchemaVersion]:
        result: list[SchemaVersion] = []
        for subject in sorted(self.state.subjects):
            if not subject.startswith(subject_prefix):
                continue
            entries = self.state.versions(subject, deleted=deleted)
            for entry in entries[-1:] if latest_only else entries:
                result.append(self._schema_version(subject, entry))
        return result

    def subjects_for_id(
        self, schema_id: int, deleted: bool = False, subject: str | None = None
    ) -> list[str]:
        return sorted({sv.subject for sv in self.versions_for_id(schema_id, deleted, subject)})

    def versions_for_id(
        self, schema_id: int, deleted: bool = False, subject: str | None = None
    ) -> list[SubjectVersion]:
        """The subject-versions holding `schema_id`; only `subject`'s when given, 40403 when
        `subject` never held it (as ``GET /schemas/ids/{id}?subject=``)."""
        if schema_id not in self.state.schemas:
            raise SchemaNotFoundError(schema_id)
        if subject is not None and all(
            e.schema_id != schema_id for e in self.state.versions(subject, deleted=True)
        ):
            raise SchemaNotFoundError(schema_id)
        return [
            SubjectVersion(subject=name, version=e.version)
            for name in ([subject] if subject is not None else sorted(self.state.subjects))
            for e in self.state.versions(name, deleted=deleted)
            if e.schema_id == schema_id
        ]

    def schema_types(self) -> list[str]:
        return [AVRO]

    def contexts(self) -> list[str]:
        return ["."]

    # --- subjects

    def list_subjects(
        self, prefix: str = "", deleted: bool = False, deleted_only: bool = False
    ) -> list[str]:
        return [
            subject
            for subject in sorted(self.state.subjects)
            if subject.startswith(prefix) and self._listed(subject, deleted, deleted_only)
        ]

    def list_versions(
        self, subject: str, deleted: bool = False, deleted_only: bool = False
    ) -> list[int]:
        entries = self._entries(subject, deleted or deleted_only)
        return [e.version for e in entries if e.deleted or not deleted_only]

    def get_version(self, subject: str, version: Version, deleted: bool = False) -> SchemaVersion:
        return self._schema_version(subject, self._entry(subject, version, deleted))

    def referenced_by(self, subject: str, version: Version) -> list[int]:
        entry = self._entry(subject, version, deleted=False)
        return self.state.live_referrers(subject, entry.version)

    def get_latest_with_metadata(
        self, subject: str, metadata: dict[str, str], deleted: bool = False
    ) -> SchemaVersion:
        for entry in reversed(self._entries(subject, deleted)):
            props = self.state.schemas[entry.schema_id].metadata
            have = (props.properties or {}) if props else {}
            if all(have.get(k) == v for k, v in metadata.items()):
                return self._schema_version(subject, entry)
        raise SchemaNotFoundError()

    def lookup(
        self,
        subject: str,
        schema: str,
        references: Sequence[SchemaReference] = (),
        normalize: bool = False,
        deleted: bool = False,
    ) -> SchemaVersion:
        """The version of `subject` holding `schema`: 40401 if no subject, 40403 if not there."""
        entries = self._entries(subject, deleted)
        refs, deps = self._resolve_references(references)
        normalize = normalize or bool(self.effective_config(subject).normalize)
        wanted = parse_schema(schema, deps).text(normalize)
        for entry in reversed(entries):
            stored = self.state.schemas[entry.schema_id]
            if stored.references == refs and self._parsed(stored).text(normalize) == wanted:
                return self._schema_version(subject, entry)
        raise SchemaNotFoundError()

    def registered_id(
        self,
        subject: str,
        schema: str,
        *,
        schema_type: str | None = None,
        references: Sequence[SchemaReference] = (),
        metadata: Metadata | None = None,
        rule_set: RuleSet | None = None,
        normalize: bool = False,
    ) -> int | None:
        """The id `schema` already has as a live version of `subject`, when registering it
        again would write nothing; None when only the primary can answer."""
        try:
            plan = self._plan(
                subject, schema, schema_type, references, metadata, rule_set, normalize, None, None
            )
        except RegistryError:
            return None  # let the primary give the error
        existing = plan.existing_id
        if existing is not None and any(e.schema_id == existing for e in plan.live):
            return existing
        return None

    def _plan(
        self,
        subject: str,
        schema: str,
        schema_type: str | None,
        references: Sequence[SchemaReference],
        metadata: Metadata | None,
        rule_set: RuleSet | None,
        normalize: bool,
        id: int | None,
        version: int | None,
    ) -> _RegistrationPlan:
        """What registering would write, computed from the state without changing it."""
        mode = self.effective_mode(subject)
        self._check_register_mode(subject, mode, explicit=id is not None or bool(version))
        if schema_type not in (None, AVRO):
            raise InvalidSchemaError(f"Invalid schema type {schema_type}")
        config = self.effective_config(subject)
        refs, deps = self._resolve_references(references)
        parsed = parse_schema(schema, deps, new=id is None)
        text = parsed.text(normalize or bool(config.normalize))
        all_entries = self.state.versions(subject, deleted=True)
        live = [e for e in all_entries if not e.deleted]
        latest = self.state.schemas[live[-1].schema_id] if live else None
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
        return _RegistrationPlan(
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
            existing_id=self.state.ids_by_content.get(content),
        )

    async def register(
        self,
        subject: str,
        schema: str,
        *,
        schema_type: str | None = None,
        references: Sequence[SchemaReference] = (),
        metadata: Metadata | None = None,
        rule_set: RuleSet | None = None,
        normalize: bool = False,
        id: int | None = None,
        version: int | None = None,
    ) -> SchemaId:
        """Register `schema` under `subject`, or return the id it already has there."""
        async with self._lock:
            plan = self._plan(
                subject, schema, schema_type, references, metadata, rule_set, normalize, id, version
            )
            mode, config, refs, parsed, text = (
                plan.mode,
                plan.config,
                plan.refs,
                plan.parsed,
                plan.text,
            )
            all_entries, live, content = plan.all_entries, plan.live, plan.content
            merged_metadata, merged_rules = plan.metadata, plan.rule_set
            existing_id = plan.existing_id
            schema_id = id
            if existing_id is not None and id in (None, existing_id):
                if any(e.schema_id == existing_id for e in live):
                    return SchemaId(id=existing_id)
                schema_id = existing_id
            if mode != IMPORT:
                level = CompatibilityLevel(
                    config.compatibility_level or CompatibilityLevel.BACKWARD
                )
                messages = compatibility_messages(
                    level,
                    parsed,
                    self._previous(subject, live),
                    validate_fields=bool(config.validate_fields),
                )
                if messages:
                    raise IncompatibleSchemaError(subject, messages)
            new_version = version or (all_entries[-1].version + 1 if all_entries else 1)
            self._check_overwrite(subject, new_version, schema_id, content)
            if schema_id is None:
                schema_id = self.state.next_id()
            known = self.state.schemas.get(schema_id)
            value = SchemaValue(
                subject=subject,
                version=new_version,
                id=schema_id,
                schema_=text,
                references=refs,
                metadata=merged_metadata,
                rule_set=merged_rules,
                guid=known.guid if known else self._new_guid(),
                ts=known.ts if known else int(self._clock() * 1000),
            )
            # As Confluent: a soft-deleted earlier version of the same schema is superseded.
            stale = [
                SchemaRecord(subject, e.version, None)
                for e in all_entries
                if e.deleted and e.schema_id == schema_id and e.version < new_version
            ]
            await self._write(
                [SchemaRecord(subject, new_version, value), *stale], "registering the schema"
            )
            return SchemaId(id=schema_id)

    async def delete_version(self, subject: str, version: Version, permanent: bool = False) -> int:
        async with self._lock:
            self._check_writable(subject)
            # A numbered version is found even when soft-deleted, to answer 40406 as Confluent.
            numbered = parse_version(version) is not None
            entry = self._entry(subject, version, deleted=permanent or numbered)
            if not permanent and entry.deleted:
                raise VersionSoftDeletedError(subject, entry.version)
            if self.state.live_referrers(subject, entry.version):
                raise ReferenceExistsError(subject, entry.version)
            if permanent and not entry.deleted:
                raise VersionNotSoftDeletedError(subject, entry.version)
            if permanent:
                await self._write(
                    [
                        SchemaRecord(subject, entry.version, None),
                        IdWatermarkRecord(self.state.max_id),
                    ],
                    "deleting the schema version",
                )
                return entry.version
            stored = self.state.schemas[entry.schema_id]
            deleted_value = self._value(subject, entry.version, stored).model_copy(
                update={"deleted": True}
            )
            out: list[Record] = [SchemaRecord(subject, entry.version, deleted_value)]
            if len(self.state.versions(subject)) == 1:
                out += self._subject_settings_tombstones(subject)
            await self._write(out, "deleting the schema version")
            return entry.version

    async def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """Soft-delete every live version, or permanently delete every soft-deleted one."""
        async with self._lock:
            self._check_writable(subject)
            entries = self.state.versions(subject, deleted=True)
            if not entries:
                raise SubjectNotFoundError(subject)
            live = [e for e in entries if not e.deleted]
            if not permanent and not live:
                raise SubjectSoftDeletedError(subject)
            targets = entries if permanent else live
            for entry in targets:
                if self.state.live_referrers(subject, entry.version):
                    raise ReferenceExistsError(subject, entry.version)
            if permanent and live:
                raise SubjectNotSoftDeletedError(subject)
            out: list[Record]
            if permanent:
                out = [SchemaRecord(subject, e.version, None) for e in targets]
                out.append(IdWatermarkRecord(self.state.max_id))
            else:
                out = [DeleteSubjectRecord(subject, live[-1].version)]
                out += self._subject_settings_tombstones(subject)
            await self._write(out, "deleting the subject")
            return [e.version for e in targets]

    def check_compatibility(
        self,
        subject: str,
        version: Version | None,
        schema: str,
        *,
        references: Sequence[SchemaReference] = (),
        normalize: bool = False,
        verbose: bool = False,
    ) -> CompatibilityCheck:
        """Whether `schema` could be registered after `version` (None: the versions the level
        checks); `messages` are Confluent's, and given only when `verbose`."""
        config = self.effective_config(subject)
        if version is None:
            live = self.state.versions(subject)
        else:
            live = [self._entry(subject, version, deleted=False)]
        _, deps = self._resolve_references(references)
        parsed = parse_schema(schema, deps, new=True)
        level = CompatibilityLevel(config.compatibility_level or CompatibilityLevel.BACKWARD)
        messages = compatibility_messages(
            level,
            parsed,
            self._previous(subject, live),
            validate_fields=bool(config.validate_fields),
        )
        return CompatibilityCheck(
            is_compatible=not messages, messages=messages if verbose else None
        )

    # --- config and mode

    def effective_config(self, subject: str | None) -> Config:
        config = _merge_config(DEFAULT_CONFIG, self.state.configs.get(None))
        return config if subject is None else _merge_config(config, self.state.configs.get(subject))

    def get_config(self, subject: str | None = None, default_to_global: bool = False) -> Config:
        if subject is None:
            return self.effective_config(None)
        config = self.state.configs.get(subject)
        if config is not None:
            return config
        if default_to_global:
            return self.effective_config(None)
        raise SubjectCompatibilityNotConfiguredError(subject)

    async def set_config(self, subject: str | None, config: Config) -> Config:
        """Update the given fields of the global or subject config; returns the stored config."""
        level = config.compatibility_level
        if level is not None and level.upper() not in CompatibilityLevel.__members__:
            raise InvalidCompatibilityLevelError()
        if level is not None:
            config = config.model_copy(update={"compatibility_level": level.upper()})
        async with self._lock:
            stored = _merge_config(self.state.configs.get(subject) or Config(), config)
            await self._write([ConfigRecord(subject, stored)], "updating the config")
            return stored

    async def delete_config(self, subject: str | None = None) -> Config:
        """Remove the global or subject config; returns the one in force before."""
        async with self._lock:
            previous = (
                self.get_config(subject) if subject is None else self._subject_config(subject)
            )
            await self._write([ConfigRecord(subject, None)], "deleting the config")
            return previous

    def effective_mode(self, subject: str | None) -> str:
        global_mode = self.state.modes.get(None, READWRITE)
        # READONLY_OVERRIDE on the global mode wins over every subject's own mode.
        if subject is None or global_mode == READONLY_OVERRIDE:
            return global_mode
        return self.state.modes.get(subject, global_mode)

    def get_mode(self, subject: str | None = None, default_to_global: bool = False) -> Mode:
        if subject is None or default_to_global:
            return Mode(mode=self.effective_mode(subject))
        mode = self.state.modes.get(subject)
        if mode is None:
            raise SubjectModeNotConfiguredError(subject)
        return Mode(mode=mode)

    async def set_mode(self, subject: str | None, mode: str, force: bool = False) -> Mode:
        mode = mode.upper()
        if mode not in MODES:
            raise InvalidModeError()
        async with self._lock:
            if mode == IMPORT and self.effective_mode(subject) != IMPORT and not force:
                # Entering IMPORT needs an empty registry (or subject), unless forced.
                occupied = self.list_subjects() if subject is None else self.state.versions(subject)
                if occupied:
                    raise OperationNotPermittedError("Cannot import since found existing subjects")
            await self._write([ModeRecord(subject, mode)], "updating the mode")
            return Mode(mode=mode)

    async def delete_mode(self, subject: str | None = None) -> Mode:
        async with self._lock:
            if subject is not None and subject not in self.state.modes:
                raise SubjectModeNotConfiguredError(subject)
            previous = Mode(mode=self.effective_mode(subject))
            await self._write([ModeRecord(subject, None)], "deleting the mode")
            return previous

    # --- helpers

    async def _write(self, records: Sequence[Record], doing: str) -> None:
        """Write through the log; a failure of the log itself is Confluent's store error."""
        try:
            await self._writer.write(records)
        except RegistryError:
            raise
        except Exception as exc:  # any failure of the backing log is 50001, never a bare 500
            log.exception("the registry log failed while %s", doing)
            raise StoreError(f"Error while {doing} in the backend Kafka store") from exc

    def _listed(self, subject: str, deleted: bool, deleted_only: bool) -> bool:
        entries = self.state.versions(subject, deleted=True)
        if deleted_only:
            return any(e.deleted for e in entries)
        return any(deleted or not e.deleted for e in entries)

    def _entries(self, subject: str, deleted: bool) -> list[VersionEntry]:
        entries = self.state.versions(subject, deleted=deleted)
        if not entries:
            raise SubjectNotFoundError(subject)
        return entries

    def _entry(self, subject: str, version: Version, deleted: bool) -> VersionEntry:
        number = parse_version(version)
        entries = self._entries(subject, deleted)
        if number is None:
            return entries[-1]
        for entry in entries:
            if entry.version == number:
                return entry
        raise VersionNotFoundError(number)

    def _subject_config(self, subject: str) -> Config:
        config = self.state.configs.get(subject)
        if config is not None:
            return config
        if not self.state.versions(subject, deleted=True):
            raise SubjectNotFoundError(subject)
        raise SubjectCompatibilityNotConfiguredError(subject)

    def _subject_settings_tombstones(self, subject: str) -> list[Record]:
        # As Confluent: a subject left without live versions loses its own config and mode.
        out: list[Record] = []
        if subject in self.state.configs:
            out.append(ConfigRecord(subject, None))
        if subject in self.state.modes:
            out.append(ModeRecord(subject, None))
        return out

    def _check_writable(self, subject: str) -> None:
        if self.effective_mode(subject) in (READONLY, READONLY_OVERRIDE):
            raise OperationNotPermittedError(f"Subject {subject} is in read-only mode")

    def _check_register_mode(self, subject: str, mode: str, *, explicit: bool) -> None:
        """Confluent's checkRegisterMode: explicit ids and versions only in IMPORT mode."""
        self._check_writable(subject)
        if explicit and mode != IMPORT:
            raise OperationNotPermittedError(f"Subject {subject} is not in import mode")
        if not explicit and mode != READWRITE:
            raise OperationNotPermittedError(f"Subject {subject} is not in read-write mode")

    def _check_overwrite(
        self, subject: str, version: int, schema_id: int | None, content: tuple[str, str, str]
    ) -> None:
        """IMPORT may reuse ids and versions only for the same schema."""
        if schema_id is not None:
            known = self.state.schemas.get(schema_id)
            if known is not None and known.content != content:
                raise OperationNotPermittedError(
                    f"Overwrite new schema with id {schema_id} is not permitted."
                )
        current = self.state.subjects.get(subject, {}).get(version)
        if current is not None and current.schema_id != schema_id:
            raise OperationNotPermittedError(
                f"Overwrite new schema with version {version} under subject {subject} "
                "is not permitted."
            )

    def _resolve_references(
        self, references: Sequence[SchemaReference]
    ) -> tuple[list[SchemaReference], tuple[str, ...]]:
        """References with "latest" (-1) pinned, and every referenced text, dependencies first."""
        pinned: list[SchemaReference] = []
        texts: list[str] = []
        for ref in references:
            try:
                entry = self._entry(ref.subject, ref.version, deleted=False)
            except (SubjectNotFoundError, VersionNotFoundError, InvalidVersionError) as exc:
                raise InvalidSchemaError(
                    f"Invalid schema reference {ref.name} to subject {ref.subject} "
                    f"version {ref.version}: {exc.message}"
                ) from exc
            pinned.append(ref.model_copy(update={"version": entry.version}))
            stored = self.state.schemas[entry.schema_id]
            _, nested = self._resolve_references(stored.references)
            for text in (*nested, stored.schema):
                if text not in texts:
                    texts.append(text)
        return pinned, tuple(texts)

    def _parsed(self, stored: StoredSchema) -> ParsedSchema:
        return parse_schema(stored.schema, self._resolve_references(stored.references)[1])

    def _previous(self, subject: str, entries: list[VersionEntry]) -> list[PreviousSchema]:
        return [
            PreviousSchema(e.version, self._parsed(self.state.schemas[e.schema_id]))
            for e in entries
        ]

    def _value(self, subject: str, version: int, stored: StoredSchema) -> SchemaValue:
        return SchemaValue(
            subject=subject,
            version=version,
            id=stored.id,
            schema_=stored.schema,
            schema_type=stored.schema_type,
            references=stored.references,
            metadata=stored.metadata,
            rule_set=stored.rule_set,
            guid=stored.guid,
            ts=stored.ts,
        )

    def _schema_version(self, subject: str, entry: VersionEntry) -> SchemaVersion:
        stored = self.state.schemas[entry.schema_id]
        return SchemaVersion(
            subject=subject,
            version=entry.version,
            id=stored.id,
            schema_=stored.schema,
            schema_type=None if stored.schema_type in (None, AVRO) else stored.schema_type,
            references=stored.references or None,
            metadata=stored.metadata,
            rule_set=stored.rule_set,
            guid=stored.guid,
            ts=stored.ts,
            deleted=entry.deleted or None,
        )

    def _schema_string(self, stored: StoredSchema, max_id: int | None) -> SchemaString:
        return SchemaString(
            schema_=stored.schema,
            schema_type=None if stored.schema_type in (None, AVRO) else stored.schema_type,
            references=stored.references or None,
            metadata=stored.metadata,
            rule_set=stored.rule_set,
            max_id=max_id,
            guid=stored.guid,
        )
