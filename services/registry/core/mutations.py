"""The registry's writes: validate against the state, build log records, write them through
the log.

A mutation hands its records to a `LogWriter`, which returns once they have been read back
and applied to the state (read-your-writes). Mutations are serialized by one lock, so each
validates against a state that already holds every earlier write. The lock, the log, the
clock and the guid source are only the writes' concern, so they live here, apart from the
reads, which need nothing but the state.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from services.registry.core.compatibility import CompatibilityLevel, compatibility_messages
from services.registry.core.config import (
    IMPORT,
    MODES,
    check_writable,
    effective_config,
    effective_mode,
    merge_config,
    subject_config,
)
from services.registry.core.queries import (
    Version,
    find_entry,
    is_listed,
    parse_version,
    previous_schemas,
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
from services.registry.core.registration import check_overwrite, plan_registration
from services.registry.core.state import MAX_SCHEMA_ID, RegistryState, StoredSchema
from services.registry.errors import (
    IncompatibleSchemaError,
    InvalidCompatibilityLevelError,
    InvalidModeError,
    OperationNotPermittedError,
    ReferenceExistsError,
    RegistryError,
    StoreError,
    SubjectModeNotConfiguredError,
    SubjectNotFoundError,
    SubjectNotSoftDeletedError,
    SubjectSoftDeletedError,
    VersionNotSoftDeletedError,
    VersionSoftDeletedError,
)
from services.registry.models import (
    Config,
    Metadata,
    Mode,
    RuleSet,
    SchemaId,
    SchemaReference,
)

log = logging.getLogger(__name__)


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


class Mutations:
    """Every write of the registry, serialized by one lock."""

    def __init__(
        self,
        state: RegistryState,
        writer: LogWriter,
        *,
        clock: Callable[[], float],
        new_guid: Callable[[], str],
    ) -> None:
        self.state = state
        self._writer = writer
        self._clock = clock
        self._new_guid = new_guid
        self._lock = asyncio.Lock()

    # --- schemas and subjects

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
            plan = plan_registration(
                self.state,
                subject,
                schema,
                schema_type,
                references,
                metadata,
                rule_set,
                normalize,
                id,
                version,
            )
            existing_id, all_entries = plan.existing_id, plan.all_entries
            schema_id = id
            if existing_id is not None and id in (None, existing_id):
                if plan.live_id is not None:
                    return SchemaId(id=plan.live_id)
                schema_id = existing_id
            if plan.mode != IMPORT:
                level = CompatibilityLevel(
                    plan.config.compatibility_level or CompatibilityLevel.BACKWARD
                )
                messages = compatibility_messages(
                    level,
                    plan.parsed,
                    previous_schemas(self.state, plan.live),
                    validate_fields=bool(plan.config.validate_fields),
                )
                if messages:
                    raise IncompatibleSchemaError(subject, messages)
            new_version = version or (all_entries[-1].version + 1 if all_entries else 1)
            check_overwrite(self.state, subject, new_version, schema_id, plan.content)
            if schema_id is None:
                schema_id = self.state.next_id()
                if schema_id > MAX_SCHEMA_ID:
                    raise OperationNotPermittedError(
                        f"No schema id is left: ids are 1 to {MAX_SCHEMA_ID}"
                    )
            known = self.state.schemas.get(schema_id)
            value = SchemaValue(
                subject=subject,
                version=new_version,
                id=schema_id,
                schema_=plan.text,
                references=plan.refs,
                metadata=plan.metadata,
                rule_set=plan.rule_set,
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
            if self.state.bound_content(schema_id) != plan.content:
                # Another writer bound the id first and applying refused ours: say so rather
                # than hand out an id that names another schema.
                raise StoreError(
                    f"Schema id {schema_id} was bound to another schema by another writer; "
                    "nothing was registered, try again"
                )
            return SchemaId(id=schema_id)

    async def delete_version(self, subject: str, version: Version, permanent: bool = False) -> int:
        async with self._lock:
            check_writable(self.state, subject)
            # A numbered version is found even when soft-deleted, to answer 40406 as Confluent.
            numbered = parse_version(version) is not None
            entry = find_entry(self.state, subject, version, deleted=permanent or numbered)
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
            deleted_value = _schema_value(subject, entry.version, stored).model_copy(
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
            check_writable(self.state, subject)
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

    # --- config and mode

    async def set_config(self, subject: str | None, config: Config) -> Config:
        """Update the given fields of the global or subject config; returns the stored config."""
        level = config.compatibility_level
        if level is not None and level.upper() not in CompatibilityLevel.__members__:
            raise InvalidCompatibilityLevelError()
        if level is not None:
            config = config.model_copy(update={"compatibility_level": level.upper()})
        async with self._lock:
            stored = merge_config(self.state.configs.get(subject) or Config(), config)
            await self._write([ConfigRecord(subject, stored)], "updating the config")
            return stored

    async def delete_config(self, subject: str | None = None) -> Config:
        """Remove the global or subject config; returns the one in force before."""
        async with self._lock:
            previous = (
                effective_config(self.state, None)
                if subject is None
                else subject_config(self.state, subject)
            )
            await self._write([ConfigRecord(subject, None)], "deleting the config")
            return previous

    async def set_mode(self, subject: str | None, mode: str, force: bool = False) -> Mode:
        mode = mode.upper()
        if mode not in MODES:
            raise InvalidModeError()
        async with self._lock:
            if mode == IMPORT and effective_mode(self.state, subject) != IMPORT and not force:
                # Entering IMPORT needs an empty registry (or subject), unless forced.
                occupied = (
                    any(is_listed(self.state, s, False, False) for s in self.state.subjects)
                    if subject is None
                    else self.state.versions(subject)
                )
                if occupied:
                    raise OperationNotPermittedError("Cannot import since found existing subjects")
            await self._write([ModeRecord(subject, mode)], "updating the mode")
            return Mode(mode=mode)

    async def delete_mode(self, subject: str | None = None) -> Mode:
        async with self._lock:
            if subject is not None and subject not in self.state.modes:
                raise SubjectModeNotConfiguredError(subject)
            previous = Mode(mode=effective_mode(self.state, subject))
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

    def _subject_settings_tombstones(self, subject: str) -> list[Record]:
        # As Confluent: a subject left without live versions loses its own config and mode.
        out: list[Record] = []
        if subject in self.state.configs:
            out.append(ConfigRecord(subject, None))
        if subject in self.state.modes:
            out.append(ModeRecord(subject, None))
        return out


def _schema_value(subject: str, version: int, stored: StoredSchema) -> SchemaValue:
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
