"""The registry's writes: validate against the state, build log records, write them through
the log.

A mutation plans its records against the writer's writable state (the log's state plus every
write submitted but not yet read back), submits them, and returns once they have been read back
and applied to the state (read-your-writes). Planning is serialized by one lock; waiting is
not, so concurrent writes share the log's transactions. The lock, the log, the clock and the
guid source are only the writes' concern, so they live here, apart from the reads, which need
nothing but the state.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

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
from services.registry.core.state import MAX_SCHEMA_ID, ContentKey, RegistryState, StoredSchema
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
    async def writable_state(self) -> RegistryState:
        """The state writes validate against: the log's, plus every write submitted."""

    def submit(self, records: Sequence[Record]) -> Awaitable[None]:
        """Append ``records`` after every earlier submission; what is returned settles once
        they are applied to the log's state (read-your-writes)."""


class InMemoryLogWriter:
    """A log held in memory that applies each record at once, through the real wire encoding."""

    def __init__(self, state: RegistryState) -> None:
        self.state = state
        self.log: list[tuple[bytes, bytes | None]] = []

    async def writable_state(self) -> RegistryState:
        return self.state

    def submit(self, records: Sequence[Record]) -> Awaitable[None]:
        for record in records:
            key, value = encode(record)
            self.log.append((key, value))
            decoded = decode(key, value)
            if decoded is not None:
                self.state.apply(decoded)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


T = TypeVar("T")
#: A schema text longer than this is parsed and checked off the event loop: the thread hop
#: costs more than planning a schema of ordinary size.
HEAVY_SCHEMA_CHARS = 64 * 1024
Plan = Callable[[RegistryState], tuple[Sequence[Record], T]]


class Mutations:
    """Every write of the registry: validated one at a time, written together.

    Each write is planned under one lock against the writable state, which already holds every
    earlier write, even those not yet in the log; the lock is released once its records are
    submitted, so writes that arrive together share a transaction and a read-back.
    """

    def __init__(
        self,
        state: RegistryState,
        writer: LogWriter,
        *,
        clock: Callable[[], float],
        new_guid: Callable[[], str],
    ) -> None:
        self.state = state  # the log's state: what the reads serve
        self._writer = writer
        self._clock = clock
        self._new_guid = new_guid
        self._lock = asyncio.Lock()

    async def _commit(self, plan: Plan[T], doing: str, *, heavy: bool = False) -> T:
        """Plan against the writable state under the lock, then wait for the records to be
        applied; a failure of the log itself is Confluent's store error.

        A ``heavy`` plan (a very large schema to parse and check) runs in a thread, so the
        event loop keeps answering reads meanwhile; the lock keeps the writable state still."""
        async with self._lock:
            try:
                state = await self._writer.writable_state()
            except RegistryError:
                raise
            except Exception as exc:  # any failure of the backing log is 50001, never a 500
                log.exception("the registry log failed before %s", doing)
                raise StoreError(f"Error while {doing} in the backend Kafka store") from exc
            records, result = await asyncio.to_thread(plan, state) if heavy else plan(state)
            if not records:
                return result
            try:
                done = self._writer.submit(records)
            except RegistryError:
                raise
            except Exception as exc:  # any failure of the log is 50001, worded there
                raise self._store_error(doing, exc) from exc
        try:
            await done
        except RegistryError:
            raise
        except Exception as exc:  # any failure of the log is 50001, worded there
            raise self._store_error(doing, exc) from exc
        return result

    @staticmethod
    def _store_error(doing: str, exc: Exception) -> StoreError:
        log.error("the registry log failed while %s: %s", doing, exc)
        return StoreError(f"Error while {doing} in the backend Kafka store")

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

        def plan(state: RegistryState) -> tuple[list[Record], tuple[int, ContentKey | None]]:
            plan = plan_registration(
                state,
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
                    return [], (plan.live_id, None)
                schema_id = existing_id
            if plan.mode != IMPORT:
                level = CompatibilityLevel(
                    plan.config.compatibility_level or CompatibilityLevel.BACKWARD
                )
                messages = compatibility_messages(
                    level,
                    plan.parsed,
                    previous_schemas(state, plan.live),
                    validate_fields=bool(plan.config.validate_fields),
                )
                if messages:
                    raise IncompatibleSchemaError(subject, messages)
            new_version = version or (all_entries[-1].version + 1 if all_entries else 1)
            check_overwrite(state, subject, new_version, schema_id, plan.content)
            if schema_id is None:
                schema_id = state.next_id()
                if schema_id > MAX_SCHEMA_ID:
                    raise OperationNotPermittedError(
                        f"No schema id is left: ids are 1 to {MAX_SCHEMA_ID}"
                    )
            known = state.schemas.get(schema_id)
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
            return [SchemaRecord(subject, new_version, value), *stale], (schema_id, plan.content)

        heavy = len(schema) > HEAVY_SCHEMA_CHARS
        schema_id, content = await self._commit(plan, "registering the schema", heavy=heavy)
        if content is not None and self.state.bound_content(schema_id) != content:
            # Another writer bound the id first and applying refused ours: say so rather
            # than hand out an id that names another schema.
            raise StoreError(
                f"Schema id {schema_id} was bound to another schema by another writer; "
                "nothing was registered, try again"
            )
        return SchemaId(id=schema_id)

    async def delete_version(self, subject: str, version: Version, permanent: bool = False) -> int:
        def plan(state: RegistryState) -> tuple[list[Record], int]:
            check_writable(state, subject)
            # A numbered version is found even when soft-deleted, to answer 40406 as Confluent.
            numbered = parse_version(version) is not None
            entry = find_entry(state, subject, version, deleted=permanent or numbered)
            if not permanent and entry.deleted:
                raise VersionSoftDeletedError(subject, entry.version)
            if state.live_referrers(subject, entry.version):
                raise ReferenceExistsError(subject, entry.version)
            if permanent and not entry.deleted:
                raise VersionNotSoftDeletedError(subject, entry.version)
            if permanent:
                removal = SchemaRecord(subject, entry.version, None)
                return [removal, IdWatermarkRecord(state.max_id)], entry.version
            stored = state.schemas[entry.schema_id]
            deleted_value = _schema_value(subject, entry.version, stored).model_copy(
                update={"deleted": True}
            )
            out: list[Record] = [SchemaRecord(subject, entry.version, deleted_value)]
            if len(state.versions(subject)) == 1:
                out += _subject_settings_tombstones(state, subject)
            return out, entry.version

        return await self._commit(plan, "deleting the schema version")

    async def delete_subject(self, subject: str, permanent: bool = False) -> list[int]:
        """Soft-delete every live version, or permanently delete every soft-deleted one."""

        def plan(state: RegistryState) -> tuple[list[Record], list[int]]:
            check_writable(state, subject)
            entries = state.versions(subject, deleted=True)
            if not entries:
                raise SubjectNotFoundError(subject)
            live = [e for e in entries if not e.deleted]
            if not permanent and not live:
                raise SubjectSoftDeletedError(subject)
            targets = entries if permanent else live
            for entry in targets:
                if state.live_referrers(subject, entry.version):
                    raise ReferenceExistsError(subject, entry.version)
            if permanent and live:
                raise SubjectNotSoftDeletedError(subject)
            out: list[Record]
            if permanent:
                out = [SchemaRecord(subject, e.version, None) for e in targets]
                out.append(IdWatermarkRecord(state.max_id))
            else:
                out = [DeleteSubjectRecord(subject, live[-1].version)]
                out += _subject_settings_tombstones(state, subject)
            return out, [e.version for e in targets]

        return await self._commit(plan, "deleting the subject")

    # --- config and mode

    async def set_config(self, subject: str | None, config: Config) -> Config:
        """Update the given fields of the global or subject config; returns the stored config."""
        level = config.compatibility_level
        if level is not None and level.upper() not in CompatibilityLevel.__members__:
            raise InvalidCompatibilityLevelError()
        if level is not None:
            config = config.model_copy(update={"compatibility_level": level.upper()})

        def plan(state: RegistryState) -> tuple[list[Record], Config]:
            stored = merge_config(state.configs.get(subject) or Config(), config)
            return [ConfigRecord(subject, stored)], stored

        return await self._commit(plan, "updating the config")

    async def delete_config(self, subject: str | None = None) -> Config:
        """Remove the global or subject config; returns the one in force before."""

        def plan(state: RegistryState) -> tuple[list[Record], Config]:
            previous = (
                effective_config(state, None) if subject is None else subject_config(state, subject)
            )
            return [ConfigRecord(subject, None)], previous

        return await self._commit(plan, "deleting the config")

    async def set_mode(self, subject: str | None, mode: str, force: bool = False) -> Mode:
        mode = mode.upper()
        if mode not in MODES:
            raise InvalidModeError()

        def plan(state: RegistryState) -> tuple[list[Record], Mode]:
            if mode == IMPORT and effective_mode(state, subject) != IMPORT and not force:
                # Entering IMPORT needs an empty registry (or subject), unless forced.
                occupied = (
                    any(is_listed(state, s, False, False) for s in state.subjects)
                    if subject is None
                    else state.versions(subject)
                )
                if occupied:
                    raise OperationNotPermittedError("Cannot import since found existing subjects")
            return [ModeRecord(subject, mode)], Mode(mode=mode)

        return await self._commit(plan, "updating the mode")

    async def delete_mode(self, subject: str | None = None) -> Mode:
        def plan(state: RegistryState) -> tuple[list[Record], Mode]:
            if subject is not None and subject not in state.modes:
                raise SubjectModeNotConfiguredError(subject)
            previous = Mode(mode=effective_mode(state, subject))
            return [ModeRecord(subject, None)], previous

        return await self._commit(plan, "deleting the mode")


def _subject_settings_tombstones(state: RegistryState, subject: str) -> list[Record]:
    # As Confluent: a subject left without live versions loses its own config and mode.
    out: list[Record] = []
    if subject in state.configs:
        out.append(ConfigRecord(subject, None))
    if subject in state.modes:
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
